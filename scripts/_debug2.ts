import fc from 'fast-check';
import { FakeHeyGenApi } from '../test/fakes/heygen-api.js';
import { emptyStats, runScenario } from '../test/support/lifecycle-chaos.js';
(async () => {
  const heygen = await FakeHeyGenApi.start();
  const stats = emptyStats();
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.scheduler(), fc.constantFrom('record' as const, 'claim' as const), async (s, mode) => {
    const trace: string[] = [];
    const v = await runScenario(s, { initial: 'registered', dedupMode: mode, history: 'unbounded', actors: [{ kind: 'delivery', relayDown: true, retries: 1, attempts: [[], []], toSecond: [false, false], retryMinutes: [120] }], startMinutes: [0], ticks: [] }, heygen, stats, { seedBug: 'publish-without-claim', trace });
    if (n++ < 2) console.log(trace.join('\n'), s.report().filter((t) => /hourly-backfill2|delivery0#1/.test(t.label)).map((t) => t.label).join('\n'));
    if (v.length) { console.log(v); }
  }), { numRuns: 40, seed: 1 });
  console.log(stats.publishedTwice, stats.duplicatesByFault);
  await heygen.close();
  process.exit(0);
})();
