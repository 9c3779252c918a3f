import type { DedupStore } from './ports.js';

/** Dedup turned off: every verified delivery is published (consumers dedupe on the envelope id). */
export const noDedup: DedupStore = {
  claim: async () => 'claimed',
  complete: async () => 'completed',
  release: async () => {},
};
