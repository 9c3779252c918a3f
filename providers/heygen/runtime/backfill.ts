/**
 * Backfill (pure; ports injected): what HeyGen's event history says it delivered TO OUR ENDPOINT that
 * the relay never published goes to the bus now, through the same pieces as a live delivery: the
 * provider's normalize (on a body rebuilt from the history entry, `event_data` byte for byte), the
 * shared event key (providers/heygen/event-key.ts), the dedup store, the event publisher. The envelope
 * is the one a live delivery would have produced, with the same `id` and `origin: "backfill"`.
 *
 * Ours only (proof.ts `addressedToUs`): HeyGen's history is account-wide with no endpoint filter, so
 * an entry of a type our endpoint does not subscribe to (a neighbour endpoint's) is counted `foreign`
 * and never looked at. The subscription comes from the endpoint as HeyGen lists it (`endpoint`). So
 * is an entry of any type created at or before the stack's origin (`addressedAfterMs`): no endpoint
 * of ours existed yet.
 *
 * Two kinds of run over an interval of creation times (`sinceMs`, `untilMs`]:
 * - a sweep (`sampleEvery` 1) walks the listing and looks up every entry of ours created in the
 *   interval once, whatever the order of the pages. HeyGen's spec promises no order, so a walk only
 *   stops before the end (`stopEarly`) when the plan has seen a whole walk of the listing in order of
 *   listing (newest first, `created_at` never more than `lateMs` out of step), the walk has passed the
 *   previous walk's first entry (`head`), everything it read kept that order, and a whole page lies
 *   `lateMs` before `sinceMs`; entries listed above the head (new since the last walk) are looked up
 *   down to `floorMs` whatever their `created_at` (listed late). Anything out of order: the walk goes
 *   to the end (`ordered: false`), as every walk did before. A walk cut short (page bound, deadline)
 *   hands back a `cursor` from which the next run goes on: nothing skipped, and an entry already
 *   handled is at most read again (it is then a duplicate), never published twice. A completed walk
 *   says `checkedThrough` (an entry left in flight or whose publish failed holds it before the entry).
 *   The entries of a page are looked up in one eventually consistent batch (`index`, BatchGetItem):
 *   what a run reads grows with the entries it examines, never with the dedup table.
 * - a freshness run (`sampleEvery` > 1) looks at the first `maxPages` pages only and every n-th
 *   entry of the interval there; a sampled miss makes it look up every entry of those pages and says
 *   `sampleMissed` (the plan then sweeps). Freshness only: correctness rests on the sweep.
 *
 * What cannot be covered is said, never skipped silently: entries of ours created in (`gapFrom`,
 * `sinceMs`] (a checkpoint older than the dedup window: their records may be gone, so they cannot be
 * told from published ones) are counted in `uncovered`, with the period; and a walk that reached the
 * end of a listing which no longer reaches back to the checkpoint reports the period between them
 * (the count unknown) unless it is proven that nothing there was dropped (history-proof.ts: the
 * history reaches past it, HeyGen was seen keeping entries that long, or runs watched the listing).
 *
 * Exactly once against live deliveries: an entry is first looked up with a read (a `record`-mode
 * store: 1 read, nothing written), and only a miss is claimed with a conditional write (a `claim`-mode
 * store), published and marked complete. A live copy arriving meanwhile finds the claim (in flight,
 * 409, HeyGen retries) or the completed record (duplicate), in either ingress dedup mode. A publish
 * EventBridge refused for good releases the claim and parks the entry; a publish whose answer is
 * unknown (a timeout, a 5xx: it may have landed) keeps the claim, so the next run finds it unfinished.
 * An unfinished claim whose lock has passed (the writer died after PutEvents, or its answer was lost)
 * is `uncertain`: the entry is published again with the SAME envelope id (consumers drop the copy by
 * `id`) and counted (`uncertain`, metric `BackfillUncertain`), never silently.
 *
 * Identity: an event is its type and data (the event key). Entries of the interval with different
 * `event_id`s and the same type and data are one event, published once, and counted `sameContent`.
 *
 * Bounded: at most `maxPages` pages of 100 and `maxEvents` lookups per run, and it stops `reserveMs`
 * before the deadline (`partial`). Entries younger than `settleMs` are left to HeyGen's own retries
 * and to the next run. Under a lease of its own (`heygen-backfill:<secret ARN>`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RelayEvent } from '../../../functions/core/envelope.js';
import { UnpublishableError } from '../../../functions/core/errors.js';
import { sourceEventKey } from '../../../functions/core/event-key.js';
import type { EvidenceStore } from '../../../functions/core/evidence.js';
import { prepareEvent, Unpublishable } from '../../../functions/core/ingress.js';
import { LeaseBusyError, type LeaseStore, withLease } from '../../../functions/core/lease.js';
import type { DedupStore, EventPublisher, ParkedStore, ParkReason } from '../../../functions/core/ports.js';
import type { EventHistoryPage, HistoryEvent, WebhookEndpoint } from './api/client.js';
import { HeyGenApiError } from './api/errors.js';
import { historyUncovered, type ListingWatch } from './history-proof.js';
import { heygen } from './index.js';
import { addressedToUs } from './proof.js';
import { sightingOf } from './sightings.js';
import { type Addressed, addressedAt, type JudgedBy, LOG_SKEW_MS, type SubscriptionLog } from './subscription-log.js';

/** The relay's key of an entry: its event key, per source (core/event-key.ts). */
const keyOf = (entry: HistoryEvent, deps: BackfillDeps): string => sourceEventKey(deps.source ?? heygen.name, entry.eventKey);

export const BACKFILL_DEFAULTS = {
  /** Pages of 100 entries per run (a sweep walks the whole listing, over several runs if need be). */
  maxPages: 1_000,
  /** Entries looked up one by one (consistent read) per run. */
  maxEvents: 2_000,
  /** Entries younger than this are still being retried by HeyGen (its first retries come within minutes). */
  settleMs: 10 * 60_000,
  /** Time kept back from the deadline. */
  reserveMs: 10_000,
  /**
   * How long the backfill's claim blocks a live copy (the dedup store's `lockSeconds`: "must exceed
   * the function timeout"). Longer than the backfill Lambda's 5 min: a publish still retrying after
   * the lock passed (EventBridge's SDK retries alone can take 45 s) would let a live copy publish the
   * event too. A live copy meanwhile gets 409 and HeyGen retries it.
   */
  claimLockSeconds: 360,
  /**
   * How far an entry's `created_at` may lag its place in the listing (listed late; undocumented
   * either way) before the walk takes the listing for unordered and reads it to the end.
   */
  lateMs: 6 * 3_600_000,
} as const;

/**
 * A cheap, eventually consistent view of the dedup table, key by key (BatchGetItem: 100 keys a call,
 * 0.5 RRU a key). Only a filter: a key it does not list goes through the consistent lookup, so a
 * stale view costs a read, never an event.
 */
export interface DedupIndex {
  /** Which of `keys` are recorded as published. */
  published(keys: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<string>>;
  /**
   * The same lookup, also naming the keys held by an unfinished claim whose lock has passed (its
   * writer died after PutEvents, or lost PutEvents' answer: the event may be on the bus).
   */
  lookup?(keys: readonly string[], signal?: AbortSignal): Promise<IndexLookup>;
  /** Not read by the backfill any more (it read the whole table); kept so older test doubles still fit. */
  publishedKeys?(signal?: AbortSignal): Promise<ReadonlySet<string>>;
}

export interface IndexLookup {
  readonly published: ReadonlySet<string>;
  readonly unfinished: ReadonlySet<string>;
}

/** The first entry a walk listed: the next walk knows it has reached what it saw before once it passes it. */
export interface ListingHead {
  readonly eventId: string;
  readonly createdAt: string;
}

/** A period the backfill could not cover, and why. */
export interface UncoveredPeriod {
  /**
   * `dedup_window`: older than the dedup window (records gone); `history`: HeyGen no longer lists it;
   * `order`: HeyGen's listing changed its order, and entries of the period were examined only by sweeps
   * that stopped early (an upper bound: most were examined); `subscription`: entries the relay never
   * published whose type our endpoint may or may not have subscribed to when they were created
   * (subscription-log.ts): not published, as they may be a neighbour's.
   */
  readonly reason: 'dedup_window' | 'history' | 'order' | 'subscription';
  readonly fromMs: number;
  readonly untilMs: number;
  /** Entries of ours listed in the period (null: HeyGen lists none of them any more, so unknown). */
  readonly entries: number | null;
  /**
   * `subscription`: the envelope ids of the entries counted (the first `UNSURE_KEYS_KEPT`), so a later
   * run that finds the same entry unpublished again (a sweep's overlap, a page read again after a cut,
   * the CLI) does not count it twice (backfill-plan.ts `mergeUncovered`).
   */
  readonly keys?: readonly string[];
}

/** Envelope ids kept per `subscription` period; entries beyond are counted unnamed (and may be counted again). */
export const UNSURE_KEYS_KEPT = 500;

/** The order a walk observed so far (carried over a cursor). */
interface OrderSeen {
  /** The oldest `created_at` read so far (epoch ms). */
  readonly minCreated: number | null;
  readonly headSeen: boolean;
  readonly disorder: boolean;
  /** Entries of ours counted uncovered so far. */
  readonly uncovered: number;
}

/** Where a cut-short sweep goes on from. */
export interface BackfillCursor {
  /** The `nextToken` of the last page handled whole. */
  readonly token: string;
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Creation time of the oldest entry left in flight or failed so far in this walk. */
  readonly unsettledFrom?: number;
  readonly gapFromMs?: number;
  readonly gapReason?: 'dedup_window' | 'order';
  readonly stopEarly?: StopEarly;
  readonly head?: ListingHead;
  readonly seen?: OrderSeen;
}

/** A walk that may end before the end of the listing (see the module comment). */
export interface StopEarly {
  /** The first entry of the previous complete walk (null: there was none). */
  readonly head: ListingHead | null;
  /** How far `created_at` may be out of listing order (an entry listed late). */
  readonly lateMs: number;
  /** Entries listed above the head are looked up down to this creation time (the dedup window's far end). */
  readonly floorMs: number;
}

/** What our endpoint subscribes to, as HeyGen lists it (`events` null: every type). */
export interface OurEndpoint {
  readonly events: readonly string[] | null;
  /**
   * When the oldest endpoint at our URL was created (HeyGen's `created_at`): nothing was addressed to
   * us before it, so a first run's history judgement starts there. Absent: unknown.
   */
  readonly createdAtMs?: number | null;
  /**
   * When the oldest endpoint at our URL that HeyGen sends to (not disabled) was created (null: none).
   * The subscription log compares it with the span's (both HeyGen's clock): later means the endpoints
   * it saw are gone or disabled (a replacement). Absent: unknown (`createdAtMs` stands in).
   */
  readonly liveCreatedAtMs?: number | null;
  /** The configured types (EVENTS, what the registrar registers): a first run's subscription log starts at its origin when they match. */
  readonly configured?: readonly string[] | null;
  /**
   * When HeyGen's endpoint list was asked (before the request): the latest moment `events` is known to
   * have held. The run starts later (its lease, its checkpoint): the set may have changed meanwhile.
   */
  readonly seenAtMs?: number;
  /** Whether HeyGen listed an endpoint at our URL (absent: not asked, e.g. the list failed). */
  readonly found?: boolean;
}

export interface BackfillDeps {
  readonly history: {
    listEvents(query: { limit?: number; token?: string }, options?: { signal?: AbortSignal }): Promise<EventHistoryPage>;
  };
  /** Read-only lookup (a `record`-mode store over the dedup table). */
  readonly check: DedupStore;
  /** Conditional claim (a `claim`-mode store over the same table). */
  readonly claim: DedupStore;
  readonly publisher: EventPublisher;
  /** Our endpoint's subscription: entries of other types are a neighbour's (`foreign`). Absent: every type. */
  readonly endpoint?: OurEndpoint;
  /**
   * When the stack was born (its signing secret's `CreatedDate`): no endpoint of ours, so nothing
   * addressed to us, existed before it. A first run judges from the earlier of this and
   * `endpoint.createdAtMs` (an endpoint deleted before the first run is no longer listed). Absent or
   * null: unknown (our endpoint's creation alone).
   */
  readonly bornAtMs?: number | null;
  /** Where entries EventBridge can never take are kept (as the ingress keeps such deliveries). */
  readonly parked?: ParkedStore;
  readonly index?: DedupIndex;
  readonly lease?: {
    readonly store: LeaseStore;
    readonly name: string;
    readonly owner?: string;
    readonly ttlMs?: number;
    /** The lease's clock and sleep (a busy lease's wait). @default the wall clock, real sleeps */
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
  };
  /** Where the run records the creation time of each event it recovered (the registrar's evidence). */
  readonly evidence?: EvidenceStore;
  /** The relay source (HeyGen account) this run serves: envelope `source`, evidence key. @default 'heygen' */
  readonly source?: string;
  /** Called once per event published (metrics: `Backfilled` by type). */
  readonly onBackfilled?: (event: RelayEvent) => void;
  /** Called once per event published again over an unfinished claim (metric `BackfillUncertain`). */
  readonly onUncertain?: (event: RelayEvent) => void;
  /** Called once per entry parked (metrics: `Parked` by reason). */
  readonly onParked?: (reason: ParkReason) => void;
  readonly now?: () => number;
  /** Milliseconds left for the run (e.g. Lambda's getRemainingTimeInMillis). */
  readonly deadline?: () => number;
  readonly signal?: AbortSignal;
}

export interface BackfillOptions {
  /** Entries created at or before this (epoch ms) are not looked at. */
  readonly sinceMs: number;
  /** Entries created after this are not looked at. @default now − settleMs */
  readonly untilMs?: number;
  /** Go on with a walk an earlier run cut short (its interval wins over `sinceMs`/`untilMs`). */
  readonly cursor?: BackfillCursor;
  readonly dryRun?: boolean;
  readonly maxPages?: number;
  readonly maxEvents?: number;
  readonly settleMs?: number;
  readonly reserveMs?: number;
  /**
   * 1: a sweep (every entry of the interval). n > 1: a freshness run over the first `maxPages` pages,
   * every n-th entry and the oldest, all of them after a sampled miss. @default 1
   */
  readonly sampleEvery?: number;
  /** A sweep may end before the end of the listing (the plan saw it in order). @default a whole walk */
  readonly stopEarly?: StopEarly;
  /** The checkpoint, when older than `sinceMs`: entries of ours in (gapFromMs, sinceMs] are counted uncovered. */
  readonly gapFromMs?: number;
  /** Why entries of the gap are not covered. @default 'dedup_window' */
  readonly gapReason?: 'dedup_window' | 'order';
  /**
   * The longest HeyGen was seen to keep entries (a walk to the end: its time less the oldest entry
   * listed). A run needing entries from further back than that, which the listing no longer reaches,
   * reports a `history` period.
   */
  readonly historyKeptMs?: number | null;
  /**
   * The scheduled backfill's checkpoint (every entry created up to it was looked up by an earlier
   * sweep): a completed walk whose listing no longer reaches back to it reports the period between
   * unless it is proven covered (history-proof.ts). Null (a first run): from our endpoint's creation
   * (`endpoint.createdAtMs`, or the interval's start if later; unknown: nothing). Absent (the CLI): nothing.
   */
  readonly historyNeedMs?: number | null;
  /** What runs reading the listing to its end saw since the last sweep (history-proof.ts). */
  readonly watch?: ListingWatch | null;
  /** `oldestAfterMs` counts entries created after this (the checkpoint). @default the interval's end */
  readonly watchFromMs?: number | null;
  /** A first run: nothing was addressed to us before this (backfill-plan.ts `firstRunOrigin`). @default `endpoint.createdAtMs` */
  readonly originMs?: number | null;
  /**
   * The stack's origin as its first run fixed it (checkpoint `originMs`; the CLI: the same, or its own
   * `firstRunOrigin`): no endpoint of ours existed before it, so an entry created then (more than
   * `LOG_SKEW_MS` before: `originFloor`) was addressed to a neighbour whatever its type. Counted `foreign`, never looked up, in every run (a
   * sweep's overlap reaches up to 6 h before its checkpoint). Absent or null: unknown, no floor.
   */
  readonly addressedAfterMs?: number | null;
  /**
   * Our endpoint's subscription over time (subscription-log.ts): an entry is judged by the types of
   * when it was created; one that may be a neighbour's is never published. Absent or empty: by
   * `endpoint.events`, today's list (the CLI).
   */
  readonly subscriptions?: SubscriptionLog;
  /**
   * HeyGen `event_id`s of unsure entries a person checked and found addressed to us (`heygen-relay
   * backfill --publish-unsure`): published as ours, through the same path (same envelope id).
   */
  readonly publishUnsure?: ReadonlySet<string>;
}

export interface BackfillSummary {
  readonly outcome: 'done' | 'partial' | 'busy';
  readonly dryRun: boolean;
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly pages: number;
  /** Entries of the interval that were looked up (by the index or one by one). */
  readonly examined: number;
  /** Of those, looked up one by one (consistent read). */
  readonly lookedUp: number;
  /** Entries already on the bus (live delivery, or an earlier backfill). */
  readonly alreadyPublished: number;
  /** Published now (or, in a dry run, that would be). */
  readonly backfilled: number;
  /**
   * Publishes over an unfinished claim whose publish may have landed: possibly a second copy (same id).
   * Includes such a publish whose own answer was lost (counted in `failed` too: it may have landed).
   */
  readonly uncertain: number;
  /** Claimed by a live delivery right now: left to it (and looked at again by the next sweep). */
  readonly inFlight: number;
  /** Created after the interval (younger than the settle time): left to HeyGen's retries and the next run. */
  readonly tooRecent: number;
  /** Entries whose publish (or parking) failed (the next sweep tries again). */
  readonly failed: number;
  /** Entries EventBridge could never take as they are (numbers a double cannot hold, too deep, too large, refused). */
  readonly unpublishable: number;
  /** Of those, parked (with their reason) now. */
  readonly parked: number;
  /** Entries whose type and data equal another entry's of this run (a different `event_id`): one event. */
  readonly sameContent: number;
  /** Entries of types our endpoint does not subscribe to (a neighbour endpoint's): never looked at. */
  readonly foreign: number;
  /** Entries listed after the last walk with a `created_at` before its interval (listed late): looked up. */
  readonly listedLate: number;
  /** What was (or would be) published: event id, type, created_at and envelope id. */
  readonly missing: readonly { eventId: string; type: string; createdAt: string; id: string }[];
  /** Whether entries were sampled, and whether a sample was missing (then all were looked up). */
  readonly sampled: boolean;
  readonly sampleMissed: boolean;
  /** A sweep that completed: every entry created up to this moment (epoch ms) was handled. */
  readonly checkedThrough?: number;
  /** A sweep cut short: where the next run goes on. */
  readonly cursor?: BackfillCursor;
  /** The cursor's page token was refused (400): the walk started again from the first page. */
  readonly restarted: boolean;
  /** Every entry read kept the listing's order (newest first, within `lateMs`). */
  readonly ordered: boolean;
  /** The walk read the listing to its end; and ended early because it had read all it needed. */
  readonly reachedEnd: boolean;
  readonly stoppedEarly: boolean;
  /** The first entry of this walk (the next walk's `head`). */
  readonly head?: ListingHead;
  /** The oldest `created_at` of the whole listing (a walk that reached the end and listed anything). */
  readonly historyFromMs?: number;
  /**
   * The oldest `created_at` after `watchFromMs` (a sweep: after the interval, or its first unsettled
   * entry) of any entry this run listed; null: none (history-proof.ts, what a later walk must still list).
   */
  readonly oldestAfterMs: number | null;
  /** What this run could not cover (each period, how many entries of ours it lists). */
  readonly uncovered: readonly UncoveredPeriod[];
}

/** sha256 of the compact JSON body (HeyGen's delivery format), the key deliveries had before content keys. */
function bodyKeyGuess(entry: HistoryEvent): string {
  return `heygen:${createHash('sha256').update(entry.body, 'utf8').digest('hex')}`;
}

/**
 * Our endpoint's subscription as HeyGen lists it (every endpoint at `url` that is not disabled: the union
 * of their types; HeyGen sends a disabled one nothing): the live list is the best evidence of what HeyGen addressed to us. No endpoint at that URL (deleted, not registered yet): the
 * configured events, which the registrar makes the endpoint's.
 */
export async function ourEndpoint(
  api: { listEndpoints(options?: { signal?: AbortSignal }): Promise<WebhookEndpoint[]> },
  url: string,
  configured: readonly string[] | null,
  signal?: AbortSignal,
  now: () => number = Date.now,
): Promise<OurEndpoint & { readonly found: boolean }> {
  const seenAtMs = now();
  const endpoints = await api.listEndpoints(signal ? { signal } : {});
  // The registrar's sightings read the list by the same rule (sightings.ts): every endpoint at our route
  // (a trailing slash, capitals, a query: still ours), a disabled one subscribing to no type.
  const seen = sightingOf(endpoints, url, seenAtMs);
  if (!seen.found) return { events: configured, found: false, configured, seenAtMs };
  const { events, createdAtMs = null, liveCreatedAtMs = null } = seen;
  return { events, found: true, createdAtMs, liveCreatedAtMs, configured, seenAtMs };
}

/**
 * Runs `work` under the backfill's lease (scheduled runs and the CLI share it: one walker at a time);
 * `busy()` is the answer when another run holds it.
 */
export async function underBackfillLease<T>(
  lease: NonNullable<BackfillDeps['lease']>,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
  busy: () => T,
): Promise<T> {
  try {
    return await withLease(
      lease.store,
      lease.name,
      {
        owner: lease.owner ?? `backfill-${randomUUID()}`,
        ttlMs: lease.ttlMs ?? 16 * 60_000,
        ...(signal ? { signal } : {}),
        ...(lease.now ? { now: lease.now } : {}),
        ...(lease.sleep ? { sleep: lease.sleep } : {}),
      },
      work,
    );
  } catch (err) {
    if (!(err instanceof LeaseBusyError)) throw err;
    return busy();
  }
}

export async function backfill(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillSummary> {
  if (options.dryRun || !deps.lease) return run(options, deps);
  return underBackfillLease(
    deps.lease,
    deps.signal,
    () => run(options, deps),
    () => ({ ...emptySummary(options, options.untilMs ?? 0), outcome: 'busy' }),
  );
}

/** A run that did nothing (e.g. the lease was busy). */
export const EMPTY_SUMMARY: BackfillSummary = Object.freeze(emptySummary({ sinceMs: 0 }, 0));

function emptySummary(options: BackfillOptions, untilMs: number) {
  return {
    outcome: 'done' as BackfillSummary['outcome'],
    dryRun: options.dryRun === true,
    sinceMs: options.cursor?.sinceMs ?? options.sinceMs,
    untilMs,
    pages: 0,
    examined: 0,
    lookedUp: 0,
    alreadyPublished: 0,
    backfilled: 0,
    uncertain: 0,
    inFlight: 0,
    tooRecent: 0,
    failed: 0,
    unpublishable: 0,
    parked: 0,
    sameContent: 0,
    foreign: 0,
    listedLate: 0,
    missing: [] as { eventId: string; type: string; createdAt: string; id: string }[],
    sampled: false,
    sampleMissed: false,
    restarted: false,
    checkedThrough: undefined as number | undefined,
    cursor: undefined as BackfillCursor | undefined,
    ordered: true,
    reachedEnd: false,
    stoppedEarly: false,
    head: undefined as ListingHead | undefined,
    historyFromMs: undefined as number | undefined,
    oldestAfterMs: null as number | null,
    uncovered: [] as UncoveredPeriod[],
  };
}

type Summary = ReturnType<typeof emptySummary>;
type Outcome = 'published' | 'missing' | 'unsettled';

async function run(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillSummary> {
  const now = deps.now ?? Date.now;
  const settleMs = options.settleMs ?? BACKFILL_DEFAULTS.settleMs;
  const untilMs = options.cursor?.untilMs ?? Math.min(options.untilMs ?? Number.POSITIVE_INFINITY, now() - settleMs);
  const s = emptySummary(options, untilMs);
  const sampleEvery = Math.max(1, options.sampleEvery ?? 1);
  return sampleEvery > 1 ? fresh(options, deps, s, sampleEvery) : sweep(options, deps, s);
}

/** Entries that may be a neighbour's (subscription-log.ts `unsure`): looked up, never published. */
const UNSURE = new WeakSet<HistoryEvent>();

/**
 * Whether HeyGen addressed the entry to our endpoint (its type is one we subscribed to when it was
 * created, or, without a log, today); counts the others. An unsure one is marked, and looked up only.
 */
function ours(entry: HistoryEvent, options: BackfillOptions, deps: BackfillDeps, s: Summary): boolean {
  const log = options.subscriptions;
  const events = deps.endpoint?.events;
  const created = Date.parse(entry.createdAt);
  const verdict: Addressed = beforeOrigin(created, options)
    ? 'foreign'
    : log?.length
      ? addressedAt(entry.eventType, created, log, judgedBy(deps.endpoint))
      : !events || addressedToUs(entry, { events })
        ? 'ours'
        : 'foreign';
  if (verdict === 'foreign') {
    s.foreign++;
    return false;
  }
  if (verdict === 'unsure' && !options.publishUnsure?.has(entry.eventId)) UNSURE.add(entry);
  return true;
}

/** What the run knows beside its log: the configured types, and whether it listed our endpoint itself. */
function judgedBy(endpoint: OurEndpoint | undefined): JudgedBy {
  if (!endpoint) return {};
  return {
    sighted: endpoint.found !== undefined,
    ...(endpoint.configured !== undefined ? { configured: endpoint.configured } : {}),
  };
}

/**
 * Where a run stops looking for entries of ours: the stack's origin less `LOG_SKEW_MS` (the birth is
 * on AWS's clock, `created_at` on HeyGen's). An entry created before this was a neighbour's. The log's
 * bound, not the ingress's (`CLOCK_SKEW_MS`): with HeyGen's clock beyond the ingress's tolerance every
 * live delivery is refused stale and the backfill is the only path, so an entry of ours made right
 * after the birth, stamped more than 5 min before it, was dropped as a neighbour's with no alarm (chaos
 * replay --seed 897592139 --path 1058; test origin-floor-beyond-ingress-tolerance). Between the two
 * bounds the subscription log judges it: unsure at most before its first span (reported, never published).
 */
export function originFloor(originMs: number): number {
  return originMs - LOG_SKEW_MS;
}

/** Created before the stack's origin (`addressedAfterMs`, `originFloor`): no endpoint of ours existed. An undated entry is not. */
function beforeOrigin(createdMs: number, options: BackfillOptions): boolean {
  const origin = options.addressedAfterMs;
  return origin != null && Number.isFinite(createdMs) && createdMs <= originFloor(origin);
}

/** An unsure entry the relay never published: reported (`subscription`), not published. */
function reportUnsure(entry: HistoryEvent, id: string, s: Summary): void {
  const created = Date.parse(entry.createdAt);
  const at = Number.isNaN(created) ? s.untilMs : created;
  const i = s.uncovered.findIndex((p) => p.reason === 'subscription');
  const p = s.uncovered[i];
  if (!p) {
    s.uncovered.push({ reason: 'subscription', fromMs: at, untilMs: at, entries: 1, keys: [id] });
    return;
  }
  if (p.keys?.includes(id)) return;
  const keys = (p.keys?.length ?? 0) < UNSURE_KEYS_KEPT ? [...(p.keys ?? []), id] : p.keys;
  s.uncovered[i] = {
    ...p,
    fromMs: Math.min(p.fromMs, at),
    untilMs: Math.max(p.untilMs, at),
    entries: (p.entries ?? 0) + 1,
    ...(keys ? { keys } : {}),
  };
}

/**
 * Whether a history entry falls in the run's interval; counts the younger ones. A `created_at` that
 * does not parse (ISO 8601 has forms Date.parse does not read, e.g. `20261129T001000Z`) is in every
 * interval: looking it up again costs a read, passing over it would lose the event without a trace.
 */
function inInterval(entry: HistoryEvent, s: Summary): boolean {
  const created = Date.parse(entry.createdAt);
  if (Number.isNaN(created)) return true;
  if (created > s.untilMs) {
    s.tooRecent++;
    return false;
  }
  return created > s.sinceMs;
}

/** One sweep's walk over the listing, carried over runs by the cursor. */
interface Walk {
  token: string | undefined;
  unsettledFrom: number | undefined;
  seen: { minCreated: number | null; headSeen: boolean; disorder: boolean; uncovered: number };
  head: ListingHead | undefined;
  readonly stopEarly: StopEarly | undefined;
  readonly gapFromMs: number | undefined;
  readonly gapReason: 'dedup_window' | 'order';
  /** Event keys handled in this run, with the event_id first seen for each. */
  readonly handled: Map<string, string>;
  readonly uncoveredKeys: Set<string>;
}

function startWalk(options: BackfillOptions): Walk {
  const c = options.cursor;
  const stopEarly = c ? c.stopEarly : options.stopEarly;
  const gapFromMs = c ? c.gapFromMs : options.gapFromMs;
  const gapReason = (c ? c.gapReason : options.gapReason) ?? 'dedup_window';
  return {
    token: c?.token || undefined,
    unsettledFrom: c?.unsettledFrom,
    seen: { minCreated: null, headSeen: false, disorder: false, uncovered: 0, ...c?.seen },
    head: c?.head,
    stopEarly,
    gapFromMs,
    gapReason,
    handled: new Map(),
    uncoveredKeys: new Set(),
  };
}

async function sweep(options: BackfillOptions, deps: BackfillDeps, s: Summary): Promise<BackfillSummary> {
  const maxPages = options.maxPages ?? BACKFILL_DEFAULTS.maxPages;
  const reserveMs = options.reserveMs ?? BACKFILL_DEFAULTS.reserveMs;
  const outOfTime = () => deps.deadline !== undefined && deps.deadline() < reserveMs;
  const w = startWalk(options);
  for (;;) {
    if (s.pages >= maxPages || outOfTime()) return cut(w, w.seen, s);
    const page = await nextPage(w, deps, s);
    if (page === null) return cut(w, w.seen, s);
    const atStart = { ...w.seen };
    const headAtStart = w.head;
    s.pages++;
    const todo = classify(page, w, options, deps, s);
    if (!(await examine(todo, w, options, deps, s, outOfTime))) {
      w.head = headAtStart;
      return cut(w, atStart, s); // the next run reads this page again (its entries handled so far are duplicates)
    }
    if (canStop(page, w, s)) {
      s.stoppedEarly = true;
      break;
    }
    if (page.nextToken === null) {
      s.reachedEnd = true;
      break;
    }
    w.token = page.nextToken;
  }
  return completeWalk(w, options, deps, s, (deps.now ?? Date.now)());
}

/** A cut-short walk: the cursor says where the next run goes on, with the order seen up to there. */
function cut(w: Walk, seen: Walk['seen'], s: Summary): BackfillSummary {
  s.outcome = 'partial';
  s.ordered = !seen.disorder;
  // An empty token: from the first page again (the cut came before the first page was handled whole).
  s.cursor = {
    token: w.token ?? '',
    sinceMs: s.sinceMs,
    untilMs: s.untilMs,
    ...(w.unsettledFrom !== undefined ? { unsettledFrom: w.unsettledFrom } : {}),
    ...(w.gapFromMs !== undefined ? { gapFromMs: w.gapFromMs, gapReason: w.gapReason } : {}),
    ...(w.stopEarly ? { stopEarly: w.stopEarly } : {}),
    ...(w.head ? { head: w.head } : {}),
    seen: { ...seen },
  };
  return s;
}

/** The next page, or null when the walk must stop here and go on in the next run. */
async function nextPage(w: Walk, deps: BackfillDeps, s: Summary): Promise<EventHistoryPage | null> {
  for (;;) {
    try {
      return await deps.history.listEvents({ limit: 100, ...(w.token ? { token: w.token } : {}) }, { signal: deps.signal });
    } catch (err) {
      // A stored page token HeyGen no longer takes (a 4xx other than auth/timeout/rate limit: which
      // one is undocumented): walk the same interval again from the first page (entries handled
      // before are then found published), rather than failing every run on the same cursor.
      if (s.pages === 0 && w.token && refusedToken(err)) {
        s.restarted = true;
        w.token = undefined;
        w.head = undefined;
        w.seen = { minCreated: null, headSeen: false, disorder: false, uncovered: 0 };
        continue;
      }
      // Pages already handled in this run (e.g. a 429 whose Retry-After the client will not wait):
      // keep them; the next run goes on from this page, rather than redoing them and failing there.
      if (s.pages > 0) return null;
      throw err;
    }
  }
}

/** Notes the order of the listing: the first entry, the previous walk's head, anything out of order. */
function observe(entry: HistoryEvent, w: Walk): void {
  w.head ??= { eventId: entry.eventId, createdAt: entry.createdAt };
  if (w.stopEarly?.head && entry.eventId === w.stopEarly.head.eventId) w.seen.headSeen = true;
  const created = Date.parse(entry.createdAt);
  if (Number.isNaN(created)) return;
  const lateMs = w.stopEarly?.lateMs ?? BACKFILL_DEFAULTS.lateMs;
  if (w.seen.minCreated !== null && created > w.seen.minCreated + lateMs) w.seen.disorder = true;
  w.seen.minCreated = Math.min(w.seen.minCreated ?? created, created);
}

/** Notes the oldest `created_at` after `fromMs` listed (any type: a later walk must still list it). */
function listedAfter(entry: HistoryEvent, fromMs: number, s: Summary): void {
  const created = Date.parse(entry.createdAt);
  if (Number.isFinite(created) && created > fromMs) s.oldestAfterMs = Math.min(s.oldestAfterMs ?? created, created);
}

/**
 * The entries of a page to look up: ours, in the interval, or listed above the last walk's head with
 * an older `created_at` (listed late); each event once. Counts those in an uncovered gap.
 */
function classify(page: EventHistoryPage, w: Walk, options: BackfillOptions, deps: BackfillDeps, s: Summary): HistoryEvent[] {
  const todo: HistoryEvent[] = [];
  for (const entry of page.events) {
    const aboveHead = w.stopEarly?.head != null && !w.seen.headSeen && entry.eventId !== w.stopEarly.head.eventId;
    observe(entry, w);
    listedAfter(entry, s.untilMs, s);
    if (!ours(entry, options, deps, s)) continue;
    const created = Date.parse(entry.createdAt);
    let take = inInterval(entry, s);
    if (!take && created <= s.sinceMs) {
      // Listed late: above the last head (a listing in order of listing), or, below it, within `lateMs`
      // of the interval (a listing sorted by `created_at` puts a late entry under entries the last walk
      // saw): the overlap a walk to the end reads too. The stop page lies `lateMs` before `sinceMs`.
      const band = w.stopEarly && created > Math.max(s.sinceMs - w.stopEarly.lateMs, w.stopEarly.floorMs);
      if (band || (aboveHead && created > (w.stopEarly?.floorMs ?? Number.POSITIVE_INFINITY))) {
        s.listedLate++;
        take = true;
      } else if (w.gapFromMs !== undefined && created > w.gapFromMs && !w.uncoveredKeys.has(entry.eventKey)) {
        w.uncoveredKeys.add(entry.eventKey);
        w.seen.uncovered++;
      }
    }
    if (!take) continue;
    const first = w.handled.get(entry.eventKey);
    if (first !== undefined) {
      if (first !== entry.eventId) s.sameContent++;
      continue;
    }
    w.handled.set(entry.eventKey, entry.eventId);
    todo.push(entry);
  }
  return todo;
}

/** Looks the page's entries up (one batch, then a consistent read of each the batch did not list); false when cut short. */
async function examine(
  todo: readonly HistoryEvent[],
  w: Walk,
  options: BackfillOptions,
  deps: BackfillDeps,
  s: Summary,
  outOfTime: () => boolean,
): Promise<boolean> {
  const maxEvents = options.maxEvents ?? BACKFILL_DEFAULTS.maxEvents;
  const known = await lookupEntries(todo, options, deps, s);
  for (const entry of todo) {
    if (known.examinePublished(entry)) continue;
    if (s.lookedUp >= maxEvents || outOfTime()) {
      s.examined--;
      return false;
    }
    s.lookedUp++;
    const outcome = await one(entry, options, deps, s, known.unfinished(entry));
    if (outcome === 'unsettled') {
      // Undated: hold the checkpoint just short of the interval's end, so the next run sweeps again.
      const created = Number.isNaN(Date.parse(entry.createdAt)) ? s.untilMs : Date.parse(entry.createdAt);
      w.unsettledFrom = Math.min(w.unsettledFrom ?? created, created);
    }
  }
  return true;
}

/**
 * The walk may end here: it was allowed to (the listing was seen in order), it has passed the last
 * walk's first entry, nothing it read broke the order, and this whole page lies `lateMs` before the
 * interval: everything further down was listed before the last walk and handled by it.
 */
function canStop(page: EventHistoryPage, w: Walk, s: Summary): boolean {
  const stop = w.stopEarly;
  if (!stop?.head || !w.seen.headSeen || w.seen.disorder || page.events.length === 0) return false;
  return page.events.every((e) => {
    const created = Date.parse(e.createdAt);
    return Number.isFinite(created) && created <= s.sinceMs - stop.lateMs;
  });
}

/** A walk done: the checkpoint, the order seen, what could not be covered. */
function completeWalk(w: Walk, options: BackfillOptions, deps: BackfillDeps, s: Summary, now: number): BackfillSummary {
  s.checkedThrough = w.unsettledFrom === undefined ? s.untilMs : Math.min(s.untilMs, w.unsettledFrom - 1);
  s.ordered = !w.seen.disorder;
  // An entry left in flight or failed may lie before the interval (listed late, above the last head):
  // the next walk must still find it above the head, so the head moves on only after a settled walk.
  if (w.head && w.unsettledFrom === undefined) s.head = w.head;
  if (s.reachedEnd && w.seen.minCreated !== null) s.historyFromMs = w.seen.minCreated;
  // An entry left unsettled holds the checkpoint before it: the next walk must still list it.
  if (w.unsettledFrom !== undefined) s.oldestAfterMs = Math.min(s.oldestAfterMs ?? w.unsettledFrom, w.unsettledFrom);
  if (w.gapFromMs !== undefined && w.gapFromMs < s.sinceMs)
    s.uncovered.push({ reason: w.gapReason, fromMs: w.gapFromMs, untilMs: s.sinceMs, entries: w.seen.uncovered });
  // HeyGen no longer lists back to the checkpoint, and nothing proves that no entry created between
  // was dropped unseen (history-proof.ts). A walk that stopped early passed entries older than it.
  if (!s.reachedEnd || options.historyNeedMs === undefined) return s;
  const first = options.historyNeedMs === null ? firstRunNeed(options, deps, s) : undefined;
  const period = historyUncovered({
    now,
    needMs: first ?? options.historyNeedMs,
    listedFromMs: s.historyFromMs,
    untilMs: s.untilMs,
    keptMs: options.historyKeptMs,
    // At `need` no entry created after it existed: a first run is watched from there.
    watch: first != null ? { lastAt: first, maxGapMs: 0, oldestAfterMs: null } : options.watch,
    // After a period older than the dedup window, reported already with its count.
    ...(w.gapFromMs !== undefined && w.gapReason === 'dedup_window' ? { fromMs: s.sinceMs } : {}),
  });
  if (period) s.uncovered.push(period);
  return s;
}

/** A first run: nothing was addressed to us before its origin (the stack's birth, our endpoint's creation; null: unknown). */
function firstRunNeed(options: BackfillOptions, deps: BackfillDeps, s: Summary): number | null {
  const created = options.originMs !== undefined ? options.originMs : deps.endpoint?.createdAtMs;
  return created == null ? null : Math.max(created, s.sinceMs);
}

/** A page token refused: a 4xx HeyGen answers to the request itself, not auth (401/403), 408 or 429. */
function refusedToken(err: unknown): boolean {
  return err instanceof HeyGenApiError && err.status >= 400 && err.status < 500 && ![401, 403, 408, 429].includes(err.status);
}

const NOTHING_KNOWN: IndexLookup = { published: new Set(), unfinished: new Set() };

/**
 * One batch lookup of `keys` in the index, or nothing known: it is only a filter (a key it misses
 * takes a consistent read), so a lookup that fails, or outlasts half the run's time left, must not
 * fail the sweep or eat its time.
 */
/**
 * `entries` looked up in one batch (lookupIndex). `examinePublished` counts an entry examined and
 * says whether the index lists it published (counted `alreadyPublished`); `unfinished`, whether it
 * names an unfinished claim.
 */
async function lookupEntries(entries: readonly HistoryEvent[], options: BackfillOptions, deps: BackfillDeps, s: Summary) {
  const known = await lookupIndex(
    entries.map((e) => keyOf(e, deps)),
    deps,
    options.reserveMs ?? BACKFILL_DEFAULTS.reserveMs,
  );
  return {
    examinePublished(entry: HistoryEvent): boolean {
      s.examined++;
      if (!known.published.has(keyOf(entry, deps))) return false;
      s.alreadyPublished++;
      return true;
    },
    unfinished: (entry: HistoryEvent): boolean => known.unfinished.has(keyOf(entry, deps)),
  };
}

async function lookupIndex(keys: readonly string[], deps: BackfillDeps, reserveMs: number): Promise<IndexLookup> {
  const index = deps.index;
  if (!index || keys.length === 0) return NOTHING_KNOWN;
  const signals = deps.signal ? [deps.signal] : [];
  if (deps.deadline) signals.push(AbortSignal.timeout(Math.max(1, Math.floor((deps.deadline() - reserveMs) / 2))));
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  try {
    if (index.lookup) return await index.lookup(keys, signal);
    return { published: await index.published(keys, signal), unfinished: new Set() };
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    return NOTHING_KNOWN;
  }
}

/** A freshness run notes what the listing holds: its oldest entry, the oldest after the checkpoint. */
function noteListing(entry: HistoryEvent, options: BackfillOptions, s: Summary): void {
  listedAfter(entry, options.watchFromMs ?? s.untilMs, s);
  const created = Date.parse(entry.createdAt);
  if (Number.isFinite(created)) s.historyFromMs = Math.min(s.historyFromMs ?? created, created);
}

async function fresh(options: BackfillOptions, deps: BackfillDeps, s: Summary, sampleEvery: number): Promise<BackfillSummary> {
  const maxPages = options.maxPages ?? 2;
  s.sampled = true;
  const entries: HistoryEvent[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  while (s.pages < maxPages) {
    const page = await deps.history.listEvents({ limit: 100, ...(token ? { token } : {}) }, { signal: deps.signal });
    s.pages++;
    for (const entry of page.events) {
      noteListing(entry, options, s);
      if (!ours(entry, options, deps, s) || !inInterval(entry, s)) continue;
      if (seen.has(entry.eventKey)) {
        s.sameContent++;
        continue;
      }
      seen.add(entry.eventKey);
      entries.push(entry);
    }
    if (page.nextToken === null) {
      s.reachedEnd = true;
      break;
    }
    token = page.nextToken;
  }
  if (!s.reachedEnd) s.historyFromMs = undefined; // the oldest of the first pages only
  const picks = entries.filter((_, i) => i % sampleEvery === 0 || i === entries.length - 1);
  const known = await lookupEntries(picks, options, deps, s);
  const done = new Set<HistoryEvent>();
  for (const entry of picks) {
    done.add(entry);
    if (known.examinePublished(entry)) continue;
    s.lookedUp++;
    if ((await one(entry, options, deps, s, known.unfinished(entry))) === 'missing') s.sampleMissed = true;
  }
  if (!s.sampleMissed) return s;
  // The rest, in one batch too: it names the unfinished claims (a publish that may have landed), so a
  // copy published over one is counted uncertain here as in a sweep.
  const rest = entries.filter((entry) => !done.has(entry));
  const more = await lookupEntries(rest, options, deps, s);
  for (const entry of rest) {
    if (more.examinePublished(entry)) continue;
    s.lookedUp++;
    await one(entry, options, deps, s, more.unfinished(entry));
  }
  return s;
}

async function park(entry: HistoryEvent, id: string, why: Unpublishable, deps: BackfillDeps, s: Summary) {
  s.unpublishable++;
  if (!deps.parked) return 'published' as const; // nowhere to keep it (the CLI's dry run lists it)
  const now = deps.now ?? Date.now;
  try {
    await deps.parked.park(
      {
        id,
        provider: heygen.name,
        ...(deps.source ? { source: deps.source } : {}),
        reason: why.reason,
        message: why.message,
        ...(why.busCode ? { busCode: why.busCode } : {}),
        receivedAt: new Date(now()).toISOString(),
        path: '/v3/webhooks/events',
        headers: { 'heygen-history-event-id': entry.eventId, 'heygen-history-created-at': entry.createdAt },
        keyLabel: 'history',
        body: Buffer.from(entry.body, 'utf8'),
      },
      deps.signal,
    );
  } catch {
    s.failed++;
    return 'unsettled' as const;
  }
  s.parked++;
  deps.onParked?.(why.reason);
  return 'published' as const; // not a sign of failed live delivery: the ingress would have parked it too
}

/** The envelope a live delivery of the entry would have produced (same id), or why EventBridge can never take it. */
function envelopeOf(entry: HistoryEvent, deps: BackfillDeps) {
  const now = deps.now ?? Date.now;
  // The history's event_id as the delivery id: whether it equals a delivery's Heygen-Event-Id is not documented.
  const delivery = { ...heygen.normalize(Buffer.from(entry.body, 'utf8'), {}), deliveryId: entry.eventId };
  // The ingress's own envelope builder: the same fidelity checks (numbers, keys, depth, size).
  return prepareEvent(heygen.name, Buffer.from(entry.body, 'utf8'), delivery, keyOf(entry, deps), new Date(now()).toISOString(), {
    origin: 'backfill',
    ...(deps.source ? { source: deps.source } : {}),
  });
}

/**
 * One entry the batch did not list as published: consistent read, claim, publish, record. `unfinished`:
 * the batch saw an unfinished claim whose lock passed (a publish that may have landed).
 */
async function one(
  entry: HistoryEvent,
  options: BackfillOptions,
  deps: BackfillDeps,
  s: Summary,
  unfinished: boolean,
): Promise<Outcome> {
  const id = keyOf(entry, deps);
  const owner = `backfill-${randomUUID()}`;
  const seen = await deps.check.claim(id, owner, deps.signal);
  if (seen === 'duplicate' || (await deps.check.seenLegacy?.(bodyKeyGuess(entry), deps.signal))) {
    s.alreadyPublished++;
    return 'published';
  }
  if (seen === 'in_flight') {
    s.inFlight++;
    return 'unsettled';
  }
  if (UNSURE.has(entry)) {
    reportUnsure(entry, id, s);
    return 'published';
  }
  const prepared = envelopeOf(entry, deps);
  if (prepared instanceof Unpublishable) {
    if (options.dryRun) {
      s.unpublishable++;
      return 'published';
    }
    return park(entry, id, prepared, deps, s);
  }
  const missing = { eventId: entry.eventId, type: entry.eventType, createdAt: entry.createdAt, id };
  if (options.dryRun) {
    s.backfilled++;
    s.missing.push(missing);
    return 'missing';
  }
  const claimed = await deps.claim.claim(id, owner, deps.signal);
  if (claimed === 'duplicate' || claimed === 'in_flight') {
    if (claimed === 'duplicate') s.alreadyPublished++;
    else s.inFlight++;
    return claimed === 'duplicate' ? 'published' : 'unsettled';
  }
  // Over an unfinished claim (the batch saw it, the read did, or the claim replaced it): maybe a second copy.
  const overUnfinished = unfinished || seen === 'took_over' || claimed === 'took_over';
  return publishClaimed(entry, prepared, owner, overUnfinished, deps, s);
}

/** Publish under our claim, then record it; a publish that may have landed keeps the claim (the next run knows). */
async function publishClaimed(
  entry: HistoryEvent,
  { event, detail }: { event: RelayEvent; detail: string },
  owner: string,
  unfinished: boolean,
  deps: BackfillDeps,
  s: Summary,
): Promise<Outcome> {
  const id = keyOf(entry, deps);
  try {
    await deps.publisher.publish(event, deps.signal, detail);
  } catch (err) {
    if (err instanceof UnpublishableError) {
      await deps.claim.release(id, owner);
      return park(entry, id, new Unpublishable(err.reason as ParkReason, err.message, err.busCode), deps, s);
    }
    // A timeout or 5xx: PutEvents may have landed. The claim stays (its lock blocks a live copy for
    // a while); the next sweep finds it unfinished and publishes again with the same id, counted.
    s.failed++;
    // Over an unfinished claim, this attempt too may have put another copy on the bus: counted now
    // (the next run, which cannot tell, counts only its own attempt).
    if (unfinished) uncertainCopy(event, deps, s);
    return 'unsettled';
  }
  s.backfilled++;
  s.missing.push({ eventId: entry.eventId, type: entry.eventType, createdAt: entry.createdAt, id });
  if (unfinished) uncertainCopy(event, deps, s);
  deps.onBackfilled?.(event);
  const createdMs = Date.parse(entry.createdAt);
  if (Number.isFinite(createdMs))
    await deps.evidence?.record(deps.source ?? heygen.name, 'missed', createdMs, deps.signal).catch(() => undefined);
  // Published but not recorded: the claim stays unfinished; the next sweep publishes again (same id), counted.
  const recorded = await deps.claim.complete(id, owner, deps.signal).then(
    () => true,
    () => false,
  );
  return recorded ? 'missing' : 'unsettled';
}

/** A publish over an unfinished claim (landed or maybe landed): possibly a second copy, same id; counted. */
function uncertainCopy(event: RelayEvent, deps: BackfillDeps, s: Summary): void {
  s.uncertain++;
  deps.onUncertain?.(event);
}
