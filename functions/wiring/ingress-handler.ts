/**
 * The ingress Lambda handler as a middy pipeline around the pure core. Shared by the Lambda entry
 * (functions/entries/ingress.ts, AWS adapters) and the local relay (scripts/local-relay.ts, local adapters).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { toRelayError } from '../core/errors.js';
import { errorResponse, fromFunctionUrlEvent, toFunctionUrlResult } from '../core/http.js';
import type { IngressPipeline } from '../core/ingress.js';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/**
 * Last line of defence: whatever escapes the core becomes a JSON error. 4xx pass through as they
 * are; anything else is a generic 500 so the provider retries (its message may hold details).
 */
export function jsonErrors(options: { logger: Logger }): MiddlewareObj<Event, Result, Error, Context> {
  return {
    onError: async (request) => {
      const err = toRelayError(request.error);
      if (err.status >= 500) options.logger.error('Unhandled error', { code: err.code, error: request.error?.name });
      request.response = toFunctionUrlResult(errorResponse(err));
    },
  };
}

/** Tags every log line of the request with the Function URL request id. */
export function correlationId(options: { logger: Logger }): MiddlewareObj<Event, Result, Error, Context> {
  return {
    before: async (request) => {
      const id = request.event.requestContext?.requestId ?? request.context.awsRequestId;
      if (id) options.logger.setCorrelationId(id);
    },
  };
}

export interface HandlerOptions {
  readonly pipeline: IngressPipeline;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function createIngressHandler(options: HandlerOptions) {
  const { pipeline, maxBodyBytes, logger, metrics } = options;
  return middy<Event, Result, Error, Context>()
    .use(
      // `logEvent: false` pins event logging off whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event
      // holds the unverified body and the signature header.
      injectLambdaContext(logger, { resetKeys: true, logEvent: false }),
    )
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(correlationId({ logger }))
    .use(jsonErrors({ logger }))
    .handler(async (event) => toFunctionUrlResult(await pipeline(fromFunctionUrlEvent(event, maxBodyBytes))));
}
