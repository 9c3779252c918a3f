/**
 * Issue 19, the chaos model's subscription-change actor: a person changes OUR endpoint's subscribed
 * types (adds a type, or moves one to the neighbour's endpoint) and may undo it; HeyGen addresses each
 * event by the types of its moment (the fake's `occur`), and the model's `lost`/`foreign` judge each
 * event by them. Scenarios run with and without the seeded bug `configured-types` (the backfill judges
 * by the configured types, ignoring HeyGen's list and its subscription log).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import type { SeedBug } from '../support/chaos-seeds.js';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import { type ChaosScenario, emptyStats, runScenario } from '../support/lifecycle-chaos.js';

const change = (op: 'add' | 'remove', undoMinutes: number | null): ChaosScenario => ({
  initial: 'registered',
  dedupMode: 'record',
  history: 'unbounded',
  // A neighbour app in the account (its endpoint exists before the change); the change at 10 min, three
  // events of the changed type while it holds, HeyGen's deliveries of them to us never arrive.
  actors: [
    { kind: 'neighbour', events: 1 },
    { kind: 'subscription', op, via: 'api', undoMinutes, traffic: 3, missed: true },
  ],
  startMinutes: [0, 10],
  ticks: [],
});

describe('chaos model: a person changes our endpoint subscription', () => {
  const server = useChaosHeyGen();

  const explore = async (scenario: ChaosScenario, seedBug?: SeedBug) => {
    const stats = emptyStats();
    const kinds: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const v = await runScenario(s, scenario, server.fake, stats, seedBug ? { seedBug } : {});
        kinds.push(...v.map((x) => x.kind));
      }),
      { numRuns: 3, seed: 19 },
    );
    return { kinds, stats };
  };

  it('subscription-added: events of an added type, seen by a backfill run, are recovered or reported (lost with an alarm)', async () => {
    // Left for the registrar: its next run (2 h) sets the configured types back; the backfill saw it first.
    const { kinds, stats } = await explore(change('add', null));
    expect(kinds).toEqual([]);
    expect(stats.coverage['subscription-added']).toBe(3);
    expect(stats.coverage['subscription-event-ours']).toBeGreaterThanOrEqual(3);
    expect(stats.coverage['subscription-seen']).toBeGreaterThanOrEqual(1);
    expect(stats.lostAlarmed + stats.backfilled).toBeGreaterThanOrEqual(3);
    expect(stats.lostUnseenSubscription).toBe(0);
  }, 60_000);

  it('seeded bug configured-types: the events of the added type are lost with no alarm', async () => {
    const { kinds } = await explore(change('add', null), 'configured-types');
    expect(kinds).toContain('lost');
  }, 60_000);

  it('subscription-removed: events of a removed type (the neighbour now takes them) never reach our bus', async () => {
    const { kinds, stats } = await explore(change('remove', 300));
    expect(kinds).toEqual([]);
    expect(stats.coverage['subscription-removed']).toBe(3);
    expect(stats.coverage['subscription-event-elsewhere']).toBeGreaterThanOrEqual(3);
    expect(stats.foreignEvents).toBe(0);
  }, 60_000);

  it('seeded bug configured-types: a removed type still read as ours puts the neighbour events on our bus', async () => {
    const { kinds } = await explore(change('remove', 300), 'configured-types');
    expect(kinds).toContain('foreign');
  }, 60_000);

  it('subscription-reverted within one tick: unseen by every backfill run, counted in its own class, not hidden', async () => {
    // Added and undone 45 min later, before the first scheduled run (2 h): no run listed the added type.
    const { kinds, stats } = await explore(change('add', 45));
    expect(stats.coverage['subscription-reverted']).toBe(3);
    expect(stats.coverage['subscription-seen'] ?? 0).toBe(0);
    expect(stats.lostUnseenSubscription).toBeGreaterThanOrEqual(3);
    expect(kinds).not.toContain('lost');
  }, 60_000);
});

describe('backfill: a disabled endpoint is sent nothing (finding of the subscription actor, owned by helper birth)', () => {
  // `npm run chaos -- --seed 7 --path 148` at the commit adding this test: our endpoint disabled,
  // its types set back to the configured ones, a neighbour endpoint receiving avatar_video.fail too;
  // the backfill took the disabled endpoint's types as ours and published the neighbour's entry
  // (`foreign`). Fix (providers/heygen/runtime/backfill.ts `ourEndpoint`): a disabled endpoint
  // subscribes to nothing (leave it out of the union; none enabled: `events: []`, `found: true`).
  it.fails('ourEndpoint: a disabled endpoint at our URL contributes no types', async () => {
    const api = {
      listEndpoints: async () => [
        {
          endpoint_id: 'ep_1',
          url: 'https://relay.example.com/heygen',
          status: 'disabled' as const,
          created_at: '2026-11-29T00:00:00Z',
          events: ['avatar_video.success', 'avatar_video.fail'],
          secret: null,
        },
      ],
    };
    const seen = await ourEndpoint(api as never, 'https://relay.example.com/heygen', ['avatar_video.success']);
    expect(seen.events).toEqual([]);
  });
});
