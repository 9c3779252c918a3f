/**
 * What the scheduled backfill does this run, from its checkpoint and the delivery evidence (pure).
 *
 * Correctness rests on the sweep: every entry of ours in HeyGen's history is looked up once, when it
 * is created in the interval (`checkedThrough`, now − settle] of a sweep. A sweep walks the listing
 * to its end (HeyGen's spec promises no order) unless the last walk to the end, less than
 * `FULL_WALK_EVERY_MS` ago, found the whole listing in order: then it stops once past the last walk's
 * first entry (providers/heygen/backfill.ts `StopEarly`), and what it reads grows with the entries
 * listed since. Anything out of order sends it to the end again. One cut short goes on from its
 * cursor in the next run. It runs
 * - on the first run (the dedup window from the stack's origin on, `firstRunOrigin`: nothing before
 *   it was addressed to us; entries of ours before the window, after the origin, are reported
 *   `uncovered` as below; the origin is kept, `originMs`, and no later run looks before it),
 * - when a walk is under way (its cursor),
 * - when the ingress answered a delivery 5xx after `checkedThrough` (our fault: HeyGen's delivery may
 *   have failed for good), the last freshness run found a sampled miss, or the last sweep left an
 *   entry in flight or failed. A refused signature is NOT a reason: anyone can send one, and a
 *   stranger must not decide what the backfill reads; a genuine delivery refused (a wrong secret)
 *   shows in the freshness samples and the daily sweep,
 * - after a checkpoint older than the dedup window (an outage of the backfill): what lies between
 *   cannot be covered (records gone) and is reported as `uncovered`, kept until a person acknowledges
 *   it (`heygen-relay backfill --acknowledge-gap`; metric `BackfillGap`, alarmed),
 * - and otherwise once every `SWEEP_EVERY_MS` (24 h): an isolated event HeyGen gave up on with no
 *   trouble recorded anywhere is found within 24 h + the settle time, inside the 48 h window.
 * The other runs are freshness runs: the first pages, 1 entry in `SAMPLE_EVERY` of those created since
 * the last run, eventually consistent; a miss turns the next run into a sweep (the handler sweeps at once).
 * Entries older than the dedup window (less a margin) are not looked up: their records may be gone.
 */
import type { DeliveryEvidence, EvidenceStore } from '../../../functions/core/evidence.js';
import {
  BACKFILL_DEFAULTS,
  type BackfillCursor,
  type BackfillDeps,
  type BackfillSummary,
  backfill,
  type ListingHead,
  originFloor,
  type StopEarly,
  UNSURE_KEYS_KEPT,
  type UncoveredPeriod,
  underBackfillLease,
} from './backfill.js';
import { type ListingWatch, nextWatch } from './history-proof.js';
import type { SightingInbox } from './sightings.js';
import { mergeSighting, recordSighting, type SubscriptionLog, sameSet, spanCreatedAt } from './subscription-log.js';

export const SAMPLE_EVERY = 10;
export const SWEEP_EVERY_MS = 24 * 3_600_000;
export const SETTLE_MS = 10 * 60_000;
/**
 * A sweep that walks to the end also walks this far back before `checkedThrough`: an entry HeyGen
 * lists late (its `created_at` older than the moment it appears in the listing; undocumented either
 * way) is still looked at. A sweep that may stop early finds those as the entries listed above the
 * last walk's first entry instead, and takes this as how far the listing's order may be out of step.
 */
export const SWEEP_OVERLAP_MS = BACKFILL_DEFAULTS.lateMs;
/** How long a walk to the end that found the listing in order lets later sweeps stop early. */
export const FULL_WALK_EVERY_MS = 7 * 24 * 3_600_000;
/** Kept from the dedup window's far end: a record written at an entry's creation expires one window later. */
const WINDOW_MARGIN_MS = 15 * 60_000;

/** The scheduled backfill's checkpoint (state table item `backfill#<provider>`). */
export interface BackfillState {
  /** Every history entry created up to this moment (epoch ms) was looked up by a sweep. */
  readonly checkedThrough: number | null;
  /** When the last sweep completed. */
  readonly lastSweepAt: number | null;
  /** A sweep under way. */
  readonly cursor: BackfillCursor | null;
  /** The freshness runs have sampled the entries created up to here. */
  readonly freshThrough: number | null;
  /** The last freshness run found a sampled entry missing. */
  readonly sampleMissedAt: number | null;
  /** The last sweep left entries in flight or failed (held `checkedThrough` before them): sweep again. */
  readonly unsettled?: boolean;
  /** When a walk to the end last found the whole listing in order (null: never, or disorder seen since). */
  readonly orderCheckedAt?: number | null;
  /**
   * A sweep found the listing out of order while sweeps were allowed to stop early (since `sinceMs`, the
   * last walk in order): the next sweep looks at the whole window again and reports what lies before it.
   */
  readonly orderBroken?: { readonly sinceMs: number } | null;
  /** The first entry of the last completed walk. */
  readonly head?: ListingHead | null;
  /** The longest HeyGen was seen to keep entries (a walk to the end: its time less the oldest entry listed). */
  readonly historyKeptMs?: number | null;
  /** Periods the backfill could not cover, kept until a person acknowledges them. */
  readonly uncovered?: readonly UncoveredPeriod[];
  /** What runs reading HeyGen's listing to its end saw since the last sweep (history-proof.ts). */
  readonly watch?: ListingWatch | null;
  /** The last run that found no HeyGen API key (`firstRunOrigin`): the registrar registers nothing without one. */
  readonly keyMissingAt?: number | null;
  /** Our endpoint's subscription over time, on the runs' clock (subscription-log.ts). */
  readonly subscriptions?: SubscriptionLog;
  /**
   * The stack's origin (`firstRunOrigin`), fixed by its first run and kept: nothing created before it
   * was addressed to us, so every run (and the CLI) counts an entry created before it (less
   * `LOG_SKEW_MS`, backfill.ts `originFloor`) `foreign` (`addressedAfterMs`). Absent or null:
   * unknown (a checkpoint from before it: no floor).
   */
  readonly originMs?: number | null;
  /**
   * Envelope ids of unsure entries in periods a person acknowledged (the last `UNSURE_KEYS_KEPT`): a run
   * that finds one unpublished again does not report it again (`mergeUncovered`).
   */
  readonly acknowledged?: readonly string[];
}

export const NO_BACKFILL_STATE: BackfillState = {
  checkedThrough: null,
  lastSweepAt: null,
  cursor: null,
  freshThrough: null,
  sampleMissedAt: null,
};

export type BackfillPlan =
  | {
      readonly kind: 'sweep';
      readonly reason: 'first_run' | 'resume' | 'gap' | 'order_changed' | 'trouble' | 'sample_missed' | 'unsettled' | 'routine';
      readonly sinceMs: number;
      readonly untilMs: number;
      readonly cursor?: BackfillCursor;
      /** The checkpoint, older than the dedup window: entries of ours in (gapFromMs, sinceMs] cannot be covered. */
      readonly gapFromMs?: number;
      readonly gapReason?: 'dedup_window' | 'order';
      /** The listing was seen in order: the walk may end once past what it needs. */
      readonly stopEarly?: StopEarly;
    }
  | {
      readonly kind: 'fresh';
      readonly reason: 'fresh';
      readonly sinceMs: number;
      readonly untilMs: number;
      readonly sampleEvery: number;
    };

/**
 * `endpointCreatedMs`: the first run's origin (`firstRunOrigin`: the stack's birth or our endpoint's
 * creation, the earlier). A first run whose window starts after it reports what lies between as not
 * covered, as after an outage: events may have been addressed to us there while no backfill had run
 * yet (deployed, then the backfill failing for longer than the window). A first run whose origin is
 * inside the window starts there: an entry from before it was a neighbour's (later runs are held
 * to it by the checkpoint's `originMs`). What lies between the origin and the window's near end is
 * judged as before: unsure entries reported, a history the listing no longer reaches reported from
 * the origin (backfill.ts `firstRunNeed`).
 */
export function backfillPlan(
  now: number,
  windowMs: number,
  state: BackfillState,
  evidence: DeliveryEvidence,
  endpointCreatedMs?: number | null,
): BackfillPlan {
  const oldest = now - windowMs + WINDOW_MARGIN_MS;
  const untilMs = now - SETTLE_MS;
  if (state.cursor) {
    const c = state.cursor;
    const sinceMs = Math.max(c.sinceMs, oldest);
    // The walk went on for longer than the window: its older part can no longer be covered.
    const gapFromMs = c.gapFromMs ?? (c.sinceMs < oldest ? c.sinceMs : undefined);
    const cursor = { ...c, sinceMs, ...(gapFromMs !== undefined ? { gapFromMs } : {}) };
    return { kind: 'sweep', reason: 'resume', sinceMs, untilMs: c.untilMs, cursor };
  }
  if (state.checkedThrough === null)
    return {
      kind: 'sweep',
      reason: 'first_run',
      // Nothing before the origin was addressed to us: an entry of our types from then is a neighbour's.
      sinceMs: endpointCreatedMs != null ? Math.max(oldest, originFloor(endpointCreatedMs)) : oldest,
      untilMs,
      ...(endpointCreatedMs != null && endpointCreatedMs < oldest ? { gapFromMs: endpointCreatedMs } : {}),
    };
  if (state.checkedThrough < oldest)
    return { kind: 'sweep', reason: 'gap', sinceMs: oldest, untilMs, gapFromMs: state.checkedThrough };
  // Sweeps that stopped early may have passed entries over: the whole window again, what lies before it reported.
  if (state.orderBroken) {
    const from = state.orderBroken.sinceMs;
    return {
      kind: 'sweep',
      reason: 'order_changed',
      sinceMs: oldest,
      untilMs,
      ...(from < oldest ? { gapFromMs: from, gapReason: 'order' as const } : {}),
    };
  }
  const reason = sweepReason(now, state, evidence);
  if (reason) return { kind: 'sweep', reason, untilMs, ...sweepStart(now, oldest, state) };
  return {
    kind: 'fresh',
    reason: 'fresh',
    sinceMs: Math.max(state.checkedThrough, oldest, state.freshThrough ?? oldest),
    untilMs,
    sampleEvery: SAMPLE_EVERY,
  };
}

/** Why this run sweeps (null: a freshness run does). Only our own failures (5xx), never a refusal. */
function sweepReason(
  now: number,
  state: BackfillState,
  evidence: DeliveryEvidence,
): 'trouble' | 'unsettled' | 'sample_missed' | 'routine' | null {
  const checked = state.checkedThrough ?? Number.NEGATIVE_INFINITY;
  // Older evidence items have no lastFailureAt: a trouble stamp that is not a refusal's was a 5xx.
  const failureAt =
    evidence.lastFailureAt ??
    (evidence.lastTroubleAt !== null && evidence.lastTroubleAt !== evidence.lastSignatureRejectionAt
      ? evidence.lastTroubleAt
      : null);
  if ((failureAt ?? Number.NEGATIVE_INFINITY) > checked) return 'trouble';
  if (state.unsettled) return 'unsettled';
  if (state.sampleMissedAt !== null && state.sampleMissedAt > (state.lastSweepAt ?? Number.NEGATIVE_INFINITY))
    return 'sample_missed';
  if (now - (state.lastSweepAt ?? Number.NEGATIVE_INFINITY) >= SWEEP_EVERY_MS - SETTLE_MS) return 'routine';
  return null;
}

/**
 * Where a sweep starts, and whether it may stop early: only when a walk to the end found the listing
 * in order less than `FULL_WALK_EVERY_MS` ago and the last walk's first entry is known.
 */
function sweepStart(now: number, oldest: number, state: BackfillState): { sinceMs: number; stopEarly?: StopEarly } {
  const checked = state.checkedThrough ?? oldest;
  const verified = state.orderCheckedAt != null && now - state.orderCheckedAt < FULL_WALK_EVERY_MS && state.head != null;
  if (!verified) return { sinceMs: Math.max(checked - SWEEP_OVERLAP_MS, oldest) };
  return {
    sinceMs: Math.max(checked, oldest),
    stopEarly: { head: state.head ?? null, lateMs: SWEEP_OVERLAP_MS, floorMs: oldest },
  };
}

/** The checkpoint after a run of `plan` (a busy run changes nothing). */
export function nextState(state: BackfillState, plan: BackfillPlan, summary: BackfillSummary, now: number): BackfillState {
  if (summary.outcome === 'busy') return state;
  if (plan.kind === 'fresh')
    return {
      ...state,
      freshThrough: Math.max(state.freshThrough ?? Number.NEGATIVE_INFINITY, summary.untilMs),
      sampleMissedAt: summary.sampleMissed ? now : state.sampleMissedAt,
      historyKeptMs: keptAfter(state, summary, now),
      watch: nextWatch(state.watch, { kind: 'fresh', reachedEnd: summary.reachedEnd, oldestAfterMs: summary.oldestAfterMs }, now),
      // Its reports of unsure entries stand as a sweep's do (alarm BackfillGap reads the checkpoint).
      uncovered: keptUnsure(state, summary),
    };
  // A walk cut short: its reports of unsure entries stand (the pages it handled are not read again).
  if (summary.checkedThrough === undefined)
    return { ...state, cursor: summary.cursor ?? null, uncovered: keptUnsure(state, summary) };
  return {
    ...state,
    checkedThrough: Math.max(state.checkedThrough ?? Number.NEGATIVE_INFINITY, summary.checkedThrough),
    lastSweepAt: now,
    cursor: null,
    unsettled: summary.checkedThrough < summary.untilMs,
    // A walk to the end in order vouches for the order; disorder anywhere withdraws it.
    orderCheckedAt: !summary.ordered ? null : summary.reachedEnd ? now : (state.orderCheckedAt ?? null),
    orderBroken:
      plan.reason === 'order_changed'
        ? null
        : !summary.ordered && state.orderCheckedAt != null
          ? { sinceMs: state.orderCheckedAt }
          : (state.orderBroken ?? null),
    head: summary.head ?? state.head ?? null,
    historyKeptMs: keptAfter(state, summary, now),
    watch: nextWatch(state.watch, { kind: 'sweep', reachedEnd: summary.reachedEnd, oldestAfterMs: summary.oldestAfterMs }, now),
    uncovered: mergeUncovered(state.uncovered, summary.uncovered, state.acknowledged),
  };
}

/** The kept periods plus a run's `subscription` reports (a freshness run, a walk cut short: nothing else of theirs stands). */
function keptUnsure(state: BackfillState, summary: BackfillSummary): UncoveredPeriod[] {
  const unsure = summary.uncovered.filter((p) => p.reason === 'subscription');
  return mergeUncovered(state.uncovered, unsure, state.acknowledged);
}

/**
 * The periods not covered after a run reported `fresh` ones: a `subscription` period counts only the
 * entries no kept period names already (an unsure entry stays unpublished, so every run that looks at
 * it again, a sweep's overlap, a page read again after a cut, the CLI, reports it again); one left
 * with none is dropped; so is an entry a person acknowledged (`acknowledged`). Entries counted beyond
 * the names kept (`UNSURE_KEYS_KEPT`) are counted again.
 */
export function mergeUncovered(
  kept: readonly UncoveredPeriod[] | undefined,
  fresh: readonly UncoveredPeriod[],
  acknowledged: readonly string[] = [],
): UncoveredPeriod[] {
  const out = [...(kept ?? [])];
  const named = new Set([...acknowledged, ...out.flatMap((p) => (p.reason === 'subscription' ? (p.keys ?? []) : []))]);
  for (const p of fresh) {
    if (p.reason !== 'subscription' || !p.keys) {
      out.push(p);
      continue;
    }
    const keys = p.keys.filter((k) => !named.has(k));
    const entries = keys.length + Math.max(0, (p.entries ?? 0) - p.keys.length);
    if (entries === 0) continue;
    for (const k of keys) named.add(k);
    out.push({ ...p, keys, entries });
  }
  return out;
}

/** The longest HeyGen was seen to keep an entry, after a run that read its listing to the end. */
function keptAfter(state: BackfillState, summary: BackfillSummary, now: number): number | null {
  if (!summary.reachedEnd || summary.historyFromMs === undefined) return state.historyKeptMs ?? null;
  return Math.max(state.historyKeptMs ?? 0, now - summary.historyFromMs);
}

/** The checkpoint once a person acknowledged its periods: none kept, the unsure entries' names remembered. */
export function acknowledgeUncovered(state: BackfillState): BackfillState {
  const keys = (state.uncovered ?? []).flatMap((p) => (p.reason === 'subscription' ? (p.keys ?? []) : []));
  return { ...state, uncovered: [], acknowledged: [...(state.acknowledged ?? []), ...keys].slice(-UNSURE_KEYS_KEPT) };
}

/** The periods not covered, in total: entries known (null periods count 0) and hours. */
export function uncoveredTotals(state: BackfillState): { periods: number; entries: number; hours: number } {
  const periods = state.uncovered ?? [];
  return {
    periods: periods.length,
    entries: periods.reduce((n, p) => n + (p.entries ?? 0), 0),
    hours: Math.round(periods.reduce((h, p) => h + (p.untilMs - p.fromMs) / 3_600_000, 0) * 100) / 100,
  };
}

/** Where the scheduled backfill keeps its `BackfillState`. */
export interface BackfillCheckpoint {
  read(signal?: AbortSignal): Promise<BackfillState>;
  write(state: BackfillState, signal?: AbortSignal): Promise<void>;
  /** Records that a run found no API key at `at` (`keyMissingAt`, moved forward only; outside the lease). */
  noteKeyMissing?(at: number, signal?: AbortSignal): Promise<void>;
}

export class MemoryBackfillCheckpoint implements BackfillCheckpoint {
  state: BackfillState = NO_BACKFILL_STATE;
  async read(): Promise<BackfillState> {
    return this.state;
  }
  async write(state: BackfillState): Promise<void> {
    this.state = state;
  }
  async noteKeyMissing(at: number): Promise<void> {
    if ((this.state.keyMissingAt ?? Number.NEGATIVE_INFINITY) < at) this.state = { ...this.state, keyMissingAt: at };
  }
}

/**
 * Where a first run starts judging: nothing was addressed to us before it (null: unknown). The earlier
 * of the stack's birth (`bornAtMs`, its signing secret's CreatedDate: every endpoint the registrar
 * registers comes after it, and the endpoint it registered first may be gone from HeyGen's list by the
 * first run, deleted or its URL edited away) and the oldest endpoint HeyGen lists at our URL (one made
 * by hand before the stack, or a stack whose secret was replaced). The birth moves on to the last run
 * that found no API key (`keyMissingAt`): without one the registrar registers nothing, so a stack
 * deployed days before its key was put is judged from the key, not the deploy (a young account stays
 * quiet). Sound unless a key was put, an endpoint registered and deleted, and the key removed and put
 * again, all before the backfill's first run.
 */
export function firstRunOrigin(
  bornAtMs: number | null | undefined,
  keyMissingAt: number | null | undefined,
  endpointCreatedMs: number | null | undefined,
): number | null {
  const born = bornAtMs == null ? null : Math.max(bornAtMs, keyMissingAt ?? bornAtMs);
  const known = [born, endpointCreatedMs].filter((x): x is number => x != null);
  return known.length > 0 ? Math.min(...known) : null;
}

/** Per-run bounds of a sweep (BACKFILL_DEFAULTS otherwise). */
export interface SweepBounds {
  readonly maxPages?: number;
  readonly maxEvents?: number;
}

function runPlan(
  plan: BackfillPlan,
  state: BackfillState,
  deps: BackfillDeps,
  bounds: SweepBounds = {},
): Promise<BackfillSummary> {
  const judged = {
    ...(state.subscriptions ? { subscriptions: state.subscriptions } : {}),
    ...(state.originMs != null ? { addressedAfterMs: state.originMs } : {}),
  };
  if (plan.kind === 'fresh')
    return backfill(
      {
        sinceMs: plan.sinceMs,
        untilMs: plan.untilMs,
        sampleEvery: plan.sampleEvery,
        watchFromMs: state.checkedThrough,
        ...judged,
      },
      deps,
    );
  return backfill(
    {
      sinceMs: plan.sinceMs,
      untilMs: plan.untilMs,
      ...(plan.cursor ? { cursor: plan.cursor } : {}),
      ...(plan.gapFromMs !== undefined ? { gapFromMs: plan.gapFromMs } : {}),
      ...(plan.gapReason ? { gapReason: plan.gapReason } : {}),
      ...(plan.stopEarly ? { stopEarly: plan.stopEarly } : {}),
      historyKeptMs: state.historyKeptMs ?? null,
      historyNeedMs: state.checkedThrough,
      watch: state.watch ?? null,
      originMs: state.originMs ?? firstRunOrigin(deps.bornAtMs, state.keyMissingAt, deps.endpoint?.createdAtMs),
      ...judged,
      ...bounds,
    },
    deps,
  );
}

/**
 * The origin a first run fixes (`firstRunOrigin`), kept in the checkpoint from then on: the birth is
 * read only before a first run completed, and a `keyMissingAt` noted later must not move it.
 */
function originOf(state: BackfillState, deps: Pick<BackfillDeps, 'bornAtMs' | 'endpoint'>): { originMs?: number } {
  if (state.originMs != null || state.checkedThrough !== null) return {};
  const origin = firstRunOrigin(deps.bornAtMs, state.keyMissingAt, deps.endpoint?.createdAtMs);
  return origin === null ? {} : { originMs: origin };
}

/**
 * The subscription log once this run saw our endpoint's types (unchanged when it could not ask HeyGen;
 * an empty set when HeyGen lists no endpoint at our URL). A run without a log (the first, or the first
 * after an upgrade) starts it at the dedup window's far end when HeyGen lists the configured types
 * (what the registrar registers: no change seen), or at our oldest endpoint's `created_at` when that is
 * later (HeyGen's clock, as the entries': nothing before it was sent to that endpoint, so an entry of
 * ours from then is `unsure`, reported: only an endpoint deleted since could have had it; test
 * first-log-starts-at-our-endpoint); otherwise at this run (subscription-log.ts). Then the sightings the
 * registrar `told` (sightings.ts: before and after it changed our endpoint), each at its own time: a URL
 * edited away and patched back splits the span two backfill runs would see as one (test
 * url-edited-away-and-back).
 */
function subscriptionsAfter(
  state: BackfillState,
  endpoint: BackfillDeps['endpoint'],
  now: number,
  windowMs: number,
  told: readonly Told[] = [],
): { subscriptions?: SubscriptionLog } {
  const keepFromMs = now - windowMs;
  const own = endpoint ? ownSighting(state, endpoint, now, keepFromMs) : state.subscriptions;
  // The registrar's sightings (sightings.ts), in any order: after this run's own, which may be later.
  const subscriptions = told.reduce<SubscriptionLog | undefined>((log, s) => mergeSighting(log, s.sighting, keepFromMs), own);
  return subscriptions ? { subscriptions } : {};
}

/** A sighting the registrar left in the inbox, as read (`raw`: what `drop` removes once merged). */
type Told = Awaited<ReturnType<SightingInbox['read']>>[number];

/** The log after this run's own sighting of our endpoint (see `subscriptionsAfter`). */
function ownSighting(
  state: BackfillState,
  endpoint: NonNullable<BackfillDeps['endpoint']>,
  now: number,
  keepFromMs: number,
): SubscriptionLog | undefined {
  // The set is known to have held when the list was asked, not when this run started (later).
  const seen = Math.min(endpoint.seenAtMs ?? now, now);
  const start =
    !state.subscriptions?.length &&
    endpoint.found === true &&
    endpoint.configured !== undefined &&
    sameSet(endpoint.configured, endpoint.events)
      ? [
          {
            fromMs: Math.max(keepFromMs, Math.min(endpoint.createdAtMs ?? keepFromMs, seen)),
            seenMs: seen,
            events: endpoint.events,
            ...spanCreatedAt(endpoint),
          },
        ]
      : state.subscriptions;
  return recordSighting(start, endpoint, seen, keepFromMs);
}

/**
 * One scheduled run (the Lambda's work, providers/heygen/runtime/entries/backfill.ts): under the backfill's lease, read the
 * checkpoint and the evidence, plan, run, write the checkpoint; a freshness run whose sample missed
 * is followed by a sweep at once. A second run while one holds the lease is `busy` and changes nothing.
 */
export async function scheduledBackfill(input: {
  readonly windowMs: number;
  readonly checkpoint: BackfillCheckpoint;
  readonly evidence: EvidenceStore;
  readonly deps: BackfillDeps;
  readonly bounds?: SweepBounds;
  readonly now?: () => number;
  /** The registrar's sightings of our endpoint (sightings.ts): merged into the log, dropped once written. */
  readonly sightings?: Pick<SightingInbox, 'read' | 'drop'>;
}): Promise<{
  plan: BackfillPlan | null;
  summary: BackfillSummary | null;
  outcome: 'done' | 'partial' | 'busy';
  /** The checkpoint after the run (null when busy). */
  state: BackfillState | null;
}> {
  const now = input.now ?? input.deps.now ?? Date.now;
  const { lease, ...deps } = input.deps;
  const work = async () => {
    const t = now();
    let state = await input.checkpoint.read(deps.signal);
    // Read after our endpoint's list (deps.endpoint): a change the registrar made since was told first.
    const told = input.sightings ? await input.sightings.read(deps.signal) : [];
    state = { ...state, ...originOf(state, deps), ...subscriptionsAfter(state, deps.endpoint, t, input.windowMs, told) };
    const created = state.originMs ?? null;
    let plan = backfillPlan(t, input.windowMs, state, await input.evidence.read(deps.source ?? 'heygen', deps.signal), created);
    let summary = await runPlan(plan, state, deps, input.bounds);
    state = nextState(state, plan, summary, t);
    await input.checkpoint.write(state, deps.signal);
    await dropTold(input.sightings, told, deps.signal);
    if (plan.kind === 'fresh' && summary.sampleMissed) {
      const fresh = summary;
      plan = backfillPlan(t, input.windowMs, state, await input.evidence.read(deps.source ?? 'heygen', deps.signal), created);
      summary = withFreshPass(fresh, await runPlan(plan, state, deps, input.bounds));
      state = nextState(state, plan, summary, t);
      await input.checkpoint.write(state, deps.signal);
    }
    return { plan, summary, outcome: summary.outcome, state };
  };
  if (!lease) return work();
  return underBackfillLease<Awaited<ReturnType<typeof scheduledBackfill>>>(lease, deps.signal, work, () => ({
    plan: null,
    summary: null,
    outcome: 'busy' as const,
    state: null,
  }));
}

/**
 * The registrar's sightings merged into a checkpoint now written leave the inbox. Best effort: one left
 * there is merged again by the next run, which changes nothing (subscription-log.ts `mergeSighting`).
 */
async function dropTold(
  inbox: Pick<SightingInbox, 'drop'> | undefined,
  told: readonly Told[],
  signal?: AbortSignal,
): Promise<void> {
  if (!inbox || told.length === 0) return;
  try {
    await inbox.drop(
      told.map((x) => x.raw),
      signal,
    );
  } catch {
    // Kept: merged again (idempotent) and dropped by a later run.
  }
}

/**
 * A run whose freshness pass found its sample missing publishes every missing entry of its interval and
 * then sweeps; the sweep finds those published. The run's summary is the sweep's with what the freshness
 * pass published, parked or may have copied added, so `BackfilledEvents` (alarm HeyGenBackfilled: live
 * delivery failed) and the `missing` list count them (review3-fresh-backfilled-uncounted).
 */
function withFreshPass(fresh: BackfillSummary, sweep: BackfillSummary): BackfillSummary {
  return {
    ...sweep,
    pages: fresh.pages + sweep.pages,
    backfilled: fresh.backfilled + sweep.backfilled,
    uncertain: fresh.uncertain + sweep.uncertain,
    unpublishable: fresh.unpublishable + sweep.unpublishable,
    parked: fresh.parked + sweep.parked,
    missing: [...fresh.missing, ...sweep.missing],
  };
}

/**
 * Hours since the last completed sweep (metric `SweepAgeHours`, alarmed above `SWEEP_AGE_ALARM_HOURS`):
 * a sweep that never finishes, or a backfill that fails every run, would let events age past the
 * dedup window unchecked. 0 before any sweep completed (the first run is a sweep).
 */
export function sweepAgeHours(state: BackfillState, now: number): number {
  return state.lastSweepAt === null ? 0 : Math.max(0, (now - state.lastSweepAt) / 3_600_000);
}
export const SWEEP_AGE_ALARM_HOURS = 26;
