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

/** S3 list prices (us-east-1, S3 Standard), typed by hand as of PRICES_DATE: per 1,000 PUT-class and GET-class requests, per GB-month. */
export const S3_PRICES = { putPer1k: 0.005, getPer1k: 0.0004, storageGbMonth: 0.023 } as const;

/** The archiver's memory at the construct's default (lib/archive.ts `memorySize`), and its multipart part size. */
export const ARCHIVER_MB = 1024;
export const ARCHIVE_PART_MIB = 16;

export interface ArchiveGibCost {
  /** Seconds of Lambda per GiB at the rate. */
  readonly seconds: number;
  readonly parts: number;
  /** PUT-class requests: create, the parts, complete, tagging, the list of uploads. */
  readonly putRequests: number;
  readonly lambda: number;
  readonly puts: number;
  /** The HeadObject before the copy. */
  readonly gets: number;
  readonly total: number;
}

/** What archiving one GiB costs when the archiver copies at `mbPerS` (scripts/bench/archive.ts measures it; docs/archive.md quotes it). */
export function archiveCostPerGiB(mbPerS: number): ArchiveGibCost {
  const parts = Math.ceil(1024 / ARCHIVE_PART_MIB);
  const seconds = 1024 / mbPerS;
  const lambda = seconds * (ARCHIVER_MB / 1024) * PRICES.lambdaGbSecond;
  const putRequests = parts + 4;
  const puts = (putRequests / 1000) * S3_PRICES.putPer1k;
  const gets = (1 / 1000) * S3_PRICES.getPer1k;
  return { seconds, parts, putRequests, lambda, puts, gets, total: lambda + puts + gets };
}

/** The figures' text, as scripts/bench/archive.ts prints it and docs/archive.md has it. */
export function renderArchiveCost(mbPerS: number, sizeMiB: number): string[] {
  const c = archiveCostPerGiB(mbPerS);
  return [
    `Cost per GiB archived (list prices ${PRICES_DATE}, us-east-1, arm64 Lambda at ${ARCHIVER_MB} MB, ${mbPerS.toFixed(0)} MB/s as measured for ${sizeMiB} MiB here):`,
    `- Lambda: ${c.seconds.toFixed(1)} s x 1 GB x $${PRICES.lambdaGbSecond} = $${c.lambda.toFixed(6)}`,
    `- S3 requests: ${c.putRequests} PUT-class (${ARCHIVE_PART_MIB} MiB parts) $${c.puts.toFixed(6)} + 1 HEAD $${c.gets.toFixed(7)}`,
    '- SQS, EventBridge: 1 message (~3 requests) and 1 event per result: < $0.00001',
    `- total per GiB copied: $${c.total.toFixed(5)}; storage then $${S3_PRICES.storageGbMonth} per GB-month (S3 Standard); transfer in: free`,
  ];
}

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
 * The scheduled HeyGen backfill (providers/heygen/runtime/entries/backfill.ts, providers/heygen/runtime/backfill-plan.ts) at its defaults
 * (issue 19): hourly runs. Once a day (and after a 5xx, a sampled miss or an entry left in flight; a
 * refused signature is NOT a reason) a **sweep**: it reads the listing from the top down past the last
 * sweep's first entry and `lateHours` further, and looks up the entries created since the checkpoint
 * with BatchGetItem (100 keys a call, 0.5 RRU a key, eventually consistent): what it reads grows with
 * the entries listed since, never with the dedup table. Once every `fullWalkEveryHours` a sweep walks
 * the whole listing to check its order (the spec promises none). The other runs are freshness runs:
 * the first 2 pages, 1 entry in 10 of those created since the last run (BatchGetItem). Every run lists
 * the endpoints once (our subscription). Priced from the plan's constants and the stated assumptions,
 * not measured: no AWS account here.
 */
export const BACKFILL_DEFAULTS_FOR_COST = {
  runsPerHour: 1,
  windowHours: 48,
  sweepEveryHours: 24,
  sampleEvery: 10,
  pageSize: 100,
  freshPages: 2,
  /** How far past the checkpoint an early-stopping sweep reads (BACKFILL_DEFAULTS.lateMs), plus one page. */
  lateHours: 6,
  /** A walk to the end of the listing checks its order this often (FULL_WALK_EVERY_MS). */
  fullWalkEveryHours: 168,
  /** Pages a sweep run walks before it hands over to the next run (BACKFILL_DEFAULTS.maxPages). */
  maxPagesPerRun: 1_000,
  /**
   * A dedup item (functions/adapters/aws/dynamodb-dedup.ts: pk `heygen:evt:<64 hex>`, status, owner,
   * expiresAt) by DynamoDB's item-size rules (`dedupItemSize`: 148 bytes with a UUID owner), rounded
   * up for longer owners. dfd2de7's sweep read it by Scan (0.5 RRU per 4 KB); a BatchGetItem key costs
   * 0.5 RRU whatever the item's size up to 4 KB.
   */
  dedupItemBytes: 160,
  /** ASSUMED: how long an expired dedup item stays until TTL deletes it (a Scan read it meanwhile). */
  ttlLagHours: 24,
  /** ASSUMED: how long HeyGen's listing keeps an entry (not documented); the order check pages all of it. */
  historyRetentionHours: 48,
  /** ASSUMED: HeyGen's answer time per page of 100 (billed as Lambda time while the run waits). */
  pageMs: 200,
  memoryMb: 256,
  /** State table per run: checkpoint + evidence GetItem (RRU); lease acquire, release, checkpoint write (WRU). */
  stateReads: 2,
  stateWrites: 3,
  /** The API key, read once per run. */
  secretsCalls: 1,
  /** Assumed fixed run time (ms): start, API key, state, the endpoint list, the freshness pages. */
  assumedRunMs: 1_000,
} as const;

/**
 * DynamoDB's item size: each attribute's name (UTF-8 bytes) plus its value: a string's UTF-8 bytes, a
 * number's significant digits / 2 + 1 bytes (AWS "Item sizes and formats").
 */
export function dedupItemSize(item: Readonly<Record<string, { S: string } | { N: string }>>): number {
  let bytes = 0;
  for (const [name, v] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if ('S' in v) bytes += Buffer.byteLength(v.S, 'utf8');
    else bytes += Math.ceil(v.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  }
  return bytes;
}

/** A COMPLETED dedup item as the ingress writes it (owner: the request's UUID). */
export const TYPICAL_DEDUP_ITEM = {
  pk: { S: `heygen:evt:${'0'.repeat(64)}` },
  status: { S: 'COMPLETED' },
  owner: { S: '00000000-0000-4000-8000-000000000000' },
  expiresAt: { N: '1796000000' },
} as const;

export interface BackfillRunCost {
  readonly deliveriesPerHour: number;
  readonly fresh: { heygenCalls: number; dedupReads: number; dollars: number };
  /** The daily sweep (early stop): HeyGen calls, BatchGetItem keys, dollars. */
  readonly sweep: { heygenCalls: number; batchKeys: number; dollars: number };
  /** The weekly walk to the end of the listing (order check), beyond the daily sweep's pages. */
  readonly orderCheck: { heygenCalls: number; dollars: number };
  /** What the backfill adds per million deliveries; the per-run fixed part is per month below. */
  readonly perMillionDeliveries: number;
  readonly fixedPerMonth: number;
}

const lambdaDollars = (ms: number) => (ms / 1000) * (BACKFILL_DEFAULTS_FOR_COST.memoryMb / 1024) * PRICES.lambdaGbSecond;

/** One run's fixed cost: the invocation, its assumed time, the state table, the API key. */
function backfillFixedPerRun(): number {
  const b = BACKFILL_DEFAULTS_FOR_COST;
  return (
    PRICES.lambdaRequestsPerM / 1e6 +
    lambdaDollars(b.assumedRunMs) +
    (b.stateReads * PRICES.dynamoRruPerM + b.stateWrites * PRICES.dynamoWruPerM) / 1e6 +
    b.secretsCalls * (PRICES.secretsPer10k / 10_000)
  );
}

export function backfillRunCost(
  deliveriesPerHour: number,
  historyRetentionHours: number = BACKFILL_DEFAULTS_FOR_COST.historyRetentionHours,
): BackfillRunCost {
  const b = { ...BACKFILL_DEFAULTS_FOR_COST, historyRetentionHours };
  const fixed = backfillFixedPerRun();
  const rru = (units: number) => (units * PRICES.dynamoRruPerM) / 1e6;
  // Freshness run: the entries of the last hour, 1 in sampleEvery (+ the oldest), 0.5 RRU each.
  const freshNew = deliveriesPerHour / b.runsPerHour;
  const freshReads = freshNew > 0 ? Math.ceil(freshNew / b.sampleEvery) + 1 : 0;
  const freshCalls = 1 + Math.min(b.freshPages, Math.max(1, Math.ceil(freshNew / b.pageSize)));
  const freshDollars = fixed + lambdaDollars(freshCalls * b.pageMs) + rru(freshReads * 0.5);
  // Daily sweep: the entries listed since the last one, lateHours more, one page past; each new entry one key.
  const newEntries = deliveriesPerHour * b.sweepEveryHours;
  const sweepPages = Math.ceil((newEntries + deliveriesPerHour * b.lateHours) / b.pageSize) + 1;
  // Keys: the new entries and those created lateHours before the checkpoint (a listing sorted by created_at
  // puts an entry listed late there, below the last walk's first entry).
  const sweepKeys = newEntries + deliveriesPerHour * b.lateHours;
  const sweepDollars = fixed + lambdaDollars((sweepPages + 1) * b.pageMs) + rru(sweepKeys * 0.5);
  // Weekly order check: the rest of the listing, read (not looked up).
  const listed = deliveriesPerHour * b.historyRetentionHours;
  const checkPages = Math.max(0, Math.ceil(listed / b.pageSize) - sweepPages);
  const checkDollars = lambdaDollars(checkPages * b.pageMs);
  const perDelivery =
    ((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours) * 0.5 * PRICES.dynamoRruPerM + // the sweep's keys: each entry, and the lateHours band again
    (0.5 / b.sampleEvery) * PRICES.dynamoRruPerM + // the freshness sample
    ((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours) * lambdaDollars(b.pageMs / b.pageSize) * 1e6 +
    (b.historyRetentionHours / b.fullWalkEveryHours) * lambdaDollars(b.pageMs / b.pageSize) * 1e6;
  return {
    deliveriesPerHour,
    fresh: { heygenCalls: freshCalls, dedupReads: freshReads, dollars: freshDollars },
    sweep: { heygenCalls: sweepPages + 1, batchKeys: sweepKeys, dollars: sweepDollars },
    orderCheck: { heygenCalls: checkPages, dollars: checkDollars },
    perMillionDeliveries: perDelivery,
    fixedPerMonth: fixed * 24 * b.runsPerHour * 30,
  };
}

export interface BackfillDayReads {
  /** HeyGen listing pages read in a day. */
  readonly pages: number;
  /** DynamoDB read units spent on the dedup table in a day. */
  readonly rru: number;
  readonly scans: number;
  readonly dollars: number;
}

/**
 * The backfill's reads per day at `deliveriesPerHour`, with or without a stranger sending refused
 * requests (any rate above one an hour: the ingress's evidence then has a refusal after every
 * checkpoint). `design`: this one, or dfd2de7's, where a refusal made every run a sweep that walked the
 * whole listing and scanned the whole dedup table.
 */
export function backfillDayReads(
  deliveriesPerHour: number,
  stranger: boolean,
  design: 'now' | 'dfd2de7',
  historyRetentionHours: number = BACKFILL_DEFAULTS_FOR_COST.historyRetentionHours,
): BackfillDayReads {
  const b = { ...BACKFILL_DEFAULTS_FOR_COST, historyRetentionHours };
  const runs = 24 * b.runsPerHour;
  const d = deliveriesPerHour;
  const rruCost = (units: number) => (units * PRICES.dynamoRruPerM) / 1e6;
  const listedPages = Math.max(1, Math.ceil((d * b.historyRetentionHours) / b.pageSize));
  if (design === 'dfd2de7') {
    const sweeps = stranger ? runs : 1;
    const freshRuns = runs - sweeps;
    const tableItems = d * (b.windowHours + b.ttlLagHours);
    const scanRru = Math.max(0.5, Math.ceil((tableItems * b.dedupItemBytes) / 4096) * 0.5);
    const freshPages = freshRuns * Math.min(b.freshPages, Math.max(1, Math.ceil(d / b.pageSize)));
    const rru = sweeps * scanRru + freshRuns * (Math.ceil(d / b.sampleEvery) + 1) * 0.5;
    const pages = sweeps * listedPages + freshPages;
    return { pages, rru, scans: sweeps, dollars: runs * backfillFixedPerRun() + lambdaDollars(pages * b.pageMs) + rruCost(rru) };
  }
  // Refusals are no reason to sweep: the stranger changes nothing.
  const r = backfillRunCost(d, historyRetentionHours);
  const pages = (runs - 1) * r.fresh.heygenCalls + r.sweep.heygenCalls + (r.orderCheck.heygenCalls * 24) / b.fullWalkEveryHours;
  const rru = (runs - 1) * r.fresh.dedupReads * 0.5 + r.sweep.batchKeys * 0.5;
  return {
    pages,
    rru,
    scans: 0,
    dollars: (runs - 1) * r.fresh.dollars + r.sweep.dollars + (r.orderCheck.dollars * 24) / b.fullWalkEveryHours,
  };
}

/** The BENCHMARKS.md section on the backfill's cost (also written by `npx tsx scripts/bench/backfill-cost.ts`). */
export function renderBackfillCost(deliveryTotalPerMillion: number): string {
  const rows = [10, 100, 1_000, 10_000].map(backfillRunCost);
  const base = rows[0] as BackfillRunCost;
  const perM = base.perMillionDeliveries;
  const b = BACKFILL_DEFAULTS_FOR_COST;
  const money = (x: number) => `$${x < 0.01 ? x.toFixed(6) : x.toFixed(4)}`;
  const keyPart = ((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours) * 0.5 * PRICES.dynamoRruPerM;
  const freshPart = (0.5 / b.sampleEvery) * PRICES.dynamoRruPerM;
  const pagePart =
    ((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours + b.historyRetentionHours / b.fullWalkEveryHours) *
    lambdaDollars(b.pageMs / b.pageSize) *
    1e6;
  const day = (d: number, stranger: boolean, design: 'now' | 'dfd2de7', retention: number) => {
    const r = backfillDayReads(d, stranger, design, retention);
    return `${Math.round(r.pages).toLocaleString('en-US')} / ${Math.round(r.rru).toLocaleString('en-US')} / ${r.scans} / ${money(r.dollars)}`;
  };
  return [
    '<!-- backfill-cost:start -->',
    "### Scheduled backfill from HeyGen's event history (issues 11 and 19)",
    '',
    `Defaults: a run every hour; each lists the endpoints once (our subscription: only entries of the types our endpoint subscribes to are ours). Once every ${b.sweepEveryHours} h, after a 5xx of the ingress, a sampled miss or an entry left in flight, the run is a **sweep**: it reads the listing from the top down past the last sweep's first entry and ${b.lateHours} h further (one page past), and looks up every entry of ours created since its checkpoint with BatchGetItem (100 keys a call, 0.5 RRU a key, eventually consistent; only a key not listed as published gets a consistent read and, if missing, the claim and publish). A refused signature is **not** a reason to sweep: anyone can send one. Once every ${b.fullWalkEveryHours} h (and whenever it saw the listing out of order) a sweep walks HeyGen's whole listing to check its order, since the spec promises none. The other runs are **freshness** runs: the first ${b.freshPages} pages, 1 entry in ${b.sampleEvery} of those created since the last run (BatchGetItem). Fixed per run: ${b.stateReads} RRU + ${b.stateWrites} WRU on the state table, ${b.secretsCalls} Secrets Manager call (the API key), one Lambda invocation (assumed ${b.assumedRunMs} ms at ${b.memoryMb} MB). HeyGen's API calls cost nothing on AWS, but the run waits for them: ASSUMED ${b.pageMs} ms a page, and HeyGen keeping ${b.historyRetentionHours} h of history (not documented; only the weekly order check scales with it). Priced from the plan's constants (scripts/bench/lib/cost.ts \`backfillRunCost\`, \`backfillDayReads\`), not measured.`,
    '',
    '| deliveries per hour | freshness run: HeyGen calls / reads / $ | daily sweep: HeyGen calls / keys / $ | weekly order check: extra HeyGen calls / $ | added per million deliveries |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.deliveriesPerHour.toLocaleString('en-US')} | ${r.fresh.heygenCalls} / ${r.fresh.dedupReads} / ${money(r.fresh.dollars)} | ${r.sweep.heygenCalls.toLocaleString('en-US')} / ${r.sweep.batchKeys.toLocaleString('en-US')} / ${money(r.sweep.dollars)} | ${r.orderCheck.heygenCalls.toLocaleString('en-US')} / ${money(r.orderCheck.dollars)} | $${r.perMillionDeliveries.toFixed(4)} |`,
    ),
    '',
    `Per delivery: the sweep's keys (${((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours).toFixed(2)} x 0.5 RRU: each entry, and the ${b.lateHours} h before the checkpoint again) = $${keyPart.toFixed(4)}/M, the freshness sample 1/${b.sampleEvery} x 0.5 RRU = $${freshPart.toFixed(4)}/M, paging (${((b.sweepEveryHours + b.lateHours) / b.sweepEveryHours).toFixed(2)} reads by the sweeps + ${(b.historyRetentionHours / b.fullWalkEveryHours).toFixed(2)} by the order check, ${(b.pageMs / b.pageSize).toFixed(0)} ms of Lambda each) = $${pagePart.toFixed(4)}/M: **$${perM.toFixed(3)} per million deliveries**; the default total becomes $${(deliveryTotalPerMillion + perM).toFixed(3)}/M (base $${deliveryTotalPerMillion.toFixed(3)} from the last bench run; $${(deliveryTotalPerMillion + perM - 2.75).toFixed(3)}/M over the $2.75 budget the Scan design kept: a key lookup cannot cost less than 0.5 RRU, so this is the floor of a design whose reads follow the entries). The fixed part is about $${base.fixedPerMonth.toFixed(3)} a month.`,
    '',
    '**Reads per day, and a stranger** (HeyGen pages / dedup RRU / Scans / $ per day; a stranger sending one refused request a second, any rate above one an hour gives the same figures):',
    '',
    '| deliveries per hour, HeyGen keeps | quiet | a stranger, 1 bad request/s | dfd2de7 quiet | dfd2de7 with the stranger |',
    '| --- | --- | --- | --- | --- |',
    ...(
      [
        [100, 48],
        [1_000, 48],
        [21, 720], // ~15,000 entries listed: issue 19's quiet account
      ] as const
    ).map(
      ([d, h]) =>
        `| ${d.toLocaleString('en-US')}, ${h} h | ${day(d, false, 'now', h)} | ${day(d, true, 'now', h)} | ${day(d, false, 'dfd2de7', h)} | ${day(d, true, 'dfd2de7', h)} |`,
    ),
    '',
    `Why BatchGetItem and not the Scan of dfd2de7: the Scan was cheaper per item (~${Math.floor(4096 / b.dedupItemBytes)} items per half unit) when one sweep a day ran, but it read the whole table: every item of every source sharing it, expired items TTL had not deleted yet, once per sweep; and a stranger's refused request an hour made every run a sweep (24 Scans and 24 walks of the whole listing a day). Now a run reads what it examines, so its cost follows the entries listed since the last sweep and no stranger can raise it. The price: $${keyPart.toFixed(4)}/M of keys instead of the Scan's ~$0.007/M at one sweep a day.`,
    '<!-- backfill-cost:end -->',
  ].join('\n');
}

/** One measured run of scripts/bench/entries/stranger.ts (a build of some commit). */
export interface StrangerRun {
  readonly label: string;
  readonly rate: number;
  readonly seconds: number;
  readonly badRequests: number;
  readonly badNot401: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly callsPerBadRequest: number;
  readonly rotationPickupSeconds: number | null;
}

/** The issue's fleet: every route of every warm environment kept missing (issue 20, finding 4). */
export const STRANGER_FLEET = { routes: 3, environments: 10 } as const;

/** Secrets Manager calls and dollars per day from a measured calls-per-bad-request figure. */
export function strangerCost(run: StrangerRun, requestsPerSecond = 10) {
  const perSecond = run.callsPerBadRequest * requestsPerSecond;
  const perDay = perSecond * 86_400;
  const dollars = (calls: number) => calls * (PRICES.secretsPer10k / 10_000);
  const fleet = STRANGER_FLEET.routes * STRANGER_FLEET.environments;
  return {
    perSecond,
    perDay,
    dollarsPerDay: dollars(perDay),
    fleetPerDay: perDay * fleet,
    fleetDollarsPerDay: dollars(perDay * fleet),
  };
}

/** The BENCHMARKS.md section on what a stranger's bad signatures cost (scripts/bench/stranger-cost.ts). */
export function renderStrangerCost(runs: readonly StrangerRun[], command: string, loadavg: string): string {
  const rows = runs.map((r) => {
    const c = strangerCost(r, r.rate);
    const ops = Object.entries(r.calls)
      .map(([op, n]) => `${n.toLocaleString('en-US')} ${op}`)
      .join(' + ');
    return `| ${r.label} | ${r.badRequests.toLocaleString('en-US')} (${r.badNot401} not 401) | ${ops || '0'} | ${r.callsPerBadRequest.toFixed(4)} | ${Math.round(c.perDay).toLocaleString('en-US')} | $${c.dollarsPerDay.toFixed(3)} | $${c.fleetDollarsPerDay.toFixed(2)} | ${r.rotationPickupSeconds ?? 'never'} s |`;
  });
  const first = runs[0];
  return [
    '<!-- stranger-cost:start -->',
    '### A stranger sending 10 bad requests/s (issue 20, finding 4)',
    '',
    `Measured by \`${command}\` (load average ${loadavg}): the real ingress handler (\`createIngressHandler\`) and core with the real \`SecretsManagerKeySource\` and SDK client, whose HTTP handler answers in-process as Secrets Manager would (one secret, versions and stages) and counts every call. ${first ? `${first.badRequests.toLocaleString('en-US')} well-formed (64 hex digits) wrong signatures at ${first.rate}/s of a simulated clock (${first.seconds.toLocaleString('en-US')} s)` : ''}; past halfway (off the 300 s cache TTL's background re-reads, which would pick it up by themselves) a new version is stored (a genuine rotation) and a delivery signed with it is sent once a simulated second, so the last column is how long the new secret took to verify under the flood. Calls per day and dollars per day are the measured calls per bad request x 10/s x 86,400 at Secrets Manager's list price ($${PRICES.secretsPer10k} per 10,000 API calls, GetSecretValue and DescribeSecret alike) for one route in one execution environment; the fleet column is the issue's case (${STRANGER_FLEET.routes} routes x ${STRANGER_FLEET.environments} warm environments, each kept missing).`,
    '',
    '| build | bad requests | Secrets Manager calls | calls / bad request | calls / day (1 route, 1 env) | $ / day (1 route, 1 env) | $ / day (fleet) | new version verified after |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Since this change a miss checks the versions (one DescribeSecret) instead of re-reading every stage, and only re-reads the values when AWSCURRENT or AWSPENDING moved; while misses keep finding nothing new the check backs off (1, 2, 4, 8 s), so the cost is bounded whatever the rate: at most one call per 8 s per route per environment (10,800 a day, $0.054), and a genuine new version verifies within 8 s of being stored even during a flood (within 1 s when misses are rare). Evidence writes stay at most one per provider and kind per 10 s per environment (core/evidence.ts).',
    '<!-- stranger-cost:end -->',
  ].join('\n');
}
