import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { HeyGenWebhookClient, IDEMPOTENCY_KEY_PATTERN } from '../../providers/heygen/runtime/api/client.js';
import { changeIdempotencyKey, type RegistrarLogger, reconcile } from '../../providers/heygen/runtime/registrar.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const EVENTS = ['avatar_video.success', 'avatar_video.fail'];

function recordingLogger(): RegistrarLogger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
}

describe('Function: reconcile', () => {
  const hg = useFakeHeyGenServer();
  let client: HeyGenWebhookClient;
  beforeEach(() => {
    client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: hg.fake.url, sleep: async () => {} });
  });

  const mutations = () => hg.fake.requests.filter((r) => r.method !== 'GET');

  it('creates the endpoint when absent and stores its secret, then is in sync', async () => {
    const store = new MemorySigningSecretStore();
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.outcome).toBe('changed');
    expect(summary.actions.map((a) => `${a.type}:${a.status}`)).toEqual(['create:done', 'store_secret:done']);
    const [ep] = hg.fake.endpointsFor(URL_A);
    expect(summary.endpointId).toBe(ep?.endpoint_id);
    expect(await store.get()).toEqual({ secret: ep?.secret, endpointId: ep?.endpoint_id, url: URL_A });
    expect(hg.fake.requestsTo('POST', /endpoints$/)[0]?.headers['idempotency-key']).toMatch(IDEMPOTENCY_KEY_PATTERN);

    hg.fake.requests.length = 0;
    const again = await reconcile({ url: URL_A, events: [...EVENTS].reverse() }, { client, secretStore: store });
    expect(again.outcome).toBe('in_sync');
    expect(again.actions).toEqual([]);
    expect(mutations()).toEqual([]);
  });

  it('is safe when two runs overlap: they take turns on the lease, one endpoint, its live secret stored', async () => {
    hg.fake.slow({ method: 'POST', path: /endpoints$/, ms: 200 });
    const store = new MemorySigningSecretStore();
    const [a, b] = await Promise.all([
      reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store }),
      reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store }),
    ]);
    const [ep] = hg.fake.endpointsFor(URL_A);
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
    expect((await store.get())?.secret).toBe(ep?.secret);
    expect([a.outcome, b.outcome].sort()).toEqual(['changed', 'in_sync']);
  });

  it('subscribes to all events with events: null', async () => {
    const store = new MemorySigningSecretStore();
    await reconcile({ url: URL_A, events: null }, { client, secretStore: store });
    expect(hg.fake.endpointsFor(URL_A)[0]?.events).toBeNull();
    expect(hg.fake.requestsTo('POST', /endpoints$/)[0]?.body).toEqual({ url: URL_A, events: null });
  });

  it('PATCHes the events (full list) when the endpoint subscribes to others', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, ['avatar_video.success']);
    const store = new MemorySigningSecretStore({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A });
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.actions.map((a) => a.type)).toEqual(['update']);
    expect(hg.fake.endpoints.get(ep.endpoint_id)?.events?.sort()).toEqual([...EVENTS].sort());
    expect(hg.fake.requestsTo('PATCH', /endpoints\//)[0]?.body).toEqual({ events: [...EVENTS].sort() });
    expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(1); // no rotation
  });

  it('PATCHes to all events (null) when desired is null', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, ['avatar_video.success']);
    const store = new MemorySigningSecretStore({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A });
    await reconcile({ url: URL_A, events: null }, { client, secretStore: store });
    expect(hg.fake.endpoints.get(ep.endpoint_id)?.events).toBeNull();
  });

  it('reports a disabled endpoint as the outcome endpoint_disabled (alarmed), with one warning saying what to do', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
    ep.status = 'disabled';
    const logger = recordingLogger();
    const store = new MemorySigningSecretStore({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A });
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store, logger });
    expect(summary.outcome).toBe('endpoint_disabled');
    expect(summary.actions).toEqual([]);
    expect(summary.warnings[0]).toMatch(/enable it in HeyGen's dashboard/);
    expect(summary.warnings).toEqual([expect.stringMatching(/is 'disabled'/)]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('rotates the secret when the endpoint exists but no secret is stored', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
    const store = new MemorySigningSecretStore();
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.actions.map((a) => a.type)).toEqual(['rotate', 'store_secret']);
    expect(summary.actions[0]).toMatchObject({ reason: 'no_secret_stored' });
    expect((await store.get())?.secret).toBe(hg.fake.endpoints.get(ep.endpoint_id)?.secret);
    expect(hg.fake.requestsTo('POST', /rotate-secret$/)[0]?.headers['idempotency-key']).toMatch(/^hgr-adopt-/);
  });

  it('rotates when the stored secret belongs to another endpoint (or is a plain string)', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
    const store = new MemorySigningSecretStore({ secret: 'whsec_old', endpointId: 'ep_gone', url: URL_A });
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.actions[0]).toMatchObject({ type: 'rotate', reason: 'secret_for_other_endpoint' });
    expect(await store.get()).toMatchObject({
      endpointId: ep.endpoint_id,
      secret: hg.fake.endpoints.get(ep.endpoint_id)?.secret,
    });

    const plain = new MemorySigningSecretStore({ secret: 'whsec_manual', endpointId: null, url: null });
    const s2 = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: plain });
    expect(s2.actions[0]).toMatchObject({ type: 'rotate', reason: 'no_secret_stored' });
  });

  it('re-creates the endpoint when it was deleted behind our back, with a new Idempotency-Key', async () => {
    const store = new MemorySigningSecretStore();
    await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    const first = (await store.get())?.endpointId as string;
    hg.fake.deleteBehindOurBack(first);

    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.actions[0]).toMatchObject({ type: 'create', reason: 'deleted_behind_our_back' });
    const keys = hg.fake.requestsTo('POST', /endpoints$/).map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]); // otherwise HeyGen would replay the deleted endpoint for 24 h
    const [now] = hg.fake.endpointsFor(URL_A);
    expect(now?.endpoint_id).not.toBe(first);
    expect(await store.get()).toEqual({ secret: now?.secret, endpointId: now?.endpoint_id, url: URL_A });
  });

  it('keeps the endpoint whose secret we hold and deletes duplicates', async () => {
    const a = hg.fake.seedEndpoint(URL_A, EVENTS);
    const b = hg.fake.seedEndpoint(URL_A, EVENTS);
    const c = hg.fake.seedEndpoint(URL_A, ['avatar_video.fail']);
    const other = hg.fake.seedEndpoint('https://someone-else.example.com/hook');
    const store = new MemorySigningSecretStore({ secret: b.secret, endpointId: b.endpoint_id, url: URL_A });
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.found.matching).toHaveLength(3);
    expect(summary.endpointId).toBe(b.endpoint_id);
    expect(summary.actions.map((a) => `${a.type}:${'endpointId' in a ? a.endpointId : ''}`)).toEqual([
      `delete:${a.endpoint_id}`,
      `delete:${c.endpoint_id}`,
    ]);
    expect([...hg.fake.endpoints.keys()].sort()).toEqual([b.endpoint_id, other.endpoint_id].sort());
  });

  it('keeps the oldest duplicate and adopts it when we hold no secret', async () => {
    const a = hg.fake.seedEndpoint(URL_A, EVENTS);
    hg.fake.seedEndpoint(URL_A, EVENTS);
    const store = new MemorySigningSecretStore();
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.endpointId).toBe(a.endpoint_id);
    expect(summary.actions.map((x) => x.type)).toEqual(['rotate', 'store_secret', 'delete']);
    expect(hg.fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([a.endpoint_id]);
    expect((await store.get())?.secret).toBe(hg.fake.endpoints.get(a.endpoint_id)?.secret);
  });

  it('recovers from a 409 conflict (created concurrently) by re-reading the list', async () => {
    const store = new MemorySigningSecretStore();
    const racing = Object.create(client) as HeyGenWebhookClient;
    racing.createEndpoint = async (body, options) => {
      hg.fake.seedEndpoint(body.url, [...(body.events ?? [])]); // someone else won the race
      return client.createEndpoint(body, options);
    };
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client: racing, secretStore: store });
    expect(summary.actions.map((a) => a.type)).toEqual(['rotate', 'store_secret']);
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
    expect((await store.get())?.secret).toBe(hg.fake.endpointsFor(URL_A)[0]?.secret);
  });

  it('adopts the endpoint at our URL when moving ours back gets 409 conflict (another endpoint took our URL), not failing every run', async () => {
    const ours = hg.fake.seedEndpoint(URL_A, EVENTS);
    const store = new MemorySigningSecretStore({ secret: ours.secret, endpointId: ours.endpoint_id, url: URL_A });
    (hg.fake.endpoints.get(ours.endpoint_id) as { url: string }).url = 'https://elsewhere.example.com/hook'; // a person moved it
    const other = hg.fake.seedEndpoint(URL_A, EVENTS); // e.g. a second stack registered our URL meanwhile
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(summary.actions.map((a) => `${a.type}:${a.status}`)).toEqual(['rotate:done', 'store_secret:done']);
    expect(summary.warnings.join('\n')).toMatch(/refused to move it back/);
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
    expect(await store.get()).toMatchObject({
      endpointId: other.endpoint_id,
      secret: hg.fake.endpoints.get(other.endpoint_id)?.secret,
    });
    const again = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(again.outcome).toBe('in_sync');
  });

  it('reports a missing API key once, naming the secret to fill, without throwing', async () => {
    const logger = recordingLogger();
    const summary = await reconcile(
      { url: URL_A, events: EVENTS },
      {
        client: null,
        secretStore: new MemorySigningSecretStore(),
        logger,
        apiKeySecretName: 'arn:aws:secretsmanager:x:1:secret:heygen-api-key',
      },
    );
    expect(summary.outcome).toBe('missing_api_key');
    expect(summary.message).toContain('arn:aws:secretsmanager:x:1:secret:heygen-api-key');
    expect(logger.lines).toHaveLength(1);
    expect(hg.fake.requests).toEqual([]);
  });

  it('reports a rejected API key as unauthorized, without throwing', async () => {
    const bad = new HeyGenWebhookClient({ apiKey: 'nope-nope', baseUrl: hg.fake.url });
    const logger = recordingLogger();
    const summary = await reconcile(
      { url: URL_A, events: EVENTS },
      { client: bad, secretStore: new MemorySigningSecretStore(), logger, apiKeySecretName: 'heygen-key' },
    );
    expect(summary.outcome).toBe('unauthorized');
    expect(logger.lines.map((l) => l.level)).toEqual(['error']);
    expect(logger.lines[0]?.message).not.toContain('nope-nope');
  });

  it('plans without changing anything in a dry run', async () => {
    const store = new MemorySigningSecretStore();
    const planAbsent = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store, dryRun: true });
    expect(planAbsent.outcome).toBe('planned');
    expect(planAbsent.actions.map((a) => `${a.type}:${a.status}`)).toEqual(['create:planned']);

    const a = hg.fake.seedEndpoint(URL_A, ['avatar_video.fail']);
    hg.fake.seedEndpoint(URL_A, EVENTS);
    const plan = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store, dryRun: true });
    expect(plan.actions.map((x) => `${x.type}:${x.status}`)).toEqual(['update:planned', 'rotate:planned', 'delete:planned']);
    expect(plan.endpointId).toBe(a.endpoint_id);
    expect(mutations()).toEqual([]);
    expect(await store.get()).toBeNull();
  });

  describe('crash between HeyGen answer and storing the secret', () => {
    it('create: the retried run replays the recorded create (same key, same endpoint and secret), no rotation', async () => {
      const store = new MemorySigningSecretStore();
      const crashing = Object.create(store) as MemorySigningSecretStore;
      crashing.put = async () => {
        throw new Error('Lambda timed out');
      };
      await expect(reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: crashing })).rejects.toThrow(
        'Lambda timed out',
      );
      const [ep] = hg.fake.endpointsFor(URL_A);
      const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
      expect(summary.actions.map((a) => a.type)).toEqual(['recover', 'store_secret']);
      expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
      expect((await store.get())?.secret).toBe(hg.fake.endpoints.get(ep?.endpoint_id as string)?.secret);
      expect(hg.fake.requestsTo('POST', /rotate-secret$/)).toHaveLength(0);
      const keys = hg.fake.requestsTo('POST', /endpoints$/).map((r) => r.headers['idempotency-key']);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toBe(keys[1]);
    });

    it('rotate (adopt): the retried run gets the same secret, no second rotation', async () => {
      const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
      const store = new MemorySigningSecretStore();
      const crashing = Object.create(store) as MemorySigningSecretStore;
      crashing.put = async () => {
        throw new Error('crash');
      };
      await expect(reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: crashing })).rejects.toThrow('crash');
      const afterFirst = hg.fake.endpoints.get(ep.endpoint_id)?.secret;
      await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
      expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(2); // seed + one rotation
      expect((await store.get())?.secret).toBe(afterFirst);
      const keys = hg.fake.requestsTo('POST', /rotate-secret$/).map((r) => r.headers['idempotency-key']);
      expect(keys[0]).toBe(keys[1]);
    });

    it('the fake replays a create with the same key (same endpoint, same secret)', async () => {
      const key = changeIdempotencyKey('create', { name: 'l', fence: 1 }, null, URL_A);
      const first = await client.createEndpoint({ url: URL_A, events: EVENTS }, { idempotencyKey: key });
      const replay = await client.createEndpoint({ url: URL_A, events: EVENTS }, { idempotencyKey: key });
      expect(replay.secret).toBe(first.secret);
    });
  });
});

describe('Idempotency keys', () => {
  it('match the spec pattern and differ for every lease grant and replaced state', () => {
    const k1 = changeIdempotencyKey('adopt', { name: 'heygen:s', fence: 1 }, 'v1', 'ep_1');
    expect(k1).toMatch(IDEMPOTENCY_KEY_PATTERN);
    expect(changeIdempotencyKey('adopt', { name: 'heygen:s', fence: 1 }, 'v1', 'ep_1')).toBe(k1);
    expect(changeIdempotencyKey('adopt', { name: 'heygen:s', fence: 2 }, 'v1', 'ep_1')).not.toBe(k1);
    expect(changeIdempotencyKey('adopt', { name: 'heygen:s', fence: 1 }, 'v2', 'ep_1')).not.toBe(k1);
    expect(changeIdempotencyKey('create', { name: 'heygen:s', fence: 1 }, 'v1', 'ep_1')).not.toBe(k1);
  });
});

describe('Function: reconcile (a create key is never reused)', () => {
  it("creates anew although an earlier create (crashed, its endpoint deleted since) is within HeyGen's replay window", async () => {
    const fake = await FakeHeyGenApi.start();
    try {
      const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
      const store = new MemorySigningSecretStore();
      const crashing = Object.create(store) as MemorySigningSecretStore;
      crashing.put = async () => {
        throw new Error('crash');
      };
      await expect(reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: crashing })).rejects.toThrow('crash');
      const [ghost] = fake.endpointsFor(URL_A);
      fake.deleteBehindOurBack(ghost?.endpoint_id as string);
      const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
      const [live] = fake.endpointsFor(URL_A);
      expect(live?.endpoint_id).not.toBe(ghost?.endpoint_id);
      expect(summary.endpointId).toBe(live?.endpoint_id);
      expect(await store.get()).toEqual({ secret: live?.secret, endpointId: live?.endpoint_id, url: URL_A });
      // The crashed create was replayed once under its own key (it answered with the deleted endpoint,
      // so nothing was stored); the new endpoint got a key never used before.
      const keys = fake.requestsTo('POST', /endpoints$/).map((r) => r.headers['idempotency-key']);
      expect(keys).toHaveLength(3);
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).not.toBe(keys[0]);
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe("Function: reconcile (a leftover create past HeyGen's 24 h replay window)", () => {
  const DAY_AND_AN_HOUR = 25 * 3_600_000;
  let fake: FakeHeyGenApi;
  let client: HeyGenWebhookClient;
  beforeEach(async () => {
    fake = await FakeHeyGenApi.start();
    client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, sleep: async () => {} });
  });
  afterEach(async () => {
    expect(fake.violations).toEqual([]);
    await fake.close();
  });

  /** A run crashed after HeyGen created the endpoint and before the secret was stored. */
  async function crashAfterCreate(store: MemorySigningSecretStore) {
    const crashing = Object.create(store) as MemorySigningSecretStore;
    crashing.put = async () => {
      throw new Error('Lambda timed out');
    };
    await expect(reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: crashing })).rejects.toThrow(
      'Lambda timed out',
    );
    const [made] = fake.endpointsFor(URL_A);
    return made as NonNullable<typeof made>;
  }

  async function expectAdopted(
    store: MemorySigningSecretStore,
    made: { endpoint_id: string },
    summary: { actions: readonly { type: string }[] },
  ) {
    expect(summary.actions.map((a) => a.type)).toEqual(['recover', 'rotate', 'store_secret']);
    expect(fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([made.endpoint_id]);
    expect(await store.get()).toEqual({
      secret: fake.endpoints.get(made.endpoint_id)?.secret,
      endpointId: made.endpoint_id,
      url: URL_A,
    });
    const again = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(again.outcome).toBe('in_sync');
  }

  it('an intent older than 24 h is dropped, not replayed: the run adopts the endpoint HeyGen made (no 409 on every run)', async () => {
    const store = new MemorySigningSecretStore();
    const made = await crashAfterCreate(store);
    fake.advanceIdempotencyClock(DAY_AND_AN_HOUR);
    const later = () => Date.now() + DAY_AND_AN_HOUR;
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store, now: later });
    expect(fake.requestsTo('POST', /endpoints$/)).toHaveLength(1); // the crashed create only: no replay
    await expectAdopted(store, made, summary);
  });

  it('a replay HeyGen answers with 409 conflict (it forgot the key, the endpoint has our URL) adopts that endpoint', async () => {
    const store = new MemorySigningSecretStore();
    const made = await crashAfterCreate(store);
    fake.advanceIdempotencyClock(DAY_AND_AN_HOUR); // HeyGen's clock ran ahead of ours
    const summary = await reconcile({ url: URL_A, events: EVENTS }, { client, secretStore: store });
    expect(fake.requestsTo('POST', /endpoints$/)).toHaveLength(2); // the replay, refused
    await expectAdopted(store, made, summary);
  });
});

describe('Function: reconcile (events left alone)', () => {
  it('does not PATCH when desired events are undefined, and creates with all events', async () => {
    const fake = await FakeHeyGenApi.start();
    try {
      const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
      const ep = fake.seedEndpoint(URL_A, ['avatar_video.fail']);
      const store = new MemorySigningSecretStore({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A });
      expect((await reconcile({ url: URL_A }, { client, secretStore: store })).outcome).toBe('in_sync');
      fake.deleteBehindOurBack(ep.endpoint_id);
      await reconcile({ url: URL_A }, { client, secretStore: store });
      expect(fake.endpointsFor(URL_A)[0]?.events).toBeNull();
      expect(fake.violations).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
