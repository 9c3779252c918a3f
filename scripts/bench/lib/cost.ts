/**
 * Cost per million deliveries on AWS (us-east-1), from measured figures plus list prices.
 * The prices are LIST PRICES AS OF PRICES_DATE, typed in by hand (they cannot be fetched here).
 */
export const PRICES_DATE = '2026-11-22';
export const PRICES = {
  lambdaRequestsPerM: 0.2, // arm64, per million requests
  lambdaGbSecond: 0.0000133334, // arm64, per GB-second (first tier)
  functionUrl: 0, // no charge beyond the Lambda invocation
  eventBridgePerM: 1.0, // custom events, per million, each 64 KB chunk counts as one
  dynamoWruPerM: 0.625, // on-demand, per million write request units (1 WRU = 1 KB)
  dynamoRruPerM: 0.125, // on-demand, per million read request units (strongly consistent read of <= 4 KB = 1 RRU)
  sqsPerM: 0.4, // standard, per million requests, each 64 KB chunk counts as one
  logsPerGb: 0.5, // CloudWatch Logs ingestion, per GB
  secretsPer10k: 0.05, // Secrets Manager API calls, per 10,000
} as const;

/** Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB (AWS documentation). */
export const FULL_VCPU_MB = 1769;

/** Dedup off, or one of the modes (functions/core/ports.ts `DedupMode`). */
export type DedupSetting = 'off' | 'record' | 'claim';

/**
 * DynamoDB request units per new delivery (items < 1 KB). `record`: a strongly consistent GetItem,
 * then one PutItem; `claim`: a conditional PutItem, then an UpdateItem. The bench checks these
 * against the calls the SDK variant of the warm benchmark actually made.
 */
export const DEDUP_UNITS: Record<DedupSetting, { reads: number; writes: number; basis: string }> = {
  off: { reads: 0, writes: 0, basis: 'dedup off' },
  record: { reads: 1, writes: 1, basis: "mode 'record': 1 RRU (consistent GetItem) + 1 WRU (conditional PutItem), items < 1 KB" },
  claim: { reads: 0, writes: 2, basis: "mode 'claim': 2 WRU (conditional PutItem + UpdateItem), items < 1 KB" },
};

export interface CostInputs {
  /** Handler CPU time per delivery measured here on one full core (ms). */
  readonly handlerCpuMs: number;
  /** Time spent waiting on DynamoDB/EventBridge per delivery (ms): ASSUMED, not measured here. */
  readonly awsWaitMs: number;
  readonly memoryMb: number;
  readonly dedup: DedupSetting;
  /** PutEvents entry size (bytes), measured. */
  readonly eventBytes: number;
  /** Log bytes per delivery written by the handler (measured) plus the Lambda platform lines (estimated). */
  readonly logBytes: number;
  /** Secrets Manager GetSecretValue calls per delivery (amortized). */
  readonly secretsCallsPerDelivery: number;
  /** SQS consumer: messages per ReceiveMessage / DeleteMessageBatch call (1 = unbatched). */
  readonly consumerBatch: number;
}

export interface CostLine {
  readonly part: string;
  readonly basis: string;
  readonly perMillion: number;
}

export interface CostResult {
  readonly lines: CostLine[];
  readonly total: number;
  readonly billedMs: number;
  readonly latencyMs: number;
}

const chunks64k = (bytes: number) => Math.max(1, Math.ceil(bytes / 65_536));

export function costPerMillion(i: CostInputs): CostResult {
  const cpuScale = Math.max(1, FULL_VCPU_MB / i.memoryMb);
  const latencyMs = i.handlerCpuMs * cpuScale + i.awsWaitMs;
  const billedMs = Math.max(1, Math.ceil(latencyMs));
  const gb = i.memoryMb / 1024;
  const ebChunks = chunks64k(i.eventBytes);
  // The SQS message is the EventBridge event (detail + ~300 bytes of envelope).
  const sqsChunks = chunks64k(i.eventBytes + 300);
  const sqsRequests =
    sqsChunks /* SendMessage by EventBridge */ +
    sqsChunks / i.consumerBatch /* ReceiveMessage */ +
    1 / i.consumerBatch; /* Delete */
  const lines: CostLine[] = [
    { part: 'Lambda requests', basis: '1 invocation', perMillion: PRICES.lambdaRequestsPerM },
    {
      part: 'Lambda duration',
      basis: `${billedMs} ms billed x ${i.memoryMb} MB (cpu ${i.handlerCpuMs.toFixed(3)} ms x ${cpuScale.toFixed(2)} + ${i.awsWaitMs} ms AWS wait)`,
      perMillion: (billedMs / 1000) * gb * PRICES.lambdaGbSecond * 1e6,
    },
    { part: 'Function URL', basis: 'no charge', perMillion: 0 },
    { part: 'EventBridge PutEvents', basis: `${ebChunks} x 64 KB chunk(s)`, perMillion: ebChunks * PRICES.eventBridgePerM },
    {
      part: 'DynamoDB dedup',
      basis: DEDUP_UNITS[i.dedup].basis,
      perMillion: DEDUP_UNITS[i.dedup].reads * PRICES.dynamoRruPerM + DEDUP_UNITS[i.dedup].writes * PRICES.dynamoWruPerM,
    },
    {
      part: 'SQS',
      basis: `${sqsRequests.toFixed(2)} requests (send${i.consumerBatch === 1 ? ' + receive + delete' : ` + receive/delete in batches of ${i.consumerBatch}`})`,
      perMillion: sqsRequests * PRICES.sqsPerM,
    },
    {
      part: 'CloudWatch Logs ingestion',
      basis: `${Math.round(i.logBytes)} B/delivery`,
      perMillion: ((i.logBytes * 1e6) / 1e9) * PRICES.logsPerGb,
    },
    {
      part: 'Secrets Manager',
      basis: `${i.secretsCallsPerDelivery.toPrecision(3)} calls/delivery (amortized)`,
      perMillion: i.secretsCallsPerDelivery * 1e6 * (PRICES.secretsPer10k / 10_000),
    },
  ];
  return { lines, total: lines.reduce((s, l) => s + l.perMillion, 0), billedMs, latencyMs };
}
