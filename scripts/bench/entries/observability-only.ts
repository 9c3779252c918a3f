/** Init breakdown (informational): Powertools Logger + Metrics (functions/wiring/observability.ts) and middy with the Powertools middlewares, no SDK. */
export { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
export { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
export { default as middy } from '@middy/core';
export { logger, metrics, powertoolsTelemetry } from '../../../functions/wiring/observability';
