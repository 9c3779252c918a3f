/**
 * `lost/url-variant` (docs/chaos-model.md, `--seed -1838638575 --path 660`, `--seed 1864934608 --path
 * 1237`): a neighbour's endpoint at a variant of our URL (our route) made and gone between two completed
 * backfill runs. Its events are ours by route identity, but every run around it listed no live endpoint
 * at our route, so no run can tell: the model counts them with the unseen subscription changes (not hidden),
 * as it does a subscription change made and undone between two runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import { type ChaosScenario, emptyStats, runScenario } from '../support/lifecycle-chaos.js';

const explore = async (heygen: Parameters<typeof runScenario>[2], scenario: ChaosScenario) => {
  const stats = emptyStats();
  const kinds: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      kinds.push(...(await runScenario(s, scenario, heygen, stats)).map((v) => v.kind));
    }),
    { numRuns: 3, seed: 19 },
  );
  return { kinds, stats };
};

describe('chaos model: an endpoint at our route that no backfill run listed', () => {
  const server = useChaosHeyGen();

  it('chaos-variant-unseen-endpoint: a variant endpoint made after a run and edited away before the next is counted unseen, not lost', async () => {
    // A first backfill run at 00:00 (no endpoint at our route), the neighbour's endpoint at /HEYGEN at
    // 00:01 with two events HeyGen's deliveries of which never arrive, its URL edited away at 00:10; the
    // registrar registers ours at 02:00.
    const scenario: ChaosScenario = {
      initial: 'empty',
      dedupMode: 'record',
      history: 'unbounded',
      actors: [
        { kind: 'backfill', crashAt: null, crashAfter: false, faults: [] },
        { kind: 'neighbour', events: 2, behaviour: 'url-variant', variant: 'caps', missed: true },
        { kind: 'provider', op: 'edit-url' },
      ],
      startMinutes: [0, 1, 10],
      ticks: [],
    };
    const { kinds, stats } = await explore(server.fake, scenario);
    expect(stats.coverage['neighbour-url-variant:caps']).toBe(3);
    expect(kinds.filter((k) => k.startsWith('lost'))).toEqual([]);
    expect(stats.lostUnseenSubscription).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
