/**
 * The pieces the lifecycle model stands on (test/support/model-clock.ts, chaos-faults.ts) and
 * issue 19's finding 8: the model never ran the heal, because the fake Secrets Manager stamped
 * versions with the machine's clock while the model's clock starts on 2026-11-29.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { Crash, InjectedFault, Process } from '../support/chaos-faults.js';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import { type ChaosScenario, emptyStats, runScenario } from '../support/lifecycle-chaos.js';
import { installModelRuntime, ModelClock, testTreeReads, type WallClockReads } from '../support/model-clock.js';

const START = Date.parse('2026-11-29T00:00:00Z');

describe('model clock', () => {
  it('fires timers when the model moves time, in order, and the ones due together at once', () => {
    const clock = new ModelClock(START);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b'), 2_000);
    clock.setTimer(() => fired.push('a'), 1_000);
    clock.setTimer(() => fired.push('a2'), 1_000);
    const dropped = clock.setTimer(() => fired.push('never'), 1_500);
    clock.clearTimer(dropped);
    expect(clock.advanceToNextTimer(10_000)).toBe(true);
    expect(fired).toEqual(['a', 'a2']);
    expect(clock.t).toBe(START + 1_000);
    clock.advance(5_000);
    expect(fired).toEqual(['a', 'a2', 'b']);
    expect(clock.t).toBe(START + 6_000);
  });

  it("while installed, setTimeout runs on the model's clock and wall-clock reads are recorded by call site", () => {
    const clock = new ModelClock(START);
    const reads: WallClockReads = new Map();
    const restore = installModelRuntime(clock, reads);
    let fired = false;
    try {
      setTimeout(() => {
        fired = true;
      }, 8_000);
      Date.now();
      void new Date();
      void new Date(START); // a date from a value is not a read of the clock
    } finally {
      restore();
    }
    expect(fired).toBe(false);
    clock.advance(8_000);
    expect(fired).toBe(true);
    expect([...reads.values()].reduce((a, b) => a + b, 0)).toBe(2);
    const sites = testTreeReads(reads);
    expect(sites).toHaveLength(2); // Date.now() and new Date(), each at its line
    for (const site of sites) expect(site).toMatch(/^test\/unit\/chaos-model-clock\.test\.ts:\d+$/);
  });

  it("the fake Secrets Manager stamps CreatedDate with its clock (the model's), the wall clock only by default", async () => {
    const sm = new FakeSecretsManager({ now: () => START });
    try {
      sm.create('s', 'v');
      const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const out = await sm.client.send(new GetSecretValueCommand({ SecretId: 's' }));
      expect(out.CreatedDate?.getTime()).toBe(START);
    } finally {
      sm.mock.restore();
    }
  });
});

describe('faults on a call (chaos-faults.ts)', () => {
  const world = (clock: ModelClock, s: fc.Scheduler) => ({ s, clock, fired: [], count: () => undefined });

  it('before: no effect, an error; after: the effect happens and the answer is lost; a crash stops the process', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const clock = new ModelClock(START);
        let effects = 0;
        const effect = async () => ++effects;
        const p = new Process(world(clock, s), 'p', 'backfill', {
          faults: [
            { on: 'dynamodb', at: 1, kind: 'before' },
            { on: 'dynamodb', at: 2, kind: 'after' },
          ],
          crashAt: 4,
          crashAfter: true,
        });
        const run = async () => {
          await expect(p.call('dynamodb.claim', effect)).rejects.toBeInstanceOf(InjectedFault);
          expect(effects).toBe(0);
          await expect(p.call('dynamodb.claim', effect)).rejects.toBeInstanceOf(InjectedFault);
          expect(effects).toBe(1);
          await expect(p.call('dynamodb.claim', effect)).resolves.toBe(2);
          await expect(p.call('eventbridge.publish', effect)).rejects.toBeInstanceOf(Crash); // after the effect
          expect(effects).toBe(3);
          await expect(p.call('eventbridge.publish', effect)).rejects.toBeInstanceOf(Crash);
          expect(effects).toBe(3);
        };
        await s.waitFor(run());
      }),
      { numRuns: 1 },
    );
  });

  it("hang: no answer until the caller's signal fires on the model clock (or the SDK's timeout without one)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const clock = new ModelClock(START);
        const p = new Process(world(clock, s), 'p', 'ingress', { faults: [{ on: 'dynamodb', at: 1, kind: 'hang' }] });
        const controller = new AbortController();
        clock.setTimer(() => controller.abort(new Error('deadline')), 8_000);
        const hung = p.call('dynamodb.claim', async () => 'answer', { signal: controller.signal });
        hung.catch(() => undefined);
        await s.waitIdle();
        expect(clock.t).toBe(START); // still waiting: time moves only when the model moves it
        clock.advanceToNextTimer(60_000);
        await expect(s.waitFor(hung)).rejects.toThrow('deadline');
        expect(clock.t).toBe(START + 8_000);
      }),
      { numRuns: 1 },
    );
  });
});

describe('issue 19 finding 8: the model runs the heal on one clock', () => {
  const server = useChaosHeyGen();

  /** A person rotates the secret in HeyGen's dashboard; HeyGen keeps delivering: the registrar must heal. */
  const dashboardRotation: ChaosScenario = {
    initial: 'registered',
    dedupMode: 'claim',
    history: 'unbounded',
    actors: [{ kind: 'provider', op: 'dashboard-rotate' }],
    startMinutes: [30],
    ticks: [],
  };

  const heals = async (seedBug?: 'wall-clock-fake') => {
    const stats = emptyStats();
    const kinds: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const v = await runScenario(s, dashboardRotation, server.fake, stats, seedBug ? { seedBug } : {});
        kinds.push(...v.map((x) => x.kind));
      }),
      { numRuns: 3, seed: 19 },
    );
    return { heals: stats.coverage.heals ?? 0, kinds, reads: stats.wallClockReads };
  };

  it("finding 8: with versions stamped on the model's clock the registrar heals a dashboard rotation, and nothing in test/ reads the wall clock", async () => {
    const r = await heals();
    expect(r.heals).toBeGreaterThanOrEqual(3);
    expect(r.kinds).toEqual([]);
    expect(Object.keys(r.reads).filter((site) => site.startsWith('test/'))).toEqual([]);
  }, 60_000);

  it('finding 8, the old fake (wall clock): never a heal, and the tripwire names the fake', async () => {
    const r = await heals('wall-clock-fake');
    expect(r.heals).toBe(0);
    expect(r.kinds).toContain('wall-clock');
    expect(Object.keys(r.reads).some((site) => site.startsWith('test/fakes/secrets-manager.ts'))).toBe(true);
  }, 60_000);
});
