/**
 * Issue 19, the registrar's side: it heals (rotates the secret) only on proof, at most once per
 * 24 h, tells a person when events stop flowing (a disabled endpoint, a second writer), and a
 * recorded intent whose replay keeps failing does not block it for 24 h.
 *
 * The relay runs in one process: the real ingress over a key source that reads the secret store,
 * evidence recorded by the ingress, the real registrar, the fake HeyGen (its history lists every event
 * it delivered or tried to, account-wide), all on one virtual clock.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import {
  MemorySigningSecretStore,
  type SigningSecretStore,
  serializeStoredSigningSecret,
} from '../../functions/core/secret-store.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { addressedToUs, proofWindow } from '../../providers/heygen/runtime/proof.js';
import {
  MAX_REPLAY_FAILURES,
  type ReconcileSummary,
  reconcile,
  SECOND_WRITER_MESSAGE,
} from '../../providers/heygen/runtime/registrar.js';
import { rotationStep } from '../../providers/heygen/runtime/rotation.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import { storeKeys } from '../support/review3-stack.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const NEIGHBOUR_URL = 'https://neighbour.example.com/hooks/heygen';
const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
const MINUTE = 60_000;
const HOUR = 3_600_000;
const quiet: Telemetry = { debug() {}, info() {}, warn() {}, error() {}, count() {} };

type Body = { event_type: string; event_data: Record<string, unknown> };

describe('Issue 19: the registrar heals only on proof, at most once a day, and tells a person', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  /** One stack: its secret store, dedup table, evidence, lease table, heal journal and ingress. */
  function stack(name: string, secretStore?: SigningSecretStore) {
    const now = () => clock.t;
    const store = secretStore ?? new MemorySigningSecretStore(null, `sig-${name}-${randomUUID()}`, now);
    const dedup = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: 'record', now });
    const evidence = new MemoryEvidenceStore();
    const heals = new MemoryHealJournal();
    const lease = { store: new MemoryLeaseStore(now), name: `heygen:${store.name}`, now };
    const keys = storeKeys(store);
    const bus: unknown[] = [];
    const parked: string[] = [];
    const outage = { on: false }; // the bus refuses every publish: the ingress answers 5xx
    const ingress = createIngress({
      routes: [{ provider: heygen, path: '/heygen', keys, timestampToleranceSeconds: 0, budgetMs: 8_000, dedup }],
      maxBodyBytes: 256 * 1024,
      publisher: {
        publish: async (e) => {
          if (outage.on) throw new Error('EventBridge unavailable');
          bus.push(e);
        },
      },
      telemetry: quiet,
      parked: { park: async (d) => void parked.push(d.id) }, // S3 in the stack
      now,
      onTrouble: evidenceRecorder(evidence, { intervalMs: 0, now }),
    });
    const post = async (raw: string, signature: string) =>
      (
        await ingress({
          method: 'POST',
          path: '/heygen',
          headers: { 'heygen-signature': signature, 'heygen-event-id': `evt_${randomUUID()}` },
          body: Buffer.from(raw),
          requestId: randomUUID(),
        })
      ).statusCode;
    /** HeyGen sends `event` to this stack's ingress (it is in HeyGen's history whatever the answer). */
    const receive = async (event: Body) => {
      const [ep] = hg.fake.endpointsFor(URL_A);
      if (!ep) throw new Error('no endpoint');
      hg.fake.emit(ep.endpoint_id, event);
      const raw = JSON.stringify(event);
      return post(raw, createHmac('sha256', ep.secret).update(raw).digest('hex'));
    };
    /** Anyone on the internet: a POST with a bad signature (a body of his own, or a fixed one). */
    const stranger = (raw = '{"event_type":"avatar_video.success","event_data":{"video_id":"x"}}') => post(raw, 'ab'.repeat(32));
    const register = (events: readonly string[] | null = EVENTS): Promise<ReconcileSummary> =>
      reconcile(
        { url: URL_A, events },
        { client: hg.client, secretStore: store, lease, heals, evidence: { evidence, history: hg.client, dedup, now } },
      );
    return { store, dedup, evidence, heals, bus, parked, outage, receive, stranger, register };
  }

  const rotations = () => hg.fake.requestsTo('POST', /rotate-secret$/).length;
  let n = 0;
  const event = (type = 'avatar_video.success'): Body => ({ event_type: type, event_data: { video_id: `v${++n}` } });

  it("a stranger's bad POST never rotates a quiet account's secret (one POST an hour for 7 days: 0 rotations)", async () => {
    const a = stack('a');
    expect((await a.register()).outcome).toBe('changed'); // creates the endpoint, stores its secret
    clock.t += 30 * MINUTE;
    for (let k = 0; k < 3; k++) expect(await a.receive(event())).toBe(200); // then the account goes quiet
    const outcomes = new Set<string>();
    for (let h = 1; h <= 7 * 24; h++) {
      clock.t += HOUR - MINUTE;
      expect(await a.stranger()).toBe(401);
      clock.t += MINUTE;
      outcomes.add((await a.register()).outcome);
    }
    expect(rotations()).toBe(0);
    expect([...outcomes]).toEqual(['in_sync']);
    expect(await a.receive(event())).toBe(200); // the secret it kept is HeyGen's live one
  });

  it("a neighbour endpoint's events never count as proof (its entries in the account-wide history, a bad POST an hour)", async () => {
    const a = stack('a');
    await a.register();
    const other = hg.fake.eventTypes.find((t) => !EVENTS.includes(t)) as string;
    const neighbour = hg.fake.seedEndpoint(NEIGHBOUR_URL, [other]);
    for (let h = 1; h <= 24; h++) {
      clock.t += HOUR - 2 * MINUTE;
      hg.fake.emit(neighbour.endpoint_id, event(other)); // delivered to the neighbour, never to us
      expect(await a.stranger()).toBe(401);
      clock.t += 2 * MINUTE;
      expect((await a.register()).outcome).toBe('in_sync');
    }
    expect(rotations()).toBe(0);
    expect(addressedToUs({ eventType: other, createdAt: '' }, { events: EVENTS })).toBe(false);
    expect(addressedToUs({ eventType: EVENTS[0] as string, createdAt: '' }, { events: EVENTS })).toBe(true);
  });

  it('an outage is not a dead secret: every entry missed (5xx), no refusal, no rotation', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    a.outage.on = true;
    for (let k = 0; k < 6; k++) {
      expect(await a.receive(event())).toBeGreaterThanOrEqual(500);
      clock.t += 10 * MINUTE;
      expect((await a.register()).outcome).toBe('in_sync');
    }
    expect(rotations()).toBe(0);
  });

  it('a miss that later deliveries outran proves nothing, even with a refusal after it', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    hg.fake.emit(ep?.endpoint_id as string, event()); // HeyGen lists it; the delivery never arrived (lost on the way)
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(200); // the next one arrives: the secret works
    expect(await a.stranger()).toBe(401);
    clock.t += 30 * MINUTE;
    expect((await a.register()).outcome).toBe('in_sync');
    expect(rotations()).toBe(0);
  });

  it("needless-rotation-our-failure: an entry missed by a failure of ours (5xx), recovered or not, and a stranger's refusal after it: no rotation (chaos --seed 1932332816 --path 98, 111)", async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    a.outage.on = true; // PutEvents down: the delivery is answered 503 (HeyGen may give up on it)
    const missed = event();
    expect(await a.receive(missed)).toBe(503);
    a.outage.on = false;
    clock.t += 5 * MINUTE;
    expect(await a.stranger()).toBe(401);
    clock.t += 30 * MINUTE;
    expect((await a.register()).outcome).toBe('in_sync');
    // The backfill recovered that very entry (the newest of ours): still the failure's, not the secret's.
    const created = Date.parse(hg.fake.history.at(-1)?.created_at as string);
    await a.dedup.complete(heygenEventKey(JSON.stringify(missed)), 'backfill');
    await a.evidence.record('heygen', 'missed', created);
    expect((await a.register()).outcome).toBe('in_sync');
    expect(rotations()).toBe(0);
    // A dead secret after that failure is proved by the next entry HeyGen creates (refused).
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` });
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(401);
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('secret_mismatch');
    expect(await a.receive(event())).toBe(200);
  });

  it("needless-rotation-stranger: a stranger's refusal and a miss that never reached the relay (down, lost on the way): no heal (chaos --seed 1932332816 --path 430, 445)", async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    expect(await a.receive(event())).toBe(200); // the secret works
    clock.t += 5 * MINUTE;
    const [ep] = hg.fake.endpointsFor(URL_A);
    hg.fake.emit(ep?.endpoint_id as string, event()); // HeyGen lists it; the delivery never reached the relay
    clock.t += MINUTE;
    for (let k = 0; k < 3; k++) expect(await a.stranger()).toBe(401); // anyone: bad POSTs after the miss
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('in_sync');
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync');
    expect(rotations()).toBe(0);
    expect(await a.receive(event())).toBe(200); // the secret it kept is HeyGen's live one
    expect(a.heals.takeovers).toEqual([]);
  });

  it("refused-key proof: HeyGen's own refused delivery (its key) and its miss heal, as before, even after a stranger's flood of refusals", async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` }); // the secret dies
    clock.t += MINUTE;
    const refused = event();
    expect(await a.receive(refused)).toBe(401); // HeyGen's delivery, refused: its key is recorded
    const keys = ((await a.evidence.read('heygen')).refusedKeys ?? []).map((r) => r.key);
    expect(keys).toContain(heygenEventKey(JSON.stringify(refused)));
    // A flood: many bad POSTs, each with a key of its own, fill the list but cannot push that key out.
    for (let k = 0; k < 50; k++) {
      clock.t += 1_000;
      const raw = JSON.stringify(event());
      expect(await a.stranger(raw)).toBe(401);
    }
    expect(((await a.evidence.read('heygen')).refusedKeys ?? []).map((r) => r.key)).toContain(
      heygenEventKey(JSON.stringify(refused)),
    );
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('secret_mismatch');
    expect(await a.receive(event())).toBe(200);
    expect(a.heals.takeovers.map((t) => t.kind)).toEqual(['heal']);
  });

  it('a dead secret is still healed on proof: the newest entry addressed to us refused, then in sync', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` }); // someone in the dashboard
    clock.t += MINUTE;
    for (let k = 0; k < 3; k++) {
      expect(await a.receive(event())).toBe(401);
      clock.t += MINUTE;
    }
    clock.t += 15 * MINUTE;
    const healed = await a.register();
    expect(healed.outcome).toBe('secret_mismatch');
    expect((await a.store.get())?.secret).toBe(hg.fake.endpoints.get(ep?.endpoint_id as string)?.secret);
    expect(await a.receive(event())).toBe(200);
    expect(a.heals.takeovers.map((t) => t.kind)).toEqual(['heal']);
  });

  it("an entry the backfill recovered counts as missed; a newer recovered entry of a neighbour's type does not", async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` });
    clock.t += MINUTE;
    const refused = event();
    expect(await a.receive(refused)).toBe(401);
    const created = Date.parse(hg.fake.history.at(-1)?.created_at as string);
    // The backfill ran first: it published the entry (now recorded) and recorded when it was created.
    const recover = async (body: Body, at: number) => {
      await a.dedup.complete(heygenEventKey(JSON.stringify(body)), 'backfill');
      await a.evidence.record('heygen', 'missed', at);
    };
    // A neighbour's entry, newer, recovered by a backfill without the type filter: not ours, proves nothing.
    await recover(refused, created);
    const other = hg.fake.eventTypes.find((t) => !EVENTS.includes(t)) as string;
    clock.t += MINUTE;
    const neighbourEntry = hg.fake.emit('ep_neighbour', event(other)); // delivered to a neighbour endpoint
    await a.evidence.record('heygen', 'missed', Date.parse(neighbourEntry.created_at));
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('in_sync');
    // With lastMissedAt on that very entry (the backfill recovered it, nothing newer), the dead secret is healed.
    const before = await a.evidence.read('heygen'); // keeps the refused keys (the ingress refused that very entry)
    a.evidence.items.set('heygen', {
      ...before,
      lastSignatureRejectionAt: created,
      lastTroubleAt: created,
      lastMissedAt: created,
    });
    expect((await a.register()).outcome).toBe('secret_mismatch');
  });

  it("an event type added to our endpoint does not make the neighbour's earlier entries of that type proof (events patched, then a bad POST: no rotation)", async () => {
    const a = stack('a');
    const [ours, added] = EVENTS as [string, string];
    expect((await a.register([ours])).outcome).toBe('changed'); // our endpoint: one type
    const neighbour = hg.fake.seedEndpoint(NEIGHBOUR_URL, [added]);
    clock.t += 30 * MINUTE;
    expect(await a.receive(event(ours))).toBe(200);
    clock.t += MINUTE;
    hg.fake.emit(neighbour.endpoint_id, event(added)); // the neighbour's, before we subscribed to its type
    clock.t += 15 * MINUTE;
    expect((await a.register(EVENTS)).outcome).toBe('changed'); // the deploy adds the type: PATCH events
    clock.t += MINUTE;
    expect(await a.stranger()).toBe(401);
    clock.t += MINUTE;
    expect((await a.register(EVENTS)).outcome).toBe('in_sync');
    expect(rotations()).toBe(0);
  });

  it("a parked delivery is no refused one: HeyGen's newest entry kept in parked/ (EventBridge cannot take it), then a bad POST: no rotation", async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    expect(await a.receive(event())).toBe(200);
    clock.t += MINUTE;
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 1200; i++) deep = { d: deep };
    // Signed with our live secret, but nested beyond what EventBridge takes: answered 202 parked.
    expect(await a.receive({ event_type: 'avatar_video.success', event_data: { video_id: 'vdeep', deep } })).toBe(202);
    expect(a.parked).toHaveLength(1);
    clock.t += 15 * MINUTE;
    expect(await a.stranger()).toBe(401);
    clock.t += MINUTE;
    expect((await a.register()).outcome).toBe('in_sync');
    expect(rotations()).toBe(0);
  });

  it('the proof window: after the stored version plus its grace and the endpoint, before the retry spacing, well inside the dedup window', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const base = { now, endpointCreatedAt: new Date(now - 200 * HOUR).toISOString(), dedupWindowMs: 48 * HOUR };
    const w = proofWindow({ ...base, storedAt: now - 100 * HOUR, currentSince: now - 100 * HOUR });
    expect(w).toEqual({ from: now - 42 * HOUR, until: now - 10 * MINUTE });
    const recent = { endpointCreatedAt: '2026-01-01T00:00:00Z', dedupWindowMs: 48 * HOUR };
    expect(proofWindow({ now, ...recent, storedAt: now - 5 * MINUTE, currentSince: now - 5 * MINUTE })).toBeNull();
    expect(proofWindow({ now, ...recent, storedAt: null, currentSince: now - HOUR })).toBeNull();
    const later = proofWindow({
      ...base,
      storedAt: now - 100 * HOUR,
      currentSince: now - 100 * HOUR,
      endpointCreatedAt: new Date(now - 3 * HOUR).toISOString(),
    });
    expect(later?.from).toBe(now - 3 * HOUR);
  });

  it('the proof window starts when a run first saw the version as AWSCURRENT, if that is later than its CreatedDate; unknown: no window', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const base = { now, endpointCreatedAt: '2026-01-01T00:00:00Z', dedupWindowMs: 48 * HOUR };
    // Created 10 h ago, first seen current 2 h ago (a rotation's version filled later, a label moved back).
    expect(proofWindow({ ...base, storedAt: now - 10 * HOUR, currentSince: now - 2 * HOUR })?.from).toBe(
      now - 2 * HOUR + 5 * MINUTE,
    );
    // Seen before it was created (clock skew): CreatedDate still bounds it.
    expect(proofWindow({ ...base, storedAt: now - 2 * HOUR, currentSince: now - 10 * HOUR })?.from).toBe(
      now - 2 * HOUR + 5 * MINUTE,
    );
    expect(proofWindow({ ...base, storedAt: now - 10 * HOUR, currentSince: null })).toBeNull();
  });

  it('two stacks on one URL over 12 h: at most one heal, then second_writer (alarmed), no ping-pong', async () => {
    const a = stack('a');
    const b = stack('b');
    expect((await a.register()).outcome).toBe('changed'); // a creates the endpoint
    clock.t += 5 * MINUTE;
    expect((await b.register()).outcome).toBe('changed'); // b adopts it: a's secret is dead from here on
    const summaries: { who: string; at: number; s: ReconcileSummary }[] = [];
    let rotationsAtFirstStop: number | null = null;
    for (let tick = 1; tick <= 12 * 6; tick++) {
      clock.t += 10 * MINUTE;
      // A custom domain in front of two regions: deliveries alternate between the stacks.
      await (tick % 2 === 0 ? a : b).receive(event());
      // Runs every 30 min: the newest entry (10 min old) went to a at odd runs, to b at even ones, so
      // each stack in turn sees an entry it refused itself (the only miss that proves its secret dead).
      if (tick % 3 === 0) {
        for (const [who, s] of [
          ['a', a],
          ['b', b],
        ] as const) {
          const summary = await s.register();
          summaries.push({ who, at: clock.t, s: summary });
          if (summary.outcome === 'second_writer' && rotationsAtFirstStop === null) rotationsAtFirstStop = rotations();
        }
      }
    }
    const heals = summaries.filter((x) => x.s.actions.some((a) => a.type === 'resync' && a.status === 'done'));
    expect(heals.length).toBeLessThanOrEqual(1);
    const stops = summaries.filter((x) => x.s.outcome === 'second_writer');
    expect(stops.length).toBeGreaterThan(0);
    expect(stops[0]?.s.message).toBe(SECOND_WRITER_MESSAGE);
    expect(rotationsAtFirstStop).not.toBeNull();
    expect(rotations()).toBe(rotationsAtFirstStop); // nothing rotated after the first stop
    expect(rotations()).toBeLessThanOrEqual(2); // b's adopt and at most one heal
  });

  it('two stacks on one URL with different events: no PATCH ping-pong; the second patch back is second_writer', async () => {
    const a = stack('a');
    const b = stack('b');
    const eventsB = [...EVENTS, 'video_translate.success'];
    await a.register(EVENTS);
    clock.t += 5 * MINUTE;
    await b.register(eventsB); // adopts it and sets its events
    const patches = () => hg.fake.requestsTo('PATCH', /\/v3\/webhooks\/endpoints\//).length;
    const outcomes: string[] = [];
    for (let h = 1; h <= 12; h++) {
      clock.t += HOUR;
      outcomes.push((await a.register(EVENTS)).outcome, (await b.register(eventsB)).outcome);
    }
    expect(patches()).toBeLessThanOrEqual(2);
    expect(outcomes).toContain('second_writer');
  });

  it('our endpoint moved to another URL: brought back once; moved away again within a day is second_writer and it registers its own, not a tug of war', async () => {
    const a = stack('a');
    await a.register();
    const [ep] = hg.fake.endpointsFor(URL_A);
    const moveAway = () => {
      (hg.fake.endpoints.get(ep?.endpoint_id as string) as { url: string }).url = NEIGHBOUR_URL;
    };
    moveAway();
    clock.t += HOUR;
    expect((await a.register()).actions.map((x) => x.type)).toEqual(['update_url']);
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync'); // the patch it made is no evidence of anyone
    moveAway();
    clock.t += HOUR;
    const s2 = await a.register();
    expect(s2.outcome).toBe('second_writer');
    expect(hg.fake.endpoints.get(ep?.endpoint_id as string)?.url).toBe(NEIGHBOUR_URL);
    // It leaves that endpoint to the other writer and registers one of its own at its URL.
    expect(s2.actions.map((x) => x.type)).toEqual(['create', 'store_secret']);
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync');
  });

  it('our own configuration changing back and forth (X, Y, X within a day) is not a second writer', async () => {
    const a = stack('a');
    await a.register(EVENTS);
    for (const events of [[EVENTS[0] as string], EVENTS, [EVENTS[0] as string]]) {
      clock.t += HOUR;
      expect((await a.register(events)).outcome).toBe('changed');
      clock.t += HOUR;
      expect((await a.register(events)).outcome).toBe('in_sync');
    }
  });

  it('a disabled endpoint is never healed (rotating cannot enable it): endpoint_disabled, 0 rotations', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` });
    const before = rotations();
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(401);
    (ep as { status: string }).status = 'disabled';
    clock.t += 30 * MINUTE;
    const s = await a.register();
    expect(s.outcome).toBe('endpoint_disabled');
    expect(rotations()).toBe(before);
  });

  it('an intent whose replay keeps failing (HeyGen processed the rotate, replays its 5xx) is healed under a fresh key within hours, not 24 h', async () => {
    const a = stack('a');
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS); // an endpoint whose secret we do not hold: the run adopts it
    hg.fake.inject({ method: 'POST', path: /rotate-secret$/, status: 500, processed: true });
    const failures: string[] = [];
    let healed: ReconcileSummary | null = null;
    for (let h = 0; h < 24 && !healed; h++) {
      try {
        healed = await a.register();
      } catch (err) {
        failures.push((err as Error).name);
        clock.t += HOUR;
      }
    }
    expect(failures).toEqual(Array.from({ length: MAX_REPLAY_FAILURES }, () => 'HeyGenApiError'));
    expect(healed?.actions).toContainEqual(expect.objectContaining({ type: 'recover', freshKey: true, status: 'done' }));
    expect((await a.store.get())?.secret).toBe(hg.fake.endpoints.get(ep.endpoint_id)?.secret);
    expect((await a.register()).outcome).toBe('in_sync');
    expect(await a.receive(event())).toBe(200);
  });

  it('a rotation whose rotate-secret HeyGen processed and answers 5xx for its token: the registrar heals it under a fresh key and cancels the rotation', async () => {
    const sm = new FakeSecretsManager();
    try {
      const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
      sm.create('sig', serializeStoredSigningSecret({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A }));
      const lease = { store: new MemoryLeaseStore(() => clock.t), name: 'heygen:sig', now: () => clock.t };
      const store = new SecretsManagerSigningSecretStore(sm.client, 'sig');
      const token = sm.stageRotation('sig');
      const createSecret = () =>
        rotationStep(
          { SecretId: 'sig', ClientRequestToken: token, Step: 'createSecret' },
          { secrets: sm.client, heygen: hg.client, endpointUrl: URL_A, lease },
        );
      hg.fake.inject({ method: 'POST', path: /rotate-secret$/, status: 500, processed: true });
      await expect(createSecret()).rejects.toThrow(/HTTP 500/); // HeyGen rotated, the answer was a 500
      const register = () => reconcile({ url: URL_A, events: EVENTS }, { client: hg.client, secretStore: store, lease });
      const outcomes: string[] = [];
      for (let h = 0; h < 4; h++) {
        clock.t += HOUR;
        outcomes.push(
          await register().then(
            (r) => r.outcome,
            (e: Error) => e.name,
          ),
        );
      }
      expect(outcomes).toEqual(['HeyGenApiError', 'HeyGenApiError', 'changed', 'in_sync']);
      expect(JSON.parse(sm.value('sig') as string).secret).toBe(hg.fake.endpoints.get(ep.endpoint_id)?.secret);
      // Its retried steps find the rotation superseded: no more failing intents, no more rotations.
      const rotated = rotations();
      expect(await createSecret()).toBe('superseded');
      expect((await register()).outcome).toBe('in_sync');
      expect(rotations()).toBe(rotated);
    } finally {
      sm.mock.restore();
    }
  });

  /** A stack whose secret lives in the fake Secrets Manager (AWS's version stages) on the test's clock. */
  function smStack() {
    const sm = new FakeSecretsManager({ now: () => clock.t });
    sm.create('sig', '{"secret":null}');
    const st = stack('sm', new SecretsManagerSigningSecretStore(sm.client, 'sig'));
    const labels = () => {
      const holders = new Map(Object.entries(sm.stagesOf('sig')).flatMap(([id, tags]) => tags.map((t) => [t, id] as const)));
      return { current: holders.get('AWSCURRENT') as string, previous: holders.get('AWSPREVIOUS') as string };
    };
    /** A person pastes a value (PutSecretValue without stages: AWSCURRENT moves to it). */
    const paste = (value: string) => sm.client.send(new PutSecretValueCommand({ SecretId: 'sig', SecretString: value }));
    /** A person moves AWSCURRENT back to the version that held it before (`update-secret-version-stage`). */
    const moveBack = () => {
      const { current, previous } = labels();
      return sm.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'sig',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: previous,
          RemoveFromVersionId: current,
        }),
      );
    };
    return { ...st, sm, labels, paste, moveBack };
  }
  const wrongSecret = () => `whsec_${randomBytes(24).toString('base64url')}`;

  it("needless-rotation-label-moved-back: a wrong paste refused HeyGen's deliveries, then AWSCURRENT moved back to the version holding HeyGen's live secret, no run between: no heal (chaos --seed -1235102614 --path 1870)", async () => {
    const a = smStack();
    try {
      expect((await a.register()).outcome).toBe('changed'); // creates the endpoint, stores its secret
      clock.t += HOUR;
      expect((await a.register()).outcome).toBe('in_sync');
      clock.t += 5 * MINUTE;
      await a.paste(wrongSecret()); // an operator pastes a wrong secret: HeyGen's deliveries are refused
      clock.t += 20 * MINUTE;
      expect(await a.receive(event())).toBe(401); // an entry of ours, never recorded, refused: by the pasted version
      clock.t += 5 * MINUTE;
      await a.moveBack(); // the operator undoes the paste: AWSCURRENT back on the older version, HeyGen's live secret
      clock.t += 20 * MINUTE;
      // Its CreatedDate is hours old, so the refusal under the pasted version fell inside a window that started there.
      expect((await a.register()).outcome).toBe('in_sync');
      expect(rotations()).toBe(0);
      expect(await a.receive(event())).toBe(200);
      // A dead secret is still healed: a person rotates in HeyGen's dashboard an hour later.
      clock.t += HOUR;
      expect((await a.register()).outcome).toBe('in_sync');
      const [ep] = hg.fake.endpointsFor(URL_A);
      await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` });
      clock.t += MINUTE;
      expect(await a.receive(event())).toBe(401);
      clock.t += 15 * MINUTE;
      expect((await a.register()).outcome).toBe('secret_mismatch');
      expect(await a.receive(event())).toBe(200);
    } finally {
      a.sm.mock.restore();
    }
  });

  it("needless-rotation-filled-late: a rotation's version, made when the rotation started, filled with HeyGen's secret and made current hours later: refusals before are no proof", async () => {
    const a = smStack();
    try {
      expect((await a.register()).outcome).toBe('changed');
      clock.t += HOUR;
      expect((await a.register()).outcome).toBe('in_sync');
      await a.paste(wrongSecret()); // a wrong paste first
      clock.t += 5 * MINUTE;
      const token = a.sm.stageRotation('sig'); // Secrets Manager starts a rotation: its version is made now, empty
      const [ep] = hg.fake.endpointsFor(URL_A);
      const rotated = await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `rot-${token}` });
      // createSecret died after HeyGen answered: the relay holds the pasted value, HeyGen signs with a new one.
      clock.t += 25 * MINUTE;
      expect(await a.receive(event())).toBe(401);
      clock.t += 90 * MINUTE;
      // Its retry stores HeyGen's answer in that version, and finishSecret makes it current.
      const store = new SecretsManagerSigningSecretStore(a.sm.client, 'sig');
      const replaced = a.labels().current;
      await store.putPending(token, { secret: rotated.secret, endpointId: rotated.endpoint_id, url: URL_A, replaces: replaced });
      await store.moveCurrent(token, replaced);
      clock.t += MINUTE;
      expect((await a.register()).outcome).toBe('in_sync');
      expect(rotations()).toBe(1); // the rotation's own
      expect(await a.receive(event())).toBe(200);
    } finally {
      a.sm.mock.restore();
    }
  });

  it('no sighting yet (a deploy over a running stack): the first run only records it, and a dead secret is healed one run later', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` }); // the secret dies
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(401);
    a.heals.sighting = null; // the journal of a relay before this rule
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('in_sync'); // since when is this version current? unknown: no proof
    expect((await a.heals.readSighting())?.since).toBe(clock.t);
    clock.t += 6 * MINUTE;
    expect(await a.receive(event())).toBe(401);
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('secret_mismatch');
  });

  it('a sighting that cannot be recorded (its compare-and-set refused, the write fails, or lands and its answer is lost) gives no proof on that run, and never an earlier one', async () => {
    const a = stack('a');
    await a.register();
    clock.t += HOUR;
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` });
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(401);
    a.heals.sighting = null;
    const write = a.heals.recordSighting.bind(a.heals);
    // Refused (another writer recorded one meanwhile): the run warns and proves nothing.
    a.heals.recordSighting = async () => false;
    clock.t += 15 * MINUTE;
    const refused = await a.register();
    expect(refused.outcome).toBe('in_sync');
    expect(refused.warnings.join(' ')).toMatch(/could not record .*another writer/);
    // Fails before it: nothing recorded, the run warns and proves nothing.
    a.heals.recordSighting = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    clock.t += 15 * MINUTE;
    const failed = await a.register();
    expect(failed.outcome).toBe('in_sync');
    expect(failed.warnings.join(' ')).toMatch(/could not record/);
    expect(a.heals.sighting).toBeNull();
    // Lands, its answer lost: recorded as seen at this run, which the next run reads back.
    a.heals.recordSighting = async (next, expected) => {
      await write(next, expected);
      throw new Error('socket hang up');
    };
    clock.t += HOUR;
    const lost = clock.t;
    expect((await a.register()).outcome).toBe('in_sync');
    expect((await a.heals.readSighting())?.since).toBe(lost);
    a.heals.recordSighting = write;
    clock.t += 6 * MINUTE;
    expect(await a.receive(event())).toBe(401); // refused after that run plus the grace: proof
    clock.t += 15 * MINUTE;
    expect((await a.register()).outcome).toBe('secret_mismatch');
    expect(rotations()).toBe(2); // the dashboard's and the heal
  });

  it('a sighting that cannot be read never fails the run (the endpoint it created and the secret it stored stand)', async () => {
    const a = stack('a');
    a.heals.readSighting = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const created = await a.register();
    expect(created.outcome).toBe('changed');
    expect(created.warnings.join(' ')).toMatch(/could not record/);
    expect(await a.receive(event())).toBe(200);
  });
});
