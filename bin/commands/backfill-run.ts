/**
 * `heygen-relay backfill --since DURATION [--dry-run] [--json]`: publishes what HeyGen's event history
 * lists as delivered to our endpoint since DURATION ago (default: the relay's dedup window, less a
 * margin) and the relay never published, through the same path as the scheduled backfill
 * (providers/heygen/runtime/backfill.ts), under the same lease. A sweep: the whole listing is walked
 * and every entry of ours created in the window is looked up (no sampling). `--dry-run` lists the
 * missing events and publishes nothing. With `parkedBucket` (the stack's ParkedBucketName), entries
 * EventBridge can never take are parked there; without it they are counted (`unpublishable`).
 *
 * The window is the stack's (`DedupWindowSeconds`): an entry older than it cannot be told from one
 * already published (its record may have expired), so a `--since` reaching past it is refused with one
 * line, unless the operator accepts second copies (`--allow-duplicates`; they carry the same envelope
 * id, so consumers that drop repeats by `id` drop them).
 *
 * Never before the stack's origin (the scheduled runs' checkpoint `originMs`, else `firstRunOrigin` of
 * the signing secret's CreatedDate and our oldest endpoint): nothing before it was addressed to our
 * endpoint, so a `--since` reaching further (with `--allow-duplicates`, or the default on a young
 * stack) starts there, and says so. Entries the subscription log judges unsure are reported as the
 * scheduled runs report them: recorded in the checkpoint as a `subscription` period (alarm BackfillGap
 * until `--acknowledge-gap`), counted once (`mergeUncovered`); the command exits 3. A person who
 * checked such an entry in HeyGen's history and found it addressed to us names its `event_id` with
 * `--publish-unsure`: the run looks at the named entries only and publishes them as ours, through the
 * same path (same envelope id). Its `--since` may reach past the window without `--allow-duplicates`:
 * the person accepts a second copy of those entries alone (counted `beyondWindow`), nothing else is published.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDedupStore } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { DynamoDedupIndex } from '../../functions/adapters/aws/dynamodb-dedup-index.js';
import { DynamoBackfillCheckpoint, DynamoEvidenceStore } from '../../functions/adapters/aws/dynamodb-evidence.js';
import { DynamoLeaseStore } from '../../functions/adapters/aws/dynamodb-lease.js';
import { DynamoSightingInbox } from '../../functions/adapters/aws/dynamodb-sightings.js';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedStore, s3PutVia } from '../../functions/adapters/aws/parked-store.js';
import type { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import type { UncoveredPeriod } from '../../providers/heygen/runtime/backfill.js';
import {
  BACKFILL_DEFAULTS,
  type BackfillDeps,
  type BackfillSummary,
  backfill,
  EMPTY_SUMMARY,
  type OurEndpoint,
  originFloor,
  underBackfillLease,
} from '../../providers/heygen/runtime/backfill.js';
import {
  acknowledgeUncovered,
  type BackfillState,
  firstRunOrigin,
  mergeUncovered,
} from '../../providers/heygen/runtime/backfill-plan.js';
import type { DatedSighting } from '../../providers/heygen/runtime/sightings.js';
import { mergeSighting, recordSighting, type SubscriptionLog } from '../../providers/heygen/runtime/subscription-log.js';

/** `90m`, `36h`, `3d`, `1h30m`, or plain seconds. */
export function parseDuration(text: string, option = '--since'): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const re = /(\d+)(d|h|m|s)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
  for (;;) {
    m = re.exec(t);
    if (!m) break;
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  if (end !== t.length || end === 0 || ms <= 0)
    throw new RangeError(`${option} must be a duration like 48h, 3d or 90m, got ${JSON.stringify(text)}`);
  return ms;
}

/** `11h45m`, `47h45m`, `3d`: a duration as `--since` takes it (whole days as days). */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes > 0 && minutes % 1440 === 0) return `${minutes / 1440}d`;
  const [h, m] = [Math.floor(minutes / 60), minutes % 60];
  return `${h ? `${h}h` : ''}${m || !h ? `${m}m` : ''}`;
}

/** Kept from the window's far end, as the scheduled backfill keeps it (a CLI run takes minutes). */
export const WINDOW_MARGIN_MS = 15 * 60_000;

/**
 * How far back the CLI may look: the dedup window less the margin. A `--since` beyond it is refused
 * (RangeError, one line saying what to do) unless `allowDuplicates`.
 */
export function backfillSince(input: {
  readonly since: string | undefined;
  readonly windowMs: number;
  readonly allowDuplicates?: boolean;
  readonly now: number;
}): number {
  const reach = input.windowMs - WINDOW_MARGIN_MS;
  // Nothing left between the window's far end (less the margin) and the entries left to HeyGen's retries.
  if (reach <= BACKFILL_DEFAULTS.settleMs && !(input.allowDuplicates && input.since !== undefined))
    throw new RangeError(
      `the relay's dedup window (${formatDuration(input.windowMs)}) leaves nothing to look at: the backfill keeps ${formatDuration(WINDOW_MARGIN_MS)} from its far end and leaves the last ${formatDuration(BACKFILL_DEFAULTS.settleMs)} to HeyGen's retries (the stack's window is at least 1h; check --dedup-window)`,
    );
  if (input.since === undefined) return input.now - reach;
  const asked = parseDuration(input.since);
  if (asked > reach && !input.allowDuplicates)
    throw new RangeError(
      `--since ${input.since} reaches past the relay's dedup window (${formatDuration(input.windowMs)}): entries older than ${formatDuration(reach)} cannot be told from ones already published; use --since ${formatDuration(reach)}, or add --allow-duplicates to publish them again (same envelope ids)`,
    );
  return input.now - asked;
}

export interface BackfillCommandInput {
  readonly since: string | undefined;
  readonly dryRun: boolean;
  readonly client: HeyGenWebhookClient;
  readonly dedupTable: string;
  /** The stack's dedup window (output DedupWindowSeconds), in ms. */
  readonly windowMs: number;
  /** Publish entries older than the window too (they may be second copies). */
  readonly allowDuplicates?: boolean;
  /** Our endpoint's subscription (entries of other types are a neighbour's). */
  readonly endpoint: OurEndpoint;
  readonly eventBus: string;
  readonly stateTable: string;
  readonly signingSecretId: string;
  /** The parked-deliveries bucket (stack output ParkedBucketName): where unpublishable entries go. */
  readonly parkedBucket?: string;
  /** The relay source (HeyGen account; the scheduled run's RELAY_SOURCE): the evidence key. @default 'heygen' */
  readonly source?: string;
  readonly dynamoDb?: () => DynamoDBClient;
  readonly eventBridge?: () => EventBridgeClient;
  readonly now?: () => number;
  /** When the stack was born (its signing secret's CreatedDate; null or absent: unknown). */
  readonly bornAtMs?: number | null;
  /** HeyGen `event_id`s of unsure entries a person found addressed to us: the run publishes these only, as ours. */
  readonly publishUnsure?: readonly string[];
}

export interface BackfillCommandSummary extends BackfillSummary {
  /** Of what was (or would be) published, created before the dedup window: possibly second copies. */
  readonly beyondWindow: number;
  /** The stack's origin (null: unknown): nothing created before it was addressed to our endpoint. */
  readonly originMs: number | null;
  /** Where `--since` (or the default) asked to start; `sinceMs` is later when that was before the origin. */
  readonly askedSinceMs: number;
  /** Entries not covered that this run added to the checkpoint's periods (0 in a dry run, or all known). */
  readonly recorded: number;
  /** Of the `publishUnsure` ids, those this run did not publish (or, in a dry run, would not). */
  readonly notPublished: readonly string[];
}

export async function backfillCommand(input: BackfillCommandInput): Promise<BackfillCommandSummary> {
  const now = (input.now ?? Date.now)();
  const askedSinceMs = backfillSince({
    since: input.since,
    windowMs: input.windowMs,
    allowDuplicates: input.allowDuplicates === true || (input.publishUnsure?.length ?? 0) > 0,
    now,
  });
  const ddb = (input.dynamoDb ?? (() => new DynamoDBClient({})))();
  const checkpoint = new DynamoBackfillCheckpoint(ddb, input.stateTable, input.source ?? 'heygen');
  const work = async (): Promise<BackfillCommandSummary> => {
    const state = await checkpoint.read();
    const originMs = cliOrigin(state, input);
    const sinceMs = originMs === null ? askedSinceMs : Math.max(askedSinceMs, originFloor(originMs));
    // What the registrar told since the last scheduled run (read only: that run merges and drops them).
    const told = await new DynamoSightingInbox(ddb, input.stateTable, input.source ?? 'heygen').read();
    const subscriptions = subscriptionLog(
      state,
      input.endpoint,
      now,
      told.map((x) => x.sighting),
    );
    const publishUnsure = new Set(input.publishUnsure ?? []);
    const options = { sinceMs, dryRun: input.dryRun, maxPages: 1_000, maxEvents: 100_000, publishUnsure };
    const summary = await backfill(
      { ...options, ...(subscriptions ? { subscriptions } : {}), ...(originMs !== null ? { addressedAfterMs: originMs } : {}) },
      commandDeps(input, ddb),
    );
    const published = new Set(summary.missing.map((m) => m.eventId));
    const notPublished = [...publishUnsure].filter((id) => !published.has(id));
    const recorded = input.dryRun ? 0 : await recordUncovered(checkpoint, summary.uncovered);
    const windowStart = now - input.windowMs;
    const beyondWindow = summary.missing.filter((m) => Date.parse(m.createdAt) <= windowStart).length;
    return { ...summary, beyondWindow, originMs, askedSinceMs, recorded, notPublished };
  };
  // A dry run publishes and records nothing: no lease (as before). Otherwise the scheduled runs' lease.
  if (input.dryRun) return work();
  const lease = { store: new DynamoLeaseStore(ddb, input.stateTable), name: backfillLeaseName(input.signingSecretId) };
  return underBackfillLease(lease, undefined, work, () => ({
    ...EMPTY_SUMMARY,
    outcome: 'busy' as const,
    sinceMs: askedSinceMs,
    beyondWindow: 0,
    originMs: null,
    askedSinceMs,
    recorded: 0,
    notPublished: input.publishUnsure ?? [],
  }));
}

/** The publishing path of a CLI run: the scheduled run's pieces over the stack's tables and bus (the lease is the caller's). */
function commandDeps(input: BackfillCommandInput, ddb: DynamoDBClient): BackfillDeps {
  const eventBridge = (input.eventBridge ?? (() => new EventBridgeClient({})))();
  const dedup = {
    windowSeconds: Math.ceil(input.windowMs / 1000),
    lockSeconds: BACKFILL_DEFAULTS.claimLockSeconds,
    legacyBodyKeys: true,
    sources: { [input.source ?? 'heygen']: 'heygen' },
  };
  return {
    history: onlyNamed(input.client, input.publishUnsure),
    endpoint: input.endpoint,
    check: new DynamoDedupStore(ddb, input.dedupTable, { ...dedup, mode: 'record' }),
    claim: new DynamoDedupStore(ddb, input.dedupTable, { ...dedup, mode: 'claim' }),
    index: new DynamoDedupIndex(ddb, input.dedupTable),
    publisher: new EventBridgePublisher(eventBridge, input.eventBus),
    evidence: new DynamoEvidenceStore(ddb, input.stateTable),
    ...(input.parkedBucket ? { parked: new S3ParkedStore(input.parkedBucket, s3PutVia(eventBridge)) } : {}),
    ...(input.source && input.source !== 'heygen' ? { source: input.source } : {}),
  };
}

/** With `--publish-unsure`, HeyGen's listing narrowed to the named entries: the run publishes nothing else. */
function onlyNamed(client: HeyGenWebhookClient, ids: readonly string[] | undefined): BackfillDeps['history'] {
  if (!ids?.length) return client;
  const named = new Set(ids);
  return {
    listEvents: async (query, options) => {
      const page = await client.listEvents(query, options);
      return { ...page, events: page.events.filter((e) => named.has(e.eventId)) };
    },
  };
}

/**
 * The stack's origin: as the scheduled runs fixed it (`originMs`); before their first run (or on a
 * checkpoint from before it), `firstRunOrigin` of the stack's birth and our oldest endpoint, with the
 * last run that found no key only before a first run (later it may be newer than events of ours).
 */
function cliOrigin(state: BackfillState, input: Pick<BackfillCommandInput, 'bornAtMs' | 'endpoint'>): number | null {
  if (state.originMs != null) return state.originMs;
  const keyMissingAt = state.checkedThrough === null ? state.keyMissingAt : null;
  return firstRunOrigin(input.bornAtMs, keyMissingAt, input.endpoint.createdAtMs);
}

/**
 * Adds what this run could not cover to the checkpoint's periods (re-read under the lease, just before
 * the write), as a scheduled run does: alarmed (BackfillGap, UncoveredEntries) until a person
 * acknowledges them. Returns the entries newly counted.
 */
async function recordUncovered(checkpoint: DynamoBackfillCheckpoint, fresh: readonly UncoveredPeriod[]): Promise<number> {
  if (fresh.length === 0) return 0;
  const state = await checkpoint.read();
  const before = state.uncovered ?? [];
  const after = mergeUncovered(before, fresh, state.acknowledged);
  const added = after.slice(before.length).reduce((n, p) => n + (p.entries ?? 0), 0);
  if (after.length > before.length) await checkpoint.write({ ...state, uncovered: after });
  return added;
}

/**
 * The scheduled runs' log of our endpoint's types (subscription-log.ts), with what this run saw: an
 * entry is judged by the types of its time, not today's (a type added today does not make a
 * neighbour's older entries ours), and what the registrar `told` since (a URL edited away and back).
 * Undefined: no log yet (today's types judge, as before the log).
 */
function subscriptionLog(
  state: BackfillState,
  endpoint: OurEndpoint,
  now: number,
  told: readonly DatedSighting[] = [],
): SubscriptionLog | undefined {
  if (!state.subscriptions?.length) return undefined;
  const seen = Math.min(endpoint.seenAtMs ?? now, now);
  const own = recordSighting(state.subscriptions, endpoint, seen, Number.NEGATIVE_INFINITY);
  // The registrar's sightings (sightings.ts), merged in whatever order they came.
  return told.reduce((log, x) => mergeSighting(log, x, Number.NEGATIVE_INFINITY), own);
}

function backfillLeaseName(signingSecretId: string): string {
  return `heygen-backfill:${signingSecretId}`;
}

/**
 * `--acknowledge-gap`: a person has seen the periods the backfill could not cover; they are cleared
 * from the checkpoint (metric BackfillGap back to 0), under the backfill's lease. Null when busy.
 */
export async function acknowledgeGaps(input: {
  readonly stateTable: string;
  readonly signingSecretId: string;
  readonly source?: string;
  readonly dynamoDb?: () => DynamoDBClient;
}): Promise<readonly UncoveredPeriod[] | null> {
  const ddb = (input.dynamoDb ?? (() => new DynamoDBClient({})))();
  const checkpoint = new DynamoBackfillCheckpoint(ddb, input.stateTable, input.source ?? 'heygen');
  return underBackfillLease(
    { store: new DynamoLeaseStore(ddb, input.stateTable), name: backfillLeaseName(input.signingSecretId) },
    undefined,
    async () => {
      const state = await checkpoint.read();
      const periods = state.uncovered ?? [];
      if (periods.length > 0) await checkpoint.write(acknowledgeUncovered(state));
      return periods;
    },
    () => null,
  );
}

const UNCOVERED_WHY = {
  dedup_window: 'older than the dedup window',
  history:
    "could not be confirmed: HeyGen's history does not reach back that far (entries there may have been dropped unseen), or there were no events",
  order: "HeyGen's listing changed its order; sweeps that stopped early may have passed entries over",
  subscription:
    "our endpoint's subscription changed: entries never published whose type it may not have had then (not published: maybe a neighbour's)",
} as const;

/** One line per period the backfill could not cover. */
export function describeUncovered(periods: readonly UncoveredPeriod[]): string[] {
  return periods.map(
    (p) =>
      `not covered (${UNCOVERED_WHY[p.reason]}): ${new Date(p.fromMs).toISOString()} .. ${new Date(p.untilMs).toISOString()}, ${p.entries === null ? 'entries unknown' : `${p.entries} entr${p.entries === 1 ? 'y' : 'ies'} of ours`}`,
  );
}

export function describeBackfill(s: BackfillCommandSummary): string[] {
  const lines = [
    `outcome: ${s.outcome}${s.dryRun ? ' (dry run)' : ''}; since ${new Date(s.sinceMs).toISOString()}; ${s.pages} page(s), ${s.examined} event(s) looked up`,
    `${s.dryRun ? 'would backfill' : 'backfilled'}: ${s.backfilled}; already published: ${s.alreadyPublished}; in flight: ${s.inFlight}; too recent: ${s.tooRecent}; failed: ${s.failed}`,
    `unpublishable: ${s.unpublishable} (parked: ${s.parked}); same type and data as another entry (one event): ${s.sameContent}; a neighbour endpoint's (skipped): ${s.foreign}`,
  ];
  if (s.uncertain > 0) lines.push(`published again over an unfinished claim (may be a second copy, same id): ${s.uncertain}`);
  if (s.beyondWindow > 0) lines.push(`older than the dedup window (may be second copies, same envelope id): ${s.beyondWindow}`);
  if (s.originMs !== null && s.askedSinceMs < s.sinceMs)
    lines.push(
      `started at the stack's origin (${new Date(s.originMs).toISOString()}, its birth or our oldest endpoint at HeyGen, less 5 min of clock skew), not ${new Date(s.askedSinceMs).toISOString()}: nothing before it was addressed to our endpoint`,
    );
  lines.push(...describeUncovered(s.uncovered));
  if (s.uncovered.length > 0) lines.push(uncoveredNote(s));
  for (const m of s.missing) lines.push(`  ${m.createdAt} ${m.type} ${m.eventId} -> ${m.id}`);
  for (const id of s.outcome === 'busy' ? [] : s.notPublished)
    lines.push(
      `not published: ${id}: this run published no entry with that event_id (listed since ${new Date(s.sinceMs).toISOString()}): published already, failed or in flight (counted above), a neighbour's by the subscription log, or older: widen --since`,
    );
  if (s.outcome === 'busy') lines.push('another backfill holds the lease; try again later');
  return lines;
}

/** What became of the periods a CLI run could not cover (the command exits 3 when there are any). */
function uncoveredNote(s: BackfillCommandSummary): string {
  const n = s.uncovered.reduce((k, p) => k + (p.entries ?? 0), 0);
  const what = `${n} entr${n === 1 ? 'y' : 'ies'} not covered (not published: a person must look)`;
  if (s.dryRun) return `${what}; dry run: not recorded (a run without --dry-run records them, alarm BackfillGap)`;
  if (s.recorded === 0) return `${what}; already recorded in the backfill's checkpoint by an earlier run`;
  return `${what}; recorded ${s.recorded} in the backfill's checkpoint: alarm BackfillGap until heygen-relay backfill --acknowledge-gap`;
}
