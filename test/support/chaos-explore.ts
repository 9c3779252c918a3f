/**
 * One chaos scenario explored under fast-check's scheduler (every interleaving the seed draws), as the
 * scenario tests in test/unit/chaos-*.test.ts run it: the violation kinds found, and the model's counts.
 */
import fc from 'fast-check';
import type { FakeHeyGenApi } from '../fakes/heygen-api.js';
import type { SeedBug } from './chaos-seeds.js';
import { type ChaosScenario, emptyStats, runScenario } from './lifecycle-chaos.js';

export async function exploreScenario(
  heygen: FakeHeyGenApi,
  scenario: ChaosScenario,
  options: { readonly numRuns?: number; readonly seed?: number; readonly seedBug?: SeedBug | undefined } = {},
) {
  const { numRuns = 3, seed = 19, seedBug } = options;
  const stats = emptyStats();
  const kinds: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      kinds.push(...(await runScenario(s, scenario, heygen, stats, seedBug ? { seedBug } : {})).map((v) => v.kind));
    }),
    { numRuns, seed },
  );
  return { kinds, coverage: stats.coverage, stats };
}
