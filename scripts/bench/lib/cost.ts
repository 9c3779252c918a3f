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
export type DedupSetting = 'off' | 'record' | 'claim' | 'record-legacy';

/**
 * DynamoDB request units per new delivery (items < 1 KB). `record`: a strongly consistent GetItem,
 * then one PutItem; `claim`: a conditional PutItem, then an UpdateItem. The bench checks these
 * against the calls the SDK variant of the warm benchmark actually made.
 */
export const DEDUP_UNITS: Record<DedupSetting, { reads: number; writes: number; basis: string }> = {
  off: { reads: 0, writes: 0, basis: 'dedup off' },
  record: { reads: 1, writes: 1, basis: "mode 'record': 1 RRU (consistent GetItem) + 1 WRU (conditional PutItem), items < 1 KB" },
  claim: { reads: 0, writes: 2, basis: "mode 'claim': 2 WRU (conditional PutItem + UpdateItem), items < 1 KB" },
  // The first dedup window after an upgrade (DEDUP_LEGACY_BODY_KEYS): also a consistent GetItem of
  // the earlier body key, read in the same round trip as the content key's.
  'record-legacy': {
    reads: 2,
    writes: 1,
    basis: "mode 'record' + the earlier body-key check: 2 RRU (two consistent GetItems, in parallel) + 1 WRU, items < 1 KB",
  },
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

/**
 * The scheduled HeyGen backfill (functions/backfill.ts, heygen-backfill-plan.ts) at its defaults:
 * hourly, the dedup window 48 h, history pages of 100, a routine run looking up 1 entry in 10 of
 * those since its checkpoint less an hour of overlap (so each delivery falls into two runs). Priced
 * from the plan's constants, not measured: no AWS account here.
 */
export const BACKFILL_DEFAULTS_FOR_COST = {
  runsPerHour: 1,
  windowHours: 48,
  /** Hours of history a routine run covers: the hour since the last run, plus an hour of overlap. */
  routineHours: 2,
  sampleEvery: 10,
  pageSize: 100,
  /** State table per run: checkpoint + evidence GetItem (RRU); lease acquire, release, checkpoint write (WRU). */
  stateReads: 2,
  stateWrites: 3,
  /** The API key, read once per run. */
  secretsCalls: 1,
  /** Assumed run time (ms) at 256 MB: a few history pages and lookups. */
  assumedRunMs: 2_000,
} as const;

export interface BackfillRunCost {
  readonly deliveriesPerHour: number;
  readonly routine: { heygenCalls: number; dedupReads: number; stateReads: number; stateWrites: number; dollars: number };
  readonly afterTrouble: { heygenCalls: number; dedupReads: number; dollars: number };
  /** What the routine lookups add per million deliveries (the per-run fixed part is per month below). */
  readonly perMillionDeliveries: number;
  readonly fixedPerMonth: number;
}

export function backfillRunCost(deliveriesPerHour: number): BackfillRunCost {
  const b = BACKFILL_DEFAULTS_FOR_COST;
  const routineEntries = deliveriesPerHour * b.routineHours;
  const routineReads = Math.ceil(routineEntries / b.sampleEvery) + (routineEntries > 0 ? 1 : 0);
  const routineCalls = Math.max(1, Math.ceil(routineEntries / b.pageSize));
  const lambda = PRICES.lambdaRequestsPerM / 1e6 + (b.assumedRunMs / 1000) * (256 / 1024) * PRICES.lambdaGbSecond;
  const fixed =
    (b.stateReads * PRICES.dynamoRruPerM + b.stateWrites * PRICES.dynamoWruPerM) / 1e6 +
    b.secretsCalls * (PRICES.secretsPer10k / 10_000) +
    lambda;
  const routineDollars = fixed + (routineReads * PRICES.dynamoRruPerM) / 1e6;
  const troubleEntries = deliveriesPerHour * b.windowHours;
  return {
    deliveriesPerHour,
    routine: {
      heygenCalls: routineCalls,
      dedupReads: routineReads,
      stateReads: b.stateReads,
      stateWrites: b.stateWrites,
      dollars: routineDollars,
    },
    afterTrouble: {
      heygenCalls: Math.max(1, Math.ceil(troubleEntries / b.pageSize)),
      dedupReads: troubleEntries,
      dollars: fixed + (troubleEntries * PRICES.dynamoRruPerM) / 1e6,
    },
    perMillionDeliveries: (b.routineHours / b.sampleEvery) * PRICES.dynamoRruPerM,
    fixedPerMonth: fixed * b.runsPerHour * 24 * 30,
  };
}

/** The BENCHMARKS.md section on the backfill's cost (also written by `npx tsx scripts/bench/backfill-cost.ts`). */
export function renderBackfillCost(deliveryTotalPerMillion: number): string {
  const rows = [10, 100, 1_000, 10_000].map(backfillRunCost);
  const perM = rows[0]?.perMillionDeliveries ?? 0;
  const b = BACKFILL_DEFAULTS_FOR_COST;
  return [
    '<!-- backfill-cost:start -->',
    "### Scheduled backfill from HeyGen's event history (issue 11)",
    '',
    `Defaults: a run every hour; a routine run looks up 1 history entry in ${b.sampleEvery} of the last ${b.routineHours} h (the hour since its checkpoint plus an hour of overlap) with a consistent GetItem (1 RRU), and all of them only when a sample is missing; after trouble (a refused signature or a 5xx recorded by the ingress within 24 h of the checkpoint) or on its first run it looks up every entry of the ${b.windowHours} h dedup window. Fixed per run: ${b.stateReads} RRU + ${b.stateWrites} WRU on the state table (checkpoint, evidence, lease), ${b.secretsCalls} Secrets Manager call (the API key), one Lambda invocation (assumed ${b.assumedRunMs} ms at 256 MB). HeyGen's API calls (one per page of ${b.pageSize}) cost nothing on AWS. Priced from the plan's constants (scripts/bench/lib/cost.ts \`backfillRunCost\`), not measured.`,
    '',
    '| deliveries per hour | routine run: HeyGen calls / dedup reads / $ | after trouble: HeyGen calls / dedup reads / $ |',
    '| --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.deliveriesPerHour.toLocaleString('en-US')} | ${r.routine.heygenCalls} / ${r.routine.dedupReads} / $${r.routine.dollars.toFixed(6)} | ${r.afterTrouble.heygenCalls} / ${r.afterTrouble.dedupReads.toLocaleString('en-US')} / $${r.afterTrouble.dollars.toFixed(4)} |`,
    ),
    '',
    `A run stops at 20 pages / 2,000 entries or 10 s before its 5-minute deadline (outcome \`partial\`, checkpoint kept, alarm-free): the after-trouble figures above 20 pages are what \`heygen-relay backfill --since 48h\` (no page bound) does; the scheduled run covers the newest 2,000 entries.`,
    '',
    `Per delivery, the routine lookups add ${b.routineHours}/${b.sampleEvery} RRU = **$${perM.toFixed(3)} per million deliveries**: the default total becomes $${(deliveryTotalPerMillion + perM).toFixed(3)}/M (budget $2.75). The fixed part is about $${(rows[0]?.fixedPerMonth ?? 0).toFixed(3)} a month. Looking up every entry in every run instead would add ${b.windowHours} RRU per delivery ($${(b.windowHours * PRICES.dynamoRruPerM).toFixed(2)}/M); every entry once, $${PRICES.dynamoRruPerM.toFixed(3)}/M (over the budget): hence sampling, with the evidence deciding when to look at everything.`,
    '<!-- backfill-cost:end -->',
  ].join('\n');
}
