/**
 * What the scheduled backfill does this run, from its checkpoint and the delivery evidence (pure).
 *
 * Correctness rests on the sweep: every entry of HeyGen's history is looked up once, when it is
 * created in the interval (`checkedThrough`, now − settle] of a sweep (the sweep walks back
 * `SWEEP_OVERLAP_MS` further, for entries listed late; the dedup Scan spares those a read). A sweep walks the whole
 * listing (HeyGen's spec promises no order), and one cut short goes on from its cursor in the next
 * run. It runs
 * - on the first run (the whole dedup window),
 * - when a walk is under way (its cursor),
 * - when the ingress recorded trouble (a refused signature or a 5xx) after `checkedThrough`, the last
 *   freshness run found a sampled miss, or the last sweep left an entry in flight (a live delivery held
 *   its claim) or failed,
 * - and otherwise once every `SWEEP_EVERY_MS` (24 h): an isolated event HeyGen gave up on with no
 *   trouble recorded anywhere (throttled by the Function URL before the ingress ran, lost in the
 *   network, an outage at HeyGen's side) is found within 24 h + the settle time, inside the 48 h window.
 * The other runs are freshness runs: the first pages, 1 entry in `SAMPLE_EVERY` of those created since
 * the last run, eventually consistent; a miss turns the next run into a sweep (the handler sweeps at once).
 * Entries older than the dedup window (less a margin) are not looked up: their records may be gone.
 */
import type { DeliveryEvidence, EvidenceStore } from './core/evidence.js';
import {
  type BackfillCursor,
  type BackfillDeps,
  type BackfillSummary,
  backfill,
  underBackfillLease,
} from './providers/heygen/backfill.js';

export const SAMPLE_EVERY = 10;
export const SWEEP_EVERY_MS = 24 * 3_600_000;
export const SETTLE_MS = 10 * 60_000;
/**
 * A sweep also walks this far back before `checkedThrough`: an entry HeyGen lists late (its
 * `created_at` older than the moment it appears in the listing; undocumented either way) is still
 * looked at. Nearly free: the dedup Scan lists the entries of the overlap that are published, so they
 * take no read of their own; only what is still missing is read (and published).
 */
export const SWEEP_OVERLAP_MS = 6 * 3_600_000;
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
      readonly reason: 'first_run' | 'resume' | 'trouble' | 'sample_missed' | 'unsettled' | 'routine';
      readonly sinceMs: number;
      readonly untilMs: number;
      readonly cursor?: BackfillCursor;
    }
  | {
      readonly kind: 'fresh';
      readonly reason: 'fresh';
      readonly sinceMs: number;
      readonly untilMs: number;
      readonly sampleEvery: number;
    };

export function backfillPlan(now: number, windowMs: number, state: BackfillState, evidence: DeliveryEvidence): BackfillPlan {
  const oldest = now - windowMs + WINDOW_MARGIN_MS;
  const untilMs = now - SETTLE_MS;
  if (state.cursor) {
    const c = state.cursor;
    const sinceMs = Math.max(c.sinceMs, oldest);
    return { kind: 'sweep', reason: 'resume', sinceMs, untilMs: c.untilMs, cursor: { ...c, sinceMs } };
  }
  if (state.checkedThrough === null) return { kind: 'sweep', reason: 'first_run', sinceMs: oldest, untilMs };
  const sinceMs = Math.max(state.checkedThrough, oldest);
  const sweepFrom = Math.max(state.checkedThrough - SWEEP_OVERLAP_MS, oldest);
  if ((evidence.lastTroubleAt ?? Number.NEGATIVE_INFINITY) > state.checkedThrough)
    return { kind: 'sweep', reason: 'trouble', sinceMs: sweepFrom, untilMs };
  if (state.unsettled) return { kind: 'sweep', reason: 'unsettled', sinceMs: sweepFrom, untilMs };
  if (state.sampleMissedAt !== null && state.sampleMissedAt > (state.lastSweepAt ?? Number.NEGATIVE_INFINITY))
    return { kind: 'sweep', reason: 'sample_missed', sinceMs: sweepFrom, untilMs };
  if (now - (state.lastSweepAt ?? Number.NEGATIVE_INFINITY) >= SWEEP_EVERY_MS - SETTLE_MS)
    return { kind: 'sweep', reason: 'routine', sinceMs: sweepFrom, untilMs };
  return {
    kind: 'fresh',
    reason: 'fresh',
    sinceMs: Math.max(sinceMs, state.freshThrough ?? sinceMs),
    untilMs,
    sampleEvery: SAMPLE_EVERY,
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
    };
  if (summary.checkedThrough !== undefined)
    return {
      ...state,
      checkedThrough: Math.max(state.checkedThrough ?? Number.NEGATIVE_INFINITY, summary.checkedThrough),
      lastSweepAt: now,
      cursor: null,
      unsettled: summary.checkedThrough < summary.untilMs,
    };
  return { ...state, cursor: summary.cursor ?? null };
}

/** Where the scheduled backfill keeps its `BackfillState`. */
export interface BackfillCheckpoint {
  read(signal?: AbortSignal): Promise<BackfillState>;
  write(state: BackfillState, signal?: AbortSignal): Promise<void>;
}

export class MemoryBackfillCheckpoint implements BackfillCheckpoint {
  state: BackfillState = NO_BACKFILL_STATE;
  async read(): Promise<BackfillState> {
    return this.state;
  }
  async write(state: BackfillState): Promise<void> {
    this.state = state;
  }
}

/** Per-run bounds of a sweep (BACKFILL_DEFAULTS otherwise). */
export interface SweepBounds {
  readonly maxPages?: number;
  readonly maxEvents?: number;
}

function runPlan(plan: BackfillPlan, deps: BackfillDeps, bounds: SweepBounds = {}): Promise<BackfillSummary> {
  return plan.kind === 'sweep'
    ? backfill({ sinceMs: plan.sinceMs, untilMs: plan.untilMs, ...(plan.cursor ? { cursor: plan.cursor } : {}), ...bounds }, deps)
    : backfill({ sinceMs: plan.sinceMs, untilMs: plan.untilMs, sampleEvery: plan.sampleEvery }, deps);
}

/**
 * One scheduled run (the Lambda's work, functions/backfill.ts): under the backfill's lease, read the
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
    let plan = backfillPlan(t, input.windowMs, state, await input.evidence.read(deps.source ?? 'heygen', deps.signal));
    let summary = await runPlan(plan, deps, input.bounds);
    state = nextState(state, plan, summary, t);
    await input.checkpoint.write(state, deps.signal);
    if (plan.kind === 'fresh' && summary.sampleMissed) {
      plan = backfillPlan(t, input.windowMs, state, await input.evidence.read(deps.source ?? 'heygen', deps.signal));
      summary = await runPlan(plan, deps, input.bounds);
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
 * Hours since the last completed sweep (metric `SweepAgeHours`, alarmed above `SWEEP_AGE_ALARM_HOURS`):
 * a sweep that never finishes, or a backfill that fails every run, would let events age past the
 * dedup window unchecked. 0 before any sweep completed (the first run is a sweep).
 */
export function sweepAgeHours(state: BackfillState, now: number): number {
  return state.lastSweepAt === null ? 0 : Math.max(0, (now - state.lastSweepAt) / 3_600_000);
}
export const SWEEP_AGE_ALARM_HOURS = 26;
