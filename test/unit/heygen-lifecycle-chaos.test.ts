/**
 * The relay's self-healing explored by fast-check's scheduler (test/support/lifecycle-chaos.ts has
 * the model and its invariants). CI runs a bounded number of schedules with a fixed seed; `npm run
 * chaos` runs many and writes the figures into RELIABILITY.md. A failure prints the violations and
 * the last scheduled calls; `npm run chaos -- --seed S --path P` replays one schedule.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHeyGenApi } from '../fakes/heygen-api.js';
import { emptyStats, lifecycleProperty, REQUIRED_COVERAGE } from '../support/lifecycle-chaos.js';

const RUNS = Number(process.env.CHAOS_RUNS ?? 60);
const SEED = Number(process.env.CHAOS_SEED ?? 20261129);

describe('HeyGen relay self-healing: explored interleavings, faults on every call, strangers, neighbours, outages', () => {
  let heygen: FakeHeyGenApi;
  beforeAll(async () => {
    heygen = await FakeHeyGenApi.start();
  });
  afterAll(async () => {
    await heygen.close();
  });

  it(`keeps the invariants in ${RUNS} schedules, and exercises every class it is meant to cover`, async () => {
    const stats = emptyStats();
    await fc.assert(lifecycleProperty(heygen, stats), { numRuns: RUNS, seed: SEED });
    expect(stats.runs).toBeGreaterThanOrEqual(RUNS);
    // A model that cannot fail proves nothing: every class of fault, actor and outcome happened.
    const never = REQUIRED_COVERAGE.filter((c) => (stats.coverage[c] ?? 0) === 0);
    expect(never, 'coverage classes never exercised').toEqual([]);
    expect(stats.lost).toBe(0);
    expect(stats.needlessRotations).toBe(0);
    expect(stats.foreignEvents).toBe(0);
  }, 120_000);
});
