/**
 * What the scheduled backfill looks at, from its checkpoint and the delivery evidence (pure).
 * - Trouble recorded (a signature refusal or a 5xx) since 24 h before the checkpoint, or no checkpoint
 *   yet: every entry of the whole dedup window is looked up (HeyGen retries for 24 h, so what the
 *   trouble touched can be that old).
 * - Otherwise: only the entries since the checkpoint (less an hour of overlap), sampled (every 10th
 *   and the oldest); a sampled miss turns the run into a full lookup of those entries. Each delivery is
 *   then looked up about once in ten, which keeps the default cost per delivery within budget.
 */
import type { DeliveryEvidence } from './core/evidence.js';

export const SAMPLE_EVERY = 10;
const OVERLAP_MS = 3_600_000;
const RETRY_HORIZON_MS = 24 * 3_600_000;

export function backfillPlan(
  now: number,
  windowMs: number,
  checkpoint: number | null,
  evidence: DeliveryEvidence,
): { sinceMs: number; sampleEvery: number; reason: 'first_run' | 'trouble' | 'routine' } {
  const windowStart = now - windowMs;
  if (checkpoint === null) return { sinceMs: windowStart, sampleEvery: 1, reason: 'first_run' };
  if ((evidence.lastTroubleAt ?? Number.NEGATIVE_INFINITY) >= checkpoint - RETRY_HORIZON_MS)
    return { sinceMs: windowStart, sampleEvery: 1, reason: 'trouble' };
  return { sinceMs: Math.max(windowStart, checkpoint - OVERLAP_MS), sampleEvery: SAMPLE_EVERY, reason: 'routine' };
}
