/**
 * Backfill (pure; ports injected): what HeyGen's event history says it delivered that the relay never
 * published goes to the bus now, through the same pieces as a live delivery: the provider's normalize
 * (on a body rebuilt from the history entry, `event_data` byte for byte), the shared event key
 * (providers/heygen/event-key.ts), the dedup store, the event publisher. The envelope is the one a
 * live delivery would have produced, with the same `id` and `origin: "backfill"`.
 *
 * Two kinds of run over an interval of creation times (`sinceMs`, `untilMs`]:
 * - a sweep (`sampleEvery` 1) walks the WHOLE listing: HeyGen's spec promises no order, so no page
 *   can end the walk early; every entry created in the interval is looked up once, whatever the
 *   order of the pages. A walk cut short (page bound, deadline) hands back a `cursor` (the page
 *   token and the interval) from which the next run goes on: nothing skipped, and an entry already
 *   handled is at most read again (it is then a duplicate), never published twice. A completed walk
 *   says `checkedThrough`: every entry created up to then was looked up (an entry left in flight or
 *   whose publish failed holds `checkedThrough` before it, so the next sweep looks at it again).
 *   With an `index` (a scan of the dedup table, eventually consistent) an entry whose key it lists
 *   as published needs no read of its own; every other entry goes through the consistent lookup.
 * - a freshness run (`sampleEvery` > 1) looks at the first `maxPages` pages only and every n-th
 *   entry of the interval there; a sampled miss makes it look up every entry of those pages and says
 *   `sampleMissed` (the plan then sweeps). Freshness only: correctness rests on the sweep.
 *
 * Exactly once against live deliveries: an entry is first looked up with a read (a `record`-mode
 * store: 1 read, nothing written), and only a miss is claimed with a conditional write (a `claim`-mode
 * store), published and marked complete. A live copy arriving meanwhile finds the claim (in flight,
 * 409, HeyGen retries) or the completed record (duplicate), in either ingress dedup mode. A failed
 * publish releases the claim. Deliveries recorded under the earlier body key are recognised too
 * (`seenLegacy`, for the compact JSON body HeyGen sends). An entry EventBridge can never take (a
 * number a double cannot hold, too deep, too large, refused by the bus) is parked like the ingress
 * parks a delivery (`parked/heygen/evt-<sha256>.json`, with its reason), never dropped.
 *
 * Identity: an event is its type and data (the event key). Entries of the interval with different
 * `event_id`s and the same type and data are one event, published once, and counted `sameContent`
 * (README, "Event identity"): HeyGen signs only the body, and whether `event_id` names an event or
 * one delivery attempt of it is not documented.
 *
 * Bounded: at most `maxPages` pages of 100 and `maxEvents` lookups per run, and it stops `reserveMs`
 * before the deadline (`partial`). Entries younger than `settleMs` are left to HeyGen's own retries
 * and to the next run. Under a lease of its own (`heygen-backfill:<secret ARN>`): two runs at once never
 * claim the same entries (the second finds the lease busy).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RelayEvent } from '../../core/envelope.js';
import { UnpublishableError } from '../../core/errors.js';
import { sourceEventKey } from '../../core/event-key.js';
import type { EvidenceStore } from '../../core/evidence.js';
import { prepareEvent, Unpublishable } from '../../core/ingress.js';
import { LeaseBusyError, type LeaseStore, withLease } from '../../core/lease.js';
import type { DedupStore, EventPublisher, ParkedStore, ParkReason } from '../../core/ports.js';
import type { EventHistoryPage, HistoryEvent } from './api/client.js';
import { HeyGenApiError } from './api/errors.js';
import { heygen } from './index.js';

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
} as const;

/**
 * A cheap, eventually consistent view of the dedup table: which keys it holds as published. Only a
 * filter: a key it does not list goes through the consistent lookup, so a stale view costs a read,
 * never an event.
 */
export interface DedupIndex {
  /** Every key recorded as published and not expired (e.g. one Scan of the table). */
  publishedKeys(signal?: AbortSignal): Promise<ReadonlySet<string>>;
  /** Which of `keys` are recorded as published (e.g. BatchGetItem, eventually consistent). */
  published(keys: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<string>>;
}

/** Where a cut-short sweep goes on from. */
export interface BackfillCursor {
  /** The `nextToken` of the last page handled whole. */
  readonly token: string;
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Creation time of the oldest entry left in flight or failed so far in this walk. */
  readonly unsettledFrom?: number;
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
  /** Where entries EventBridge can never take are kept (as the ingress keeps such deliveries). */
  readonly parked?: ParkedStore;
  readonly index?: DedupIndex;
  readonly lease?: { readonly store: LeaseStore; readonly name: string; readonly owner?: string; readonly ttlMs?: number };
  /** Where the run records the creation time of each event it recovered (the registrar's evidence). */
  readonly evidence?: EvidenceStore;
  /** The relay source (HeyGen account) this run serves: envelope `source`, evidence key. @default 'heygen' */
  readonly source?: string;
  /** Called once per event published (metrics: `Backfilled` by type). */
  readonly onBackfilled?: (event: RelayEvent) => void;
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
   * 1: a sweep (every entry of the interval, the whole listing). n > 1: a freshness run over the
   * first `maxPages` pages, every n-th entry and the oldest, all of them after a sampled miss. @default 1
   */
  readonly sampleEvery?: number;
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
  /** Claimed by a live delivery right now: left to it (and looked at again by the next sweep). */
  readonly inFlight: number;
  /** Created after the interval (younger than the settle time): left to HeyGen's retries and the next run. */
  readonly tooRecent: number;
  /** Entries whose publish (or parking) failed (released; the next sweep tries again). */
  readonly failed: number;
  /** Entries EventBridge could never take as they are (numbers a double cannot hold, too deep, too large, refused). */
  readonly unpublishable: number;
  /** Of those, parked (with their reason) now. */
  readonly parked: number;
  /** Entries whose type and data equal another entry's of this run (a different `event_id`): one event. */
  readonly sameContent: number;
  /** What was (or would be) published: event id, type, created_at and envelope id. */
  readonly missing: readonly { eventId: string; type: string; createdAt: string; id: string }[];
  /** Whether entries were sampled, and whether a sample was missing (then all were looked up). */
  readonly sampled: boolean;
  readonly sampleMissed: boolean;
  /** A sweep that walked the whole listing: every entry created up to this moment (epoch ms) was handled. */
  readonly checkedThrough?: number;
  /** A sweep cut short: where the next run goes on. */
  readonly cursor?: BackfillCursor;
  /** The cursor's page token was refused (400): the walk started again from the first page. */
  readonly restarted: boolean;
}

/** sha256 of the compact JSON body (HeyGen's delivery format), the key deliveries had before content keys. */
function bodyKeyGuess(entry: HistoryEvent): string {
  return `heygen:${createHash('sha256').update(entry.body, 'utf8').digest('hex')}`;
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
    inFlight: 0,
    tooRecent: 0,
    failed: 0,
    unpublishable: 0,
    parked: 0,
    sameContent: 0,
    missing: [] as { eventId: string; type: string; createdAt: string; id: string }[],
    sampled: false,
    sampleMissed: false,
    restarted: false,
    checkedThrough: undefined as number | undefined,
    cursor: undefined as BackfillCursor | undefined,
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

async function sweep(options: BackfillOptions, deps: BackfillDeps, s: Summary): Promise<BackfillSummary> {
  const now = deps.now ?? Date.now;
  const maxPages = options.maxPages ?? BACKFILL_DEFAULTS.maxPages;
  const maxEvents = options.maxEvents ?? BACKFILL_DEFAULTS.maxEvents;
  const reserveMs = options.reserveMs ?? BACKFILL_DEFAULTS.reserveMs;
  const outOfTime = () => deps.deadline !== undefined && deps.deadline() < reserveMs;
  let unsettledFrom = options.cursor?.unsettledFrom;
  const published = deps.index ? await scanPublished(deps.index, deps, reserveMs) : new Set<string>();
  /** Event keys handled in this run, with the event_id first seen for each. */
  const handled = new Map<string, string>();
  let token = options.cursor?.token;
  const cut = (at: string | undefined): BackfillSummary => {
    s.outcome = 'partial';
    // An empty token: from the first page again (the cut came before the first page was handled whole).
    s.cursor = {
      token: at ?? '',
      sinceMs: s.sinceMs,
      untilMs: s.untilMs,
      ...(unsettledFrom !== undefined ? { unsettledFrom } : {}),
    };
    return s;
  };
  for (;;) {
    if (s.pages >= maxPages || outOfTime()) return cut(token);
    let page: EventHistoryPage;
    try {
      page = await deps.history.listEvents({ limit: 100, ...(token ? { token } : {}) }, { signal: deps.signal });
    } catch (err) {
      // A stored page token HeyGen no longer takes (a 4xx other than auth/timeout/rate limit: which
      // one is undocumented): walk the same interval again from the first page (entries handled
      // before are then found published), rather than failing every run on the same cursor.
      if (s.pages === 0 && token && refusedToken(err)) {
        s.restarted = true;
        token = undefined;
        continue;
      }
      // Pages already handled in this run (e.g. a 429 whose Retry-After the client will not wait):
      // keep them; the next run goes on from this page, rather than redoing them and failing there.
      if (s.pages > 0) return cut(token);
      throw err;
    }
    s.pages++;
    for (const entry of page.events) {
      if (!inInterval(entry, s)) continue;
      const first = handled.get(entry.eventKey);
      if (first !== undefined) {
        if (first !== entry.eventId) s.sameContent++;
        continue;
      }
      s.examined++;
      if (published.has(sourceEventKey(deps.source ?? heygen.name, entry.eventKey))) {
        handled.set(entry.eventKey, entry.eventId);
        s.alreadyPublished++;
        continue;
      }
      // Out of lookups or time in the middle of a page: the next run reads this page again (its
      // entries handled so far are then duplicates).
      if (s.lookedUp >= maxEvents || outOfTime()) {
        s.examined--;
        return cut(token);
      }
      handled.set(entry.eventKey, entry.eventId);
      s.lookedUp++;
      if ((await one(entry, options, deps, s, now)) === 'unsettled') {
        // Undated: hold the checkpoint just short of the interval's end, so the next run sweeps again.
        const created = Number.isNaN(Date.parse(entry.createdAt)) ? s.untilMs : Date.parse(entry.createdAt);
        unsettledFrom = Math.min(unsettledFrom ?? created, created);
      }
    }
    if (page.nextToken === null) break;
    token = page.nextToken;
  }
  s.checkedThrough = unsettledFrom === undefined ? s.untilMs : Math.min(s.untilMs, unsettledFrom - 1);
  return s;
}

/** A page token refused: a 4xx HeyGen answers to the request itself, not auth (401/403), 408 or 429. */
function refusedToken(err: unknown): boolean {
  return err instanceof HeyGenApiError && err.status >= 400 && err.status < 500 && ![401, 403, 408, 429].includes(err.status);
}

/**
 * The index's published keys, or none: it is only a filter (a key it misses takes a consistent read),
 * so a Scan that fails, or outlasts half the run's time, must not fail the sweep or eat its time.
 */
async function scanPublished(index: DedupIndex, deps: BackfillDeps, reserveMs: number): Promise<ReadonlySet<string>> {
  const signals = deps.signal ? [deps.signal] : [];
  if (deps.deadline) signals.push(AbortSignal.timeout(Math.max(1, Math.floor((deps.deadline() - reserveMs) / 2))));
  try {
    return await index.publishedKeys(signals.length > 0 ? AbortSignal.any(signals) : undefined);
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    return new Set<string>();
  }
}

async function fresh(options: BackfillOptions, deps: BackfillDeps, s: Summary, sampleEvery: number): Promise<BackfillSummary> {
  const now = deps.now ?? Date.now;
  const maxPages = options.maxPages ?? 2;
  s.sampled = true;
  const entries: HistoryEvent[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  while (s.pages < maxPages) {
    const page = await deps.history.listEvents({ limit: 100, ...(token ? { token } : {}) }, { signal: deps.signal });
    s.pages++;
    for (const entry of page.events) {
      if (!inInterval(entry, s)) continue;
      if (seen.has(entry.eventKey)) {
        s.sameContent++;
        continue;
      }
      seen.add(entry.eventKey);
      entries.push(entry);
    }
    if (page.nextToken === null) break;
    token = page.nextToken;
  }
  const picks = entries.filter((_, i) => i % sampleEvery === 0 || i === entries.length - 1);
  const known = deps.index
    ? await deps.index.published(
        picks.map((e) => sourceEventKey(deps.source ?? heygen.name, e.eventKey)),
        deps.signal,
      )
    : new Set<string>();
  const done = new Set<HistoryEvent>();
  for (const entry of picks) {
    done.add(entry);
    s.examined++;
    if (known.has(sourceEventKey(deps.source ?? heygen.name, entry.eventKey))) {
      s.alreadyPublished++;
      continue;
    }
    s.lookedUp++;
    if ((await one(entry, options, deps, s, now)) === 'missing') s.sampleMissed = true;
  }
  if (s.sampleMissed)
    for (const entry of entries) {
      if (done.has(entry)) continue;
      s.examined++;
      s.lookedUp++;
      await one(entry, options, deps, s, now);
    }
  return s;
}

async function park(entry: HistoryEvent, id: string, why: Unpublishable, deps: BackfillDeps, s: Summary, now: () => number) {
  s.unpublishable++;
  if (!deps.parked) return 'published' as const; // nowhere to keep it (the CLI's dry run lists it)
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

async function one(
  entry: HistoryEvent,
  options: BackfillOptions,
  deps: BackfillDeps,
  s: Summary,
  now: () => number,
): Promise<Outcome> {
  const id = sourceEventKey(deps.source ?? heygen.name, entry.eventKey);
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
  // The history's event_id as the delivery id: whether it equals a delivery's Heygen-Event-Id is not documented.
  const delivery = { ...heygen.normalize(Buffer.from(entry.body, 'utf8'), {}), deliveryId: entry.eventId };
  // The ingress's own envelope builder: the same fidelity checks (numbers, keys, depth, size).
  const prepared = prepareEvent(heygen.name, Buffer.from(entry.body, 'utf8'), delivery, id, new Date(now()).toISOString(), {
    origin: 'backfill',
    ...(deps.source ? { source: deps.source } : {}),
  });
  if (prepared instanceof Unpublishable) {
    if (options.dryRun) {
      s.unpublishable++;
      return 'published';
    }
    return park(entry, id, prepared, deps, s, now);
  }
  const { event, detail } = prepared;
  const missing = { eventId: entry.eventId, type: entry.eventType, createdAt: entry.createdAt, id };
  if (options.dryRun) {
    s.backfilled++;
    s.missing.push(missing);
    return 'missing';
  }
  const claimed = await deps.claim.claim(id, owner, deps.signal);
  if (claimed === 'duplicate') {
    s.alreadyPublished++;
    return 'published';
  }
  if (claimed === 'in_flight') {
    s.inFlight++;
    return 'unsettled';
  }
  try {
    await deps.publisher.publish(event, deps.signal, detail);
  } catch (err) {
    await deps.claim.release(id, owner);
    if (err instanceof UnpublishableError)
      return park(entry, id, new Unpublishable(err.reason as ParkReason, err.message, err.busCode), deps, s, now);
    s.failed++;
    return 'unsettled';
  }
  // Published: a failure to mark it leaves the claim to expire (a later copy may then publish again).
  await deps.claim.complete(id, owner, deps.signal).catch(() => undefined);
  s.backfilled++;
  s.missing.push(missing);
  deps.onBackfilled?.(event);
  const createdMs = Date.parse(entry.createdAt);
  if (Number.isFinite(createdMs))
    await deps.evidence?.record(deps.source ?? heygen.name, 'missed', createdMs, deps.signal).catch(() => undefined);
  return 'missing';
}
