/**
 * The HeyGen secret lifecycle explored by fast-check's scheduler (see test/support/lifecycle-chaos.ts
 * for the model and the invariant). CI runs a bounded number of schedules; `npm run chaos` runs many
 * and writes the figures into RELIABILITY.md. A failure prints fast-check's seed and path, and the
 * last scheduled calls, to replay it with `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHeyGenApi } from '../fakes/heygen-api.js';
import { emptyStats, lifecycleProperty } from '../support/lifecycle-chaos.js';

const RUNS = Number(process.env.CHAOS_RUNS ?? 60);

describe('HeyGen secret lifecycle: explored interleavings, crashes and retries', () => {
  let heygen: FakeHeyGenApi;
  beforeAll(async () => {
    heygen = await FakeHeyGenApi.start();
  });
  afterAll(async () => {
    await heygen.close();
  });

  it(`keeps the invariant in ${RUNS} random schedules of registrar runs, rotations, crashes, operator and provider changes`, async () => {
    const stats = emptyStats();
    await fc.assert(lifecycleProperty(heygen, stats), { numRuns: RUNS });
    expect(stats.runs).toBeGreaterThanOrEqual(RUNS);
    expect(stats.crashes).toBeGreaterThan(0); // the runs did inject crashes
    expect(stats.rotationsStarted).toBeGreaterThan(RUNS); // every run also rotates once when quiet
    // HeyGen delivered events meanwhile, some refused or never received; once quiet all are on the bus once.
    expect(stats.eventsDelivered).toBeGreaterThan(0);
    expect(stats.attemptsRejected + stats.eventsNotReceived).toBeGreaterThan(0);
    expect(stats.backfilled).toBeGreaterThan(0);
    expect(stats.lost).toBe(0);
    expect(stats.publishedTwice).toBe(0);
  }, 240_000);
});
