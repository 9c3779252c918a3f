/** In-memory dedup for backfill tests: the backfill's `check` (record) and `claim` views of ONE table. */
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';

export function sharedMemoryDedup(now: () => number, windowMs: number): { check: MemoryDedupStore; claim: MemoryDedupStore } {
  const dedup = (mode: 'record' | 'claim') =>
    new MemoryDedupStore({ windowSeconds: windowMs / 1000, lockSeconds: 360, mode, now });
  const check = dedup('record');
  const claim = dedup('claim');
  Object.assign(claim, { entries: (check as unknown as { entries: unknown }).entries });
  return { check, claim };
}
