/**
 * The ingress Lambda handler around the pure core. Shared by the Lambda entry
 * (functions/entries/ingress.ts, AWS adapters) and the local relay (scripts/local-relay.ts, local adapters).
 *
 * Powertools' Logger and Metrics are used the way their documentation shows for handlers without
 * middleware (`logger.addContext`, `metrics.captureColdStartMetric`, `metrics.publishStoredMetrics`,
 * `logger.resetKeys`), in the order of the middy pipeline this replaces (injectLambdaContext with
 * resetKeys, logMetrics with the cold-start metric, the correlation id, JSON errors) and with
 * middy's early answer before the Lambda timeout. Not middy itself for this one handler: its core
 * loads `node:stream/web` (for streamed responses, which the ingress never makes) at import, about
 * 3 % of the ingress's module init in an interleaved comparison made with this change (BENCHMARKS.md,
 * "Cold start", has the judged figure). The other functions keep middy.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { toRelayError } from '../core/errors.js';
import { errorResponse, fromFunctionUrlEvent, toFunctionUrlResult } from '../core/http.js';
import type { IngressPipeline } from '../core/ingress.js';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/** As middy's `timeoutEarlyInMillis`: answer this long before the Lambda would be stopped. */
export const ANSWER_BEFORE_TIMEOUT_MS = 5;

export interface HandlerOptions {
  readonly pipeline: IngressPipeline;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Last line of defence: whatever escapes the core becomes a JSON error. 4xx pass through as they are; anything else is a generic 500 so the provider retries (its message may hold details). */
export function errorResult(error: unknown, logger: Logger): Result {
  const err = toRelayError(error);
  if (err.status >= 500) logger.error('Unhandled error', { code: err.code, error: (error as Error | undefined)?.name });
  return toFunctionUrlResult(errorResponse(err));
}

/** Rejects with a TimeoutError `ANSWER_BEFORE_TIMEOUT_MS` before the Lambda's deadline (none outside Lambda). */
async function beforeLambdaTimeout<T>(work: Promise<T>, context: Context): Promise<T> {
  if (typeof context.getRemainingTimeInMillis !== 'function') return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error('[AbortError]: The operation was aborted.');
      err.name = 'TimeoutError';
      reject(err);
    }, context.getRemainingTimeInMillis() - ANSWER_BEFORE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createIngressHandler(options: HandlerOptions): (event: Event, context: Context) => Promise<Result> {
  const { pipeline, maxBodyBytes, logger, metrics } = options;
  const answer = async (event: Event) => toFunctionUrlResult(await pipeline(fromFunctionUrlEvent(event, maxBodyBytes)));
  return async (event, context) => {
    let result: Result;
    try {
      // What injectLambdaContext(logger, { resetKeys: true, logEvent: false }) does before the handler:
      // event logging stays off whatever POWERTOOLS_LOGGER_LOG_EVENT says (the event holds the
      // unverified body and the signature header).
      logger.refreshSampleRateCalculation();
      logger.addContext(context);
      metrics.captureColdStartMetric(context.functionName);
      // Tags every log line of the request with the Function URL request id.
      const id = event.requestContext?.requestId ?? context.awsRequestId;
      if (id) logger.setCorrelationId(id);
      result = await beforeLambdaTimeout(answer(event), context);
    } catch (error) {
      result = errorResult(error, logger);
    }
    return flushed(result, logger, metrics);
  };
}

/**
 * Publishes the request's metrics and resets the logger's keys, then gives `result`. A flush that
 * throws (an EMF key collision) answers a JSON 500, as the middy pipeline's onError chain did after
 * logMetrics' `after` threw: never a rejected handler (a Lambda error, which the Function URL
 * answers with a bare 502) and never keys left for the next invocation.
 */
function flushed(result: Result, logger: Logger, metrics: Metrics): Result {
  try {
    metrics.publishStoredMetrics();
    return result;
  } catch (error) {
    return errorResult(error, logger);
  } finally {
    logger.resetKeys();
  }
}
