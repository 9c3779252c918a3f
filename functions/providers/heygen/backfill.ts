/**
 * Backfill (pure; ports injected): what HeyGen's event history says it delivered in a window that the
 * relay never published goes to the bus now, through the same pieces as a live delivery: the
 * provider's normalize (on a body rebuilt from the history entry, `event_data` byte for byte), the
 * shared event key (providers/heygen/event-key.ts), the dedup store, the event publisher. The
 * envelope is the one a live delivery would have produced, with the same `id` and `origin: "backfill"`.
 *
 * Exactly once against live deliveries: an entry is first looked up with a read (a `record`-mode
 * store: 1 read, nothing written), and only a miss is claimed with a conditional write (a `claim`-mode
 * store), published and marked complete. A live copy arriving meanwhile finds the claim (in flight,
 * 409, HeyGen retries) or the completed record (duplicate), in either ingress dedup mode. A failed
 * publish releases the claim. Deliveries recorded under the earlier body key are recognised too
 * (`seenLegacy`, for the compact JSON body HeyGen sends).
 *
 * Bounded: at most `maxPages` pages of 100 and `maxEvents` entries, and it stops `reserveMs` before the
 * deadline; the summary says `partial` when it stopped early. Entries younger than `settleMs` are left
 * to HeyGen's own retries. Under a lease of its own (`heygen-backfill:<secret ARN>`): two runs at once
 * never claim the same entries (the second finds the lease busy).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RelayEvent } from '../../core/envelope.js';
import type { EvidenceStore } from '../../core/evidence.js';
import { prepareEvent, Unpublishable } from '../../core/ingress.js';
import { LeaseBusyError, type LeaseStore, withLease } from '../../core/lease.js';
import type { DedupStore, EventPublisher } from '../../core/ports.js';
import type { EventHistoryPage, HistoryEvent } from './api/client.js';
import { heygen } from './index.js';

export const BACKFILL_DEFAULTS = {
  /** Pages of 100 entries per run. */
  maxPages: 20,
  /** Entries examined per run. */
  maxEvents: 2_000,
  /** Entries younger than this are still being retried by HeyGen (its first retries come within minutes). */
  settleMs: 10 * 60_000,
  /** Time kept back from the deadline. */
  reserveMs: 10_000,
} as const;

export interface BackfillDeps {
  readonly history: {
    listEvents(query: { limit?: number; token?: string }, options?: { signal?: AbortSignal }): Promise<EventHistoryPage>;
  };
  /** Read-only lookup (a `record`-mode store over the dedup table). */
  readonly check: DedupStore;
  /** Conditional claim (a `claim`-mode store over the same table). */
  readonly claim: DedupStore;
  readonly publisher: EventPublisher;
  readonly lease?: { readonly store: LeaseStore; readonly name: string; readonly owner?: string; readonly ttlMs?: number };
  /** Where the run records the creation time of each event it recovered (the registrar's evidence). */
  readonly evidence?: EvidenceStore;
  /** The relay source (HeyGen account) this run serves: envelope `source`, evidence key. @default 'heygen' */
  readonly source?: string;
  /** Called once per event published (metrics: `Backfilled` by type). */
  readonly onBackfilled?: (event: RelayEvent) => void;
  readonly now?: () => number;
  /** Milliseconds left for the run (e.g. Lambda's getRemainingTimeInMillis). */
  readonly deadline?: () => number;
  readonly signal?: AbortSignal;
}

export interface BackfillOptions {
  /** Window start (epoch ms): entries created before it are not looked at. */
  readonly sinceMs: number;
  readonly dryRun?: boolean;
  readonly maxPages?: number;
  readonly maxEvents?: number;
  readonly settleMs?: number;
  readonly reserveMs?: number;
  /**
   * Look up every entry (1) or every n-th plus the oldest; a sampled miss makes the run look up every
   * entry. The scheduled run samples (when the ingress recorded no trouble): it bounds the reads per
   * delivery, and an outage misses a run of consecutive events, which a sample finds. @default 1
   */
  readonly sampleEvery?: number;
}

export interface BackfillSummary {
  readonly outcome: 'done' | 'partial' | 'busy';
  readonly dryRun: boolean;
  readonly sinceMs: number;
  readonly pages: number;
  /** Entries in the window that were looked up. */
  readonly examined: number;
  /** Entries already on the bus (live delivery, or an earlier backfill). */
  readonly alreadyPublished: number;
  /** Published now (or, in a dry run, that would be). */
  readonly backfilled: number;
  /** Claimed by a live delivery right now: left to it. */
  readonly inFlight: number;
  /** Younger than the settle time: left to HeyGen's retries. */
  readonly tooRecent: number;
  /** Entries whose publish failed (released; the next run tries again). */
  readonly failed: number;
  /** Entries EventBridge could never take as they are (numbers a double cannot hold, too deep, too large): listed, not published. */
  readonly unpublishable: number;
  /** What was (or would be) published: event id, type, created_at and envelope id. */
  readonly missing: readonly { eventId: string; type: string; createdAt: string; id: string }[];
  /** Whether entries were sampled, and whether a sample was missing (then all were looked up). */
  readonly sampled: boolean;
  readonly sampleMissed: boolean;
  /** Every settled entry up to this moment (epoch ms) was handled (absent when the run stopped early). */
  readonly checkedThrough?: number;
}

/** sha256 of the compact JSON body (HeyGen's delivery format), the key deliveries had before content keys. */
function bodyKeyGuess(entry: HistoryEvent): string {
  return `heygen:${createHash('sha256').update(entry.body, 'utf8').digest('hex')}`;
}

export async function backfill(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillSummary> {
  if (options.dryRun || !deps.lease) return run(options, deps);
  const lease = deps.lease;
  try {
    return await withLease(
      lease.store,
      lease.name,
      {
        owner: lease.owner ?? `backfill-${randomUUID()}`,
        ttlMs: lease.ttlMs ?? 16 * 60_000,
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
      () => run(options, deps),
    );
  } catch (err) {
    if (!(err instanceof LeaseBusyError)) throw err;
    return { ...emptySummary(options), outcome: 'busy' };
  }
}

function emptySummary(options: BackfillOptions) {
  return {
    outcome: 'done' as BackfillSummary['outcome'],
    dryRun: options.dryRun === true,
    sinceMs: options.sinceMs,
    pages: 0,
    examined: 0,
    alreadyPublished: 0,
    backfilled: 0,
    inFlight: 0,
    tooRecent: 0,
    failed: 0,
    unpublishable: 0,
    missing: [] as { eventId: string; type: string; createdAt: string; id: string }[],
    sampled: false,
    sampleMissed: false,
    checkedThrough: undefined as number | undefined,
  };
}

async function run(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillSummary> {
  const now = deps.now ?? Date.now;
  const maxPages = options.maxPages ?? BACKFILL_DEFAULTS.maxPages;
  const maxEvents = options.maxEvents ?? BACKFILL_DEFAULTS.maxEvents;
  const settleMs = options.settleMs ?? BACKFILL_DEFAULTS.settleMs;
  const reserveMs = options.reserveMs ?? BACKFILL_DEFAULTS.reserveMs;
  const sampleEvery = Math.max(1, options.sampleEvery ?? 1);
  const outOfTime = () => deps.deadline !== undefined && deps.deadline() < reserveMs;
  const s = emptySummary(options);
  const startedAt = now();
  // 1. Page through the window (newest first), keeping the settled entries.
  const entries: HistoryEvent[] = [];
  let token: string | undefined;
  for (;;) {
    if (s.pages >= maxPages || entries.length >= maxEvents || outOfTime()) {
      s.outcome = 'partial';
      break;
    }
    const page = await deps.history.listEvents({ limit: 100, ...(token ? { token } : {}) }, { signal: deps.signal });
    s.pages++;
    let olderThanWindow = 0;
    for (const entry of page.events) {
      const created = Date.parse(entry.createdAt);
      if (!(created >= options.sinceMs)) olderThanWindow++;
      else if (created > startedAt - settleMs) s.tooRecent++;
      else if (entries.length < maxEvents) entries.push(entry);
      else s.outcome = 'partial';
    }
    // Newest first: a page wholly older than the window ends it. (Were HeyGen's order different, the
    // page bound still ends the run, and the summary says `partial`.)
    if (page.nextToken === null || (page.events.length > 0 && olderThanWindow === page.events.length)) break;
    token = page.nextToken;
  }
  // 2. Look them up: every one, or (sampling) every `sampleEvery`-th and the oldest; a sampled miss
  // means live delivery failed somewhere in the range, and then every entry is looked up.
  const sampled = sampleEvery === 1 ? entries : entries.filter((_, i) => i % sampleEvery === 0 || i === entries.length - 1);
  let sampleMissed = false;
  const done = new Set<HistoryEvent>();
  for (const entry of sampled) {
    if (outOfTime()) {
      s.outcome = 'partial';
      return s;
    }
    done.add(entry);
    if ((await one(entry, options, deps, s, now)) === 'missing') sampleMissed = true;
  }
  s.sampled = sampleEvery > 1;
  if (sampleEvery > 1 && sampleMissed) {
    s.sampleMissed = true;
    for (const entry of entries) {
      if (done.has(entry)) continue;
      if (outOfTime()) {
        s.outcome = 'partial';
        return s;
      }
      await one(entry, options, deps, s, now);
    }
  }
  s.checkedThrough = startedAt - settleMs;
  return s;
}

async function one(
  entry: HistoryEvent,
  options: BackfillOptions,
  deps: BackfillDeps,
  s: ReturnType<typeof emptySummary>,
  now: () => number,
): Promise<'published' | 'missing'> {
  const id = entry.eventKey;
  const owner = `backfill-${randomUUID()}`;
  const seen = await deps.check.claim(id, owner, deps.signal);
  if (seen === 'duplicate' || (await deps.check.seenLegacy?.(bodyKeyGuess(entry), deps.signal))) {
    s.alreadyPublished++;
    return 'published';
  }
  if (seen === 'in_flight') {
    s.inFlight++;
    return 'published';
  }
  // The history's event_id as the delivery id: whether it equals a delivery's Heygen-Event-Id is not documented.
  const delivery = { ...heygen.normalize(Buffer.from(entry.body, 'utf8'), {}), deliveryId: entry.eventId };
  // The ingress's own envelope builder: the same fidelity checks (numbers, keys, depth, size).
  const prepared = prepareEvent(heygen.name, Buffer.from(entry.body, 'utf8'), delivery, id, new Date(now()).toISOString(), {
    origin: 'backfill',
    ...(deps.source ? { source: deps.source } : {}),
  });
  if (prepared instanceof Unpublishable) {
    s.unpublishable++;
    return 'published'; // not a sign of failed live delivery: the ingress would have parked it too
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
    return 'published';
  }
  try {
    await deps.publisher.publish(event, deps.signal, detail);
  } catch {
    await deps.claim.release(id, owner);
    s.failed++;
    return 'missing';
  }
  // Published: a failure to mark it leaves the claim to expire (a later copy may then publish again).
  await deps.claim.complete(id, owner, deps.signal).catch(() => undefined);
  s.backfilled++;
  s.missing.push(missing);
  deps.onBackfilled?.(event);
  await deps.evidence
    ?.record(deps.source ?? heygen.name, 'missed', Date.parse(entry.createdAt), deps.signal)
    .catch(() => undefined);
  return 'missing';
}
