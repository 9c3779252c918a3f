/**
 * Issue 19, the model's naming of a needless heal (lifecycle-chaos.ts `needless`): the registrar's
 * proof window ends 10 min ago on OUR clock and reads each entry's `created_at` on HEYGEN's. The model
 * picked the entry the proof stood on by its own time of the event ("10 min ago" against the model
 * clock), so with HeyGen's clock 6 min behind an entry 4 to 10 min old (in the registrar's window) was
 * left out and the heal named by an older entry, or by none. A neighbour's replay of our missed event,
 * the design's bound (one heal a day, then second_writer), then read as a plain `needless-rotation`.
 */
import { describe, expect, it } from 'vitest';
import type { FakeHeyGenApi } from '../fakes/heygen-api.js';
import { exploreScenario } from '../support/chaos-explore.js';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import type { ChaosScenario } from '../support/lifecycle-chaos.js';

const explore = (heygen: FakeHeyGenApi, scenario: ChaosScenario, numRuns: number) =>
  exploreScenario(heygen, scenario, { numRuns });

const quiet = { backfill: [], registrar: [] };

describe("Issue 19: a needless heal is named by the entry the registrar's window held (HeyGen's clock)", () => {
  const server = useChaosHeyGen();

  it('needless-cause-on-heygen-clock: HeyGen 6 min behind, a neighbour replays our missed event 5 min before a registrar run: the heal is the neighbour-replay bound', async () => {
    const r = await explore(
      server.fake,
      {
        initial: 'registered',
        dedupMode: 'record',
        history: 'unbounded',
        heygenSkewSeconds: -360,
        // Our event at 01:55 (created_at 01:49), its delivery to us lost; the neighbour re-POSTs it at
        // 01:56; the 02:00 registrar's window ends at 01:50: the entry is in it, and it heals.
        actors: [{ kind: 'neighbour', events: 1, behaviour: 'replay', missed: true }],
        startMinutes: [115],
        ticks: Array.from({ length: 2 }, () => quiet),
      },
      1,
    );
    expect(r.coverage.heals ?? 0).toBeGreaterThanOrEqual(1);
    expect(r.coverage['needless-rotation-neighbour-replay'] ?? 0).toBe(1); // named by the replayed entry
    expect(r.kinds).toEqual([]); // before: `needless-rotation` (no cause found in the model's last-10-min filter)
  }, 120_000);
});
