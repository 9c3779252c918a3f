/** Logger and Metrics, created once per process and shared (Powertools for AWS Lambda). */
import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Telemetry } from '../core/ingress.js';

import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/observability-names.js';

export { METRICS_NAMESPACE, SERVICE_NAME };

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
  // Its own warnings (an empty flush, a bad dimension) as structured log lines, not bare console text.
  logger,
});

/**
 * Telemetry on Powertools. Counts without a `reason` (Received, Published, Duplicate) go into
 * the invocation's one EMF blob, flushed by the logMetrics middleware, with the dimensions given
 * to `Received` (every delivery that reaches the pipeline counts Received first). Rejections and
 * failures, which carry a reason dimension, are emitted as single metrics.
 */
export function powertoolsTelemetry(log: Logger = logger, m: Metrics = metrics): Telemetry {
  return {
    debug: (message, attributes) => log.debug(message, attributes ?? {}),
    // The relay's loggers buffer nothing (no logBufferOptions): below their level a line is dropped.
    debugEnabled: () => log.level <= LogLevelThreshold.DEBUG,
    info: (message, attributes) => log.info(message, attributes ?? {}),
    warn: (message, attributes) => log.warn(message, attributes ?? {}),
    error: (message, attributes) => log.error(message, attributes ?? {}),
    count(name, dimensions = {}) {
      if (name === 'Parked') {
        m.addMetric(name, MetricUnit.Count, 1);
        return;
      }
      if (dimensions.reason !== undefined) {
        const single = m.singleMetric();
        for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
        single.addMetric(name, MetricUnit.Count, 1);
        return;
      }
      // One invocation handles one delivery: its dimensions are set once, with its first count.
      if (name === 'Received') for (const [k, v] of Object.entries(dimensions)) m.addDimension(k, v);
      // `Parked` carries its reason for the log line only: the metric (and its alarm) is by provider.
      m.addMetric(name, MetricUnit.Count, 1);
    },
  };
}
