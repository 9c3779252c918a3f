/**
 * What the HeyGen registrar's and backfill's Lambda entries share around one run: a run that throws
 * is logged and counted as `<runsMetric>{Outcome=failed}` (what their *Failing alarms watch), then
 * rethrown; the stored metrics are published either way.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export async function countedRun<T>(
  telemetry: { readonly logger: Logger; readonly metrics: Metrics },
  runsMetric: string,
  what: string,
  run: () => Promise<T>,
): Promise<T> {
  const { logger, metrics } = telemetry;
  try {
    return await run();
  } catch (err) {
    logger.error(`${what} failed`, err as Error);
    metrics.addDimension('Outcome', 'failed');
    metrics.addMetric(runsMetric, MetricUnit.Count, 1);
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
