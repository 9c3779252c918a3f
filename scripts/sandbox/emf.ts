/**
 * What CloudWatch Logs does with a Lambda's output in AWS, for the sandbox's functions: each line goes
 * to the function's log (.relay/sandbox/<name>.log), and each Embedded Metric Format line (Powertools
 * Metrics' `{"_aws": {"CloudWatchMetrics": [...]}, ...}`) becomes metric data in the emulator's
 * CloudWatch, so `heygen-relay status` shows the sandbox's deliveries and registrar runs.
 */
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

/** The metric data an EMF line stands for, by namespace; `undefined` for any other line. */
export function emfToMetricData(line: string): Map<string, MetricDatum[]> | undefined {
  if (!line.startsWith('{"_aws"')) return undefined;
  let doc: Record<string, unknown> & { _aws?: { Timestamp?: number; CloudWatchMetrics?: EmfDirective[] } };
  try {
    doc = JSON.parse(line) as typeof doc;
  } catch {
    return undefined;
  }
  const out = new Map<string, MetricDatum[]>();
  const at = new Date(doc._aws?.Timestamp ?? Date.now());
  for (const d of doc._aws?.CloudWatchMetrics ?? []) {
    const data = out.get(d.Namespace) ?? [];
    for (const set of d.Dimensions)
      for (const m of d.Metrics) {
        const raw = doc[m.Name];
        for (const value of (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number'))
          data.push({
            MetricName: m.Name,
            Dimensions: set.map((name) => ({ Name: name, Value: String(doc[name]) })),
            Value: value,
            Unit: (m.Unit ?? 'None') as StandardUnit,
            Timestamp: at,
          });
      }
    out.set(d.Namespace, data);
  }
  return out;
}

/**
 * Copies `output` to `logFile` and its EMF lines to CloudWatch through `cloudWatch`. Resolves once
 * `output` has ended and every metric it held is in CloudWatch (or its failure logged), so a caller
 * can wait for a finished function's metrics before it says the sandbox is ready.
 */
export function shipLogs(output: Readable, logFile: string, cloudWatch: CloudWatchClient): Promise<void> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const sends: Promise<unknown>[] = [];
  const lines = createInterface({ input: output });
  lines.on('line', (line) => {
    log.write(`${line}\n`);
    for (const [Namespace, data] of emfToMetricData(line) ?? [])
      for (let i = 0; i < data.length; i += 1000)
        sends.push(
          cloudWatch
            .send(new PutMetricDataCommand({ Namespace, MetricData: data.slice(i, i + 1000) }))
            .catch((err: Error) => log.write(`[sandbox] could not put these metrics into CloudWatch: ${err.message}\n`)),
        );
  });
  return new Promise<void>((done) => lines.once('close', done)).then(() => Promise.all(sends)).then(() => void log.end());
}
