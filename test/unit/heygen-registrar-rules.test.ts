/**
 * The registrar's rules are one table (REGISTRAR_RULES, REGISTRAR_OUTCOMES in
 * providers/heygen/runtime/registrar.ts) that docs/heygen-registrar.md shows: both agree row for
 * row. And the run reads one clock: the ages it reports come from the injected `now`, never the wall
 * clock (DEVELOPERS: one clock shared by every fake).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import type { DedupStore } from '../../functions/core/ports.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import type { HeyGenWebhookApi, WebhookEndpoint } from '../../providers/heygen/runtime/api/client.js';
import {
  REGISTRAR_OUTCOMES,
  REGISTRAR_RULES,
  type ReconcileAction,
  reconcile,
} from '../../providers/heygen/runtime/registrar.js';

const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'heygen-registrar.md'), 'utf8');

/** The rows of the Markdown table that follows `marker` (cells trimmed; header and rule line dropped). */
function tableAfter(marker: string): string[][] {
  const at = DOC.indexOf(marker);
  expect(at, `docs/heygen-registrar.md has ${marker}`).toBeGreaterThan(0);
  const lines = DOC.slice(at).split('\n').slice(1);
  const table = lines.slice(
    0,
    lines.findIndex((l) => !l.startsWith('|')),
  );
  return table.slice(2).map((l) =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim()),
  );
}

const code = (s: string) => `\`${s}\``;
const list = (xs: readonly string[] | null) => (xs && xs.length > 0 ? xs.map(code).join(', ') : '—');

describe('registrar rules: the code table and the docs table', () => {
  it('docs/heygen-registrar.md shows REGISTRAR_RULES row for row', () => {
    const expected = REGISTRAR_RULES.map((r) => [code(r.rule), r.finds, r.does, list(r.actions), list(r.guard && [r.guard])]);
    expect(tableAfter('<!-- registrar-rules:')).toEqual(expected);
  });

  it('every action a run reports but the leftover replay belongs to a rule, and each rule reports one', () => {
    // A Record over the union: a new action type fails the typecheck until it is listed here.
    const every: Record<ReconcileAction['type'], true> = {
      create: true,
      update: true,
      rotate: true,
      delete: true,
      recover: true,
      update_url: true,
      drop_pending: true,
      resync: true,
      store_secret: true,
    };
    const all = Object.keys(every) as ReconcileAction['type'][];
    const ruled = new Set(REGISTRAR_RULES.flatMap((r) => r.actions));
    expect(all.filter((t) => !ruled.has(t))).toEqual(['recover']);
    expect(REGISTRAR_RULES.filter((r) => r.actions.length === 0).map((r) => r.rule)).toEqual([
      'disabled',
      'rotation_in_progress',
    ]);
  });

  it('docs/heygen-registrar.md shows REGISTRAR_OUTCOMES row for row', () => {
    expect(tableAfter('<!-- registrar-outcomes:')).toEqual(REGISTRAR_OUTCOMES.map((o) => [code(o.outcome), o.when]));
  });
});

describe('registrar: one clock', () => {
  const URL_A = 'https://clock123.lambda-url.eu-west-1.on.aws/heygen';
  const endpoint = {
    endpoint_id: 'ep_clock',
    url: URL_A,
    events: null,
    status: 'enabled',
    created_at: '2020-01-01T00:00:00Z',
  } as unknown as WebhookEndpoint;
  const client = { listEndpoints: async () => [endpoint] } as unknown as HeyGenWebhookApi;

  it('reports the secret age and a pending rotation age on the injected clock, not the wall clock', async () => {
    let now = Date.parse('2020-02-01T00:00:00Z'); // years before the wall clock
    const clock = () => now;
    const store = new MemorySigningSecretStore(null, 'clock-store', clock);
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    store.overwrite({ secret, endpointId: 'ep_clock', url: URL_A });
    store.pending = {
      version: 'pending-1',
      value: { secret: `whsec_${randomBytes(24).toString('base64')}`, endpointId: 'ep_clock', url: URL_A, replaces: 'v1' },
      createdAt: now - 30_000,
    };
    now += 3_600_000;
    const summary = await reconcile({ url: URL_A }, { client, secretStore: store, now: clock });
    expect(summary.outcome).toBe('in_sync');
    expect(summary.signingSecretAgeSeconds).toBe(3_600);
    expect(summary.pendingRotationAgeSeconds).toBe(3_630);
  });

  it('reports the secret age on the injected clock when the run stops early (missing API key)', async () => {
    let now = Date.parse('2020-02-01T00:00:00Z');
    const clock = () => now;
    const store = new MemorySigningSecretStore(null, 'clock-store-2', clock);
    store.overwrite({ secret: `whsec_${randomBytes(24).toString('base64')}`, endpointId: 'ep_clock', url: URL_A });
    now += 120_000;
    const summary = await reconcile({ url: URL_A }, { client: null, secretStore: store, now: clock });
    expect(summary.outcome).toBe('missing_api_key');
    expect(summary.signingSecretAgeSeconds).toBe(120);
  });

  it("stamps a recorded intent with the run's clock, so a leftover create past HeyGen's 24 h is not replayed", async () => {
    let now = Date.parse('2020-02-01T00:00:00Z'); // the wall clock is years later
    const clock = () => now;
    const keys: string[] = [];
    const endpoints: WebhookEndpoint[] = [];
    const flaky = {
      listEndpoints: async () => [...endpoints],
      createEndpoint: async (body: { url: string }, options: { idempotencyKey?: string }) => {
        keys.push(options.idempotencyKey ?? '');
        if (keys.length === 1) throw new Error('connection lost after the request was sent');
        const created = {
          endpoint_id: `ep_${keys.length}`,
          url: body.url,
          events: null,
          status: 'enabled',
          created_at: new Date(now).toISOString(),
          secret: `whsec_${randomBytes(24).toString('base64')}`,
        } as unknown as WebhookEndpoint;
        endpoints.push(created);
        return created;
      },
    } as unknown as HeyGenWebhookApi;
    const deps = {
      client: flaky,
      secretStore: new MemorySigningSecretStore(null, 'clock-store-3', clock),
      lease: { store: new MemoryLeaseStore(clock), name: 'heygen:clock-store-3' },
      now: clock,
    };
    await expect(reconcile({ url: URL_A }, deps)).rejects.toThrow('connection lost');
    now += 25 * 3_600_000; // past HeyGen's replay window on the run's clock
    const summary = await reconcile({ url: URL_A }, deps);
    expect(summary.actions.map((a) => a.type)).toEqual(['recover', 'create', 'store_secret']);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]); // the stale key was not sent again
  });

  it("judges the proof of a dead secret on the run's clock when the evidence brings none", async () => {
    const T = Date.parse('2020-02-10T00:00:00Z'); // the wall clock is years later
    let now = T - 2 * 3_600_000;
    const clock = () => now;
    const store = new MemorySigningSecretStore(null, 'clock-store-4', clock);
    store.overwrite({ secret: `whsec_${randomBytes(24).toString('base64')}`, endpointId: 'ep_clock', url: URL_A });
    // A run saw that version current right after it was stored (the heal journal's sighting, on the run's clock).
    const heals = new MemoryHealJournal();
    const stored = await store.read();
    heals.sighting = { version: stored.version as string, previous: stored.previous ?? null, since: now };
    now = T;
    const evidence = new MemoryEvidenceStore();
    await evidence.record('heygen', 'signature', T - 30 * 60_000);
    await evidence.recordRefusedKey('heygen', 'heygen:key-missed', T - 30 * 60_000); // that very entry was refused
    const missed = {
      eventId: 'evt_missed',
      eventType: 'avatar_video.success',
      createdAt: new Date(T - 3_600_000).toISOString(),
      eventKey: 'heygen:key-missed',
      body: '{"event_type":"avatar_video.success","event_data":{}}',
    };
    const healing = {
      listEndpoints: async () => [endpoint],
      listEvents: async () => ({ events: [missed], nextToken: null }),
      rotateSecret: async () => ({ endpoint_id: 'ep_clock', secret: `whsec_${randomBytes(24).toString('base64')}` }),
    } as unknown as Required<HeyGenWebhookApi>;
    const summary = await reconcile(
      { url: URL_A },
      {
        client: healing,
        secretStore: store,
        lease: { store: new MemoryLeaseStore(clock), name: 'heygen:clock-store-4' },
        now: clock,
        heals,
        evidence: { evidence, history: healing, dedup: { claim: async () => 'claimed' } as unknown as DedupStore },
      },
    );
    expect(summary.outcome).toBe('secret_mismatch');
    expect(summary.actions.find((a) => a.type === 'resync')).toMatchObject({ missedEvent: { eventId: 'evt_missed' } });
  });
});
