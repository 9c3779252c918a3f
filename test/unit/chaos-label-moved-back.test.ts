/**
 * Issue 19, `needless-rotation` (chaos `--seed -1235102614 --path 1870`): the proof window started at
 * AWSCURRENT's version CreatedDate, so refusals made while a wrong paste was current still proved the
 * older version dead once a person moved AWSCURRENT back to it. The model's actor for that (an operator
 * pasting a wrong secret and undoing it by a stage move), with and without the seeded bug
 * `window-from-created` (the rule before the registrar's sighting of the labels).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SeedBug } from '../support/chaos-seeds.js';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import { type ChaosScenario, emptyStats, runScenario } from '../support/lifecycle-chaos.js';

describe('chaos model: a wrong paste undone by a stage move', () => {
  const server = useChaosHeyGen();

  /** The paste at once, HeyGen's delivery refused 20 min later, the paste undone at 60 min; the first scheduled run at 2 h. */
  const pasteThenRevert: ChaosScenario = {
    initial: 'registered',
    dedupMode: 'record',
    history: 'unbounded',
    actors: [
      { kind: 'operator', op: 'paste-revert', revertMinutes: 60 },
      { kind: 'delivery', relayDown: false, retries: 0, attempts: [[]], toSecond: [false] },
    ],
    startMinutes: [0, 20],
    ticks: [],
  };

  const explore = async (seedBug?: SeedBug) => {
    const stats = emptyStats();
    const kinds: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const v = await runScenario(s, pasteThenRevert, server.fake, stats, seedBug ? { seedBug } : {});
        kinds.push(...v.map((x) => x.kind));
      }),
      { numRuns: 3, seed: 1870 },
    );
    return { kinds, moved: stats.coverage['label-moved-back'] ?? 0, refused: stats.coverage['deliveries:401'] ?? 0 };
  };

  it('needless-rotation-label-moved-back (model): the refusals under the paste prove nothing once AWSCURRENT is moved back', async () => {
    const r = await explore();
    expect(r.moved).toBe(3);
    expect(r.refused).toBeGreaterThanOrEqual(3);
    expect(r.kinds).not.toContain('needless-rotation');
  }, 60_000);

  it('seeded bug window-from-created (the window from CreatedDate): the model catches the needless rotation', async () => {
    const r = await explore('window-from-created');
    expect(r.moved).toBe(3);
    expect(r.kinds).toContain('needless-rotation');
  }, 60_000);
});
