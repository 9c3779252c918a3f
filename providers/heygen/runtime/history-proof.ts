/**
 * Whether HeyGen's history still listed every entry a sweep needed (pure). HeyGen documents no
 * retention (docs/guarantees.md, "HeyGen's history no longer reaching back"): it drops entries oldest
 * first, after a time the relay can only bound from below by what it saw listed.
 *
 * A completed walk needs the entries created after the checkpoint `need` (every entry created up to it
 * was looked up by an earlier sweep). It lists everything created since its oldest listed entry `m`
 * (oldest first: nothing younger is dropped before it). The period (need, m) is PROVEN covered when
 * - (a) the walk listed an entry created at or before `need` (m <= need): the history reaches past it;
 * - (b) now − need <= the longest HeyGen was seen to keep an entry (`historyKeptMs`, every run that
 *   read the listing to its end: its time less the oldest entry listed): nothing created after `need`
 *   can have been dropped yet;
 * - (c) the listing was watched since the last sweep: runs that read it to its end (the last sweep,
 *   freshness runs that reached the end, this walk) came at most `max(kept, WATCH_GAP_MS)` apart, so
 *   every entry created meanwhile was still listed when the next of them read it, and none of them
 *   listed an entry created after `need` that is gone now. Then no entry of the period existed. This is
 *   how a quiet or young account (an empty listing, or one younger than the checkpoint) stays quiet.
 *   What it assumes beyond what was seen: HeyGen lists an entry when it is created (its delivery log)
 *   and keeps it at least `WATCH_GAP_MS` (6 h: the order of the 6 h by which the walk already assumes
 *   an entry may be listed late, `BACKFILL_DEFAULTS.lateMs`); `kept` counts this walk's own figure.
 * Otherwise the period is UNPROVEN: reported as a `history` period with an unknown count (HeyGen's
 * history does not reach back that far, or there were no events: the relay cannot tell), alarmed
 * (BackfillGap) until a person acknowledges it. A first run (no checkpoint) reports nothing (the
 * backfill judges it from our endpoint's creation). A checkpoint with no watch (written before it
 * existed: an upgrade) is judged once by the rule before it.
 */
import type { UncoveredPeriod } from './backfill.js';

/** Runs reading the listing to its end at most this far apart watch it (HeyGen keeping an entry at least this long). */
export const WATCH_GAP_MS = 6 * 3_600_000;

/** What the runs that read HeyGen's listing to its end saw since the last completed sweep. */
export interface ListingWatch {
  /** When the last of them read it (a completed sweep, or a freshness run that reached the end). */
  readonly lastAt: number;
  /** The longest time between two of them since the last completed sweep. */
  readonly maxGapMs: number;
  /** The oldest `created_at` after the checkpoint of any entry (of any type) they listed; null: none. */
  readonly oldestAfterMs: number | null;
}

export interface HistoryJudgement {
  readonly now: number;
  /** The checkpoint: every entry created up to it was looked up by an earlier sweep (null: first run). */
  readonly needMs: number | null | undefined;
  /** The oldest `created_at` the walk listed (undefined: it listed nothing). */
  readonly listedFromMs: number | undefined;
  /** Where the walk's interval ends: an empty listing leaves (need, untilMs] unproven. */
  readonly untilMs: number;
  readonly keptMs: number | null | undefined;
  readonly watch: ListingWatch | null | undefined;
}

/** Why the period is proven covered (a, b, c above), or null: it is not. */
export function historyProof(j: HistoryJudgement): 'listed' | 'kept' | 'watched' | 'first_run' | 'not_watched_yet' | null {
  if (j.needMs == null) return 'first_run';
  const m = j.listedFromMs ?? j.untilMs;
  if (m <= j.needMs) return 'listed';
  const kept = j.keptMs ?? 0;
  if (j.now - j.needMs <= kept) return 'kept';
  const keptNow = Math.max(kept, j.listedFromMs === undefined ? 0 : j.now - j.listedFromMs);
  const w = j.watch;
  // A checkpoint written before the watch existed (an upgrade): the rule before it, this once (the
  // sweep starts the watch): a period only further back than HeyGen was ever seen to keep entries.
  if (!w) return j.keptMs != null ? null : 'not_watched_yet';
  const gap = Math.max(w.maxGapMs, j.now - w.lastAt);
  if (gap <= Math.max(keptNow, WATCH_GAP_MS) && (w.oldestAfterMs ?? Number.POSITIVE_INFINITY) >= m) return 'watched';
  return null;
}

/** The `history` period a completed walk that read the listing to its end reports (null: proven covered). */
export function historyUncovered(j: HistoryJudgement & { readonly fromMs?: number }): UncoveredPeriod | null {
  if (historyProof(j) !== null) return null;
  const need = j.needMs as number;
  const fromMs = Math.max(need, j.fromMs ?? need);
  const untilMs = j.listedFromMs ?? j.untilMs;
  if (untilMs <= fromMs) return null;
  return { reason: 'history', fromMs, untilMs, entries: null };
}

/** The watch after a run: a completed sweep starts it again; a run that read the listing to its end extends it. */
export function nextWatch(
  watch: ListingWatch | null | undefined,
  run: { readonly kind: 'sweep' | 'fresh'; readonly reachedEnd: boolean; readonly oldestAfterMs: number | null },
  now: number,
): ListingWatch | null {
  if (run.kind === 'sweep') return { lastAt: now, maxGapMs: 0, oldestAfterMs: run.oldestAfterMs };
  if (!watch || !run.reachedEnd) return watch ?? null;
  const oldest = [watch.oldestAfterMs, run.oldestAfterMs].filter((x): x is number => x !== null);
  return {
    lastAt: now,
    maxGapMs: Math.max(watch.maxGapMs, now - watch.lastAt),
    oldestAfterMs: oldest.length > 0 ? Math.min(...oldest) : null,
  };
}
