/** JoggAI client, registrar and rotation against the stateful fake of JoggAI's v2 API. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretVersionConflictError } from '../../functions/core/secret-store.js';
import { JoggAiClient } from '../../providers/joggai/runtime/api/client.js';
import { JoggAiApiError, JoggAiAuthError, JoggAiNotFoundError } from '../../providers/joggai/runtime/api/errors.js';
import { JOGGAI_EVENT_TYPES } from '../../providers/joggai/runtime/events.js';
import { generationOf, reconcileJoggAi, rotationUrl } from '../../providers/joggai/runtime/registrar.js';
import { JoggAiRotationError, rotateJoggAi } from '../../providers/joggai/runtime/rotation.js';
import { runJoggAiRegistrar } from '../../providers/joggai/runtime/run.js';
import { MemoryJoggAiSecretStore } from '../../providers/joggai/runtime/secret-store.js';
import { FakeJoggAi } from '../fakes/joggai-api.js';

const RELAY = 'https://abc.lambda-url.us-east-1.on.aws/joggai';
const ALL = [...JOGGAI_EVENT_TYPES].sort();

describe('JoggAI fake and client', () => {
  const fake = new FakeJoggAi();
  let client: JoggAiClient;
  beforeAll(async () => {
    client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.endpoints.clear());

  it('creates, lists (with the secret), replaces and deletes an endpoint', async () => {
    const created = await client.createEndpoint({ url: RELAY, status: 'enabled', events: ['generated_video_success'] });
    expect(created).toMatchObject({ url: RELAY, status: 'enabled', events: ['generated_video_success'] });
    expect(created.secret).toMatch(/^whsec_/);
    expect(await client.listEndpoints()).toEqual([
      expect.objectContaining({ endpoint_id: created.endpoint_id, secret: created.secret }),
    ]);
    const updated = await client.updateEndpoint(created.endpoint_id, {
      url: RELAY,
      status: 'disabled',
      events: ['generated_video_failed'],
    });
    expect(updated).toMatchObject({ status: 'disabled', events: ['generated_video_failed'], secret: created.secret });
    await client.deleteEndpoint(created.endpoint_id);
    expect(await client.listEndpoints()).toEqual([]);
  });

  it.each([
    ['a missing field (events)', { url: RELAY, status: 'enabled' }, /40000.*events/],
    ['a URL that is not a URI', { url: 'not a url', status: 'enabled', events: ['generated_video_success'] }, /40000.*format/],
    ['an unknown status', { url: RELAY, status: 'on', events: ['generated_video_success'] }, /40000/],
    ['an unknown event', { url: RELAY, status: 'enabled', events: ['nope'] }, /40000.*unknown event/],
  ])('rejects a create with %s as parameter error 40000 (validated against the OpenAPI file)', async (_n, input, message) => {
    const err = await client.createEndpoint(input as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoggAiApiError);
    expect((err as JoggAiApiError).code).toBe(40000);
    expect((err as Error).message).toMatch(message);
  });

  it('maps 10104 to JoggAiNotFoundError, 10105 to JoggAiAuthError, 50000 to a retryable error', async () => {
    await expect(client.deleteEndpoint('wh_missing')).rejects.toBeInstanceOf(JoggAiNotFoundError);
    await expect(client.updateEndpoint('wh_missing', { url: RELAY, status: 'enabled', events: ALL })).rejects.toBeInstanceOf(
      JoggAiNotFoundError,
    );
    const bad = new JoggAiClient({ apiKey: 'wrong', baseUrl: fake.url });
    const auth = await bad.listEndpoints().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(JoggAiAuthError);
    expect((auth as Error).message).not.toContain('wrong');
    fake.failNext('list', 50000);
    const sys = await client.listEndpoints().catch((e: unknown) => e);
    expect(sys).toMatchObject({ code: 50000, retryable: true });
  });

  it('enforces the 20-endpoint limit', async () => {
    for (let i = 0; i < 20; i++) fake.seed({ url: `https://other.example/${i}` });
    await expect(client.createEndpoint({ url: RELAY, status: 'enabled', events: ALL })).rejects.toMatchObject({ code: 40000 });
  });

  it('reports an unreachable API and a non-envelope answer as retryable errors', async () => {
    const down = new JoggAiClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
    await expect(down.listEndpoints()).rejects.toMatchObject({ code: -1, retryable: true });
    const html = new JoggAiClient({ apiKey: 'k', baseUrl: fake.url, fetch: async () => new Response('<html>', { status: 502 }) });
    await expect(html.listEndpoints()).rejects.toMatchObject({ code: -1, httpStatus: 502, retryable: true });
  });
});

describe('JoggAI registrar: reconcile', () => {
  const fake = new FakeJoggAi();
  let client: JoggAiClient;
  let store: MemoryJoggAiSecretStore;
  beforeAll(async () => {
    client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
  });
  afterAll(() => fake.stop());
  beforeEach(() => {
    fake.endpoints.clear();
    store = new MemoryJoggAiSecretStore();
  });
  const run = (events?: string[]) => reconcileJoggAi({ url: RELAY, ...(events ? { events } : {}) }, { client, store });

  it('derives rotation URLs and generations', () => {
    expect(rotationUrl(RELAY, 0)).toBe(RELAY);
    expect(rotationUrl(`${RELAY}/`, 3)).toBe(`${RELAY}/r3`);
    expect(generationOf(RELAY, `${RELAY}/r12`)).toBe(12);
    expect(generationOf(RELAY, `${RELAY}/`)).toBe(0);
    expect(generationOf(RELAY, `${RELAY}/x`)).toBeNull();
    expect(generationOf(RELAY, 'https://abc.lambda-url.us-east-1.on.aws/heygen')).toBeNull();
  });

  it('creates the endpoint with all events and stores its secret; a second run is in sync', async () => {
    const first = await run();
    expect(first.outcome).toBe('changed');
    expect(first.actions).toEqual([expect.objectContaining({ type: 'create', reason: 'absent', url: RELAY })]);
    const [ep] = [...fake.endpoints.values()];
    expect(ep).toMatchObject({ url: RELAY, status: 'enabled' });
    expect([...(ep?.events ?? [])].sort()).toEqual(ALL);
    expect(store.current).toEqual({ secret: ep?.secret, endpointId: ep?.endpoint_id, url: RELAY });
    expect(await run()).toMatchObject({ outcome: 'in_sync', actions: [] });
  });

  it('adopts an existing endpoint at our URL (JoggAI lists its secret) instead of creating one', async () => {
    const ep = fake.seed({ url: RELAY });
    const res = await run();
    expect(res.actions).toEqual([{ type: 'adopt', endpointId: ep.endpoint_id }]);
    expect(store.current?.secret).toBe(ep.secret);
    expect(fake.endpoints.size).toBe(1);
  });

  it('replaces events and re-enables with a full PUT', async () => {
    await run();
    const [ep] = [...fake.endpoints.values()];
    if (ep) Object.assign(ep, { status: 'disabled', events: ['generated_video_success'] });
    const res = await run(['generated_video_failed', 'generated_video_success']);
    expect(res.actions).toEqual([{ type: 'update', endpointId: ep?.endpoint_id }]);
    expect(ep).toMatchObject({ status: 'enabled', events: ['generated_video_failed', 'generated_video_success'], url: RELAY });
    expect(fake.calls.filter((c) => c.method === 'PUT').at(-1)?.code).toBe(0);
  });

  it('re-creates at the stored URL when the endpoint was deleted behind our back', async () => {
    await run();
    const oldId = store.current?.endpointId;
    await rotateJoggAi({ url: RELAY }, { client, store });
    const r1 = store.current;
    fake.endpoints.clear();
    const res = await run();
    expect(res.actions).toEqual([
      expect.objectContaining({ type: 'create', reason: 'deleted_behind_our_back', url: `${RELAY}/r1` }),
    ]);
    expect(store.current?.endpointId).not.toBe(r1?.endpointId);
    expect(store.current?.endpointId).not.toBe(oldId);
  });

  it('keeps the stored endpoint and deletes duplicates of ours, leaving other URLs alone', async () => {
    await run();
    const keep = store.current?.endpointId;
    const dup = fake.seed({ url: `${RELAY}/r7` });
    const dup2 = fake.seed({ url: RELAY });
    const foreign = fake.seed({ url: 'https://elsewhere.example/hook' });
    const res = await run();
    expect(
      res.actions
        .filter((a) => a.type === 'delete')
        .map((a) => a.endpointId)
        .sort(),
    ).toEqual([dup.endpoint_id, dup2.endpoint_id].sort());
    expect([...fake.endpoints.keys()].sort()).toEqual([keep, foreign.endpoint_id].sort());
  });

  it('without a stored secret keeps the newest of several and adopts it', async () => {
    fake.seed({ url: RELAY });
    const newest = fake.seed({ url: `${RELAY}/r2` });
    const res = await run();
    expect(res.endpointId).toBe(newest.endpoint_id);
    expect(store.current?.secret).toBe(newest.secret);
    expect(fake.endpoints.size).toBe(1);
  });

  it('does not delete the pending endpoint of a rotation in progress', async () => {
    await run();
    const pending = fake.seed({ url: `${RELAY}/r1` });
    await store.putPending({
      secret: pending.secret,
      endpointId: pending.endpoint_id,
      url: pending.url,
      replaces: store.version as string,
      replacesEndpointId: store.current?.endpointId as string,
    });
    expect(await run()).toMatchObject({ outcome: 'in_sync' });
    expect(fake.endpoints.has(pending.endpoint_id)).toBe(true);
  });

  it('reports limit_reached (and creates nothing) when the account holds 20 endpoints', async () => {
    for (let i = 0; i < 20; i++) fake.seed({ url: `https://other.example/${i}` });
    const res = await run();
    expect(res.outcome).toBe('limit_reached');
    expect(res.message).toMatch(/20/);
    expect(fake.endpoints.size).toBe(20);
    expect(store.current).toBeNull();
  });

  it('reports missing_api_key without calling JoggAI, and unauthorized for a rejected key', async () => {
    const before = fake.calls.length;
    expect(await reconcileJoggAi({ url: RELAY }, { client: null, store })).toMatchObject({ outcome: 'missing_api_key' });
    expect(fake.calls.length).toBe(before);
    const bad = new JoggAiClient({ apiKey: 'nope', baseUrl: fake.url });
    expect(await reconcileJoggAi({ url: RELAY }, { client: bad, store })).toMatchObject({ outcome: 'unauthorized' });
  });

  it('throws on a system error (the scheduler retries) and converges on the next run', async () => {
    fake.failNext('create', 50000);
    await expect(run()).rejects.toMatchObject({ code: 50000 });
    expect(store.current).toBeNull();
    expect((await run()).outcome).toBe('changed');
    expect(fake.endpoints.size).toBe(1);
  });

  it('treats a duplicate that vanished before its delete (10104) as done', async () => {
    await run();
    const dup = fake.seed({ url: `${RELAY}/r3` });
    fake.failNext('delete', 10104);
    const res = await run();
    expect(res.actions).toEqual([{ type: 'delete', endpointId: dup.endpoint_id, reason: 'duplicate' }]);
  });

  it('keeps the pending endpoint of a rotation (no third endpoint) when the current one was deleted behind our back', async () => {
    await run();
    const crashed = rotateJoggAi({ url: RELAY }, { client, store, overlap: () => Promise.reject(new Error('crash')) });
    await expect(crashed).rejects.toThrow('crash');
    const pending = store.pending?.value;
    fake.endpoints.delete(store.current?.endpointId as string);
    const res = await run();
    expect(res).toMatchObject({ outcome: 'changed', endpointId: pending?.endpointId });
    expect(res.actions).toEqual([{ type: 'adopt', endpointId: pending?.endpointId }]);
    expect(store.current).toEqual({ secret: pending?.secret, endpointId: pending?.endpointId, url: `${RELAY}/r1` });
    expect(store.pending).toBeNull();
    expect([...fake.endpoints.keys()]).toEqual([pending?.endpointId]);
  });

  it('stores compare-and-set: a write by someone else between the read and the store fails the run instead of being overwritten', async () => {
    const racing = new MemoryJoggAiSecretStore();
    const put = racing.putCurrent.bind(racing);
    racing.putCurrent = async (value, expected) => {
      racing.overwrite({ secret: 'whsec_pasted0123456789ab', endpointId: 'wh_pasted', url: RELAY }); // a person, just now
      return put(value, expected);
    };
    await expect(reconcileJoggAi({ url: RELAY }, { client, store: racing })).rejects.toBeInstanceOf(SecretVersionConflictError);
    expect(racing.current?.endpointId).toBe('wh_pasted');

    // A registrar run re-reads after such a conflict and stores what JoggAI lists.
    let raced = false;
    racing.putCurrent = async (value, expected) => {
      if (!raced) racing.overwrite({ secret: 'whsec_pasted0123456789cd', endpointId: 'wh_pasted', url: RELAY });
      raced = true;
      return put(value, expected);
    };
    const summary = await runJoggAiRegistrar('reconcile', { url: RELAY }, { client, store: racing });
    expect(summary.outcome).toBe('changed');
    expect(racing.current?.endpointId).toBe(summary.endpointId);
    expect(racing.current?.secret).toBe(fake.endpoints.get(summary.endpointId as string)?.secret);
  });
});

describe('JoggAI rotation: overlap two endpoints', () => {
  const fake = new FakeJoggAi();
  let client: JoggAiClient;
  let store: MemoryJoggAiSecretStore;
  beforeAll(async () => {
    client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
  });
  afterAll(() => fake.stop());
  beforeEach(async () => {
    fake.endpoints.clear();
    store = new MemoryJoggAiSecretStore();
    await reconcileJoggAi({ url: RELAY }, { client, store });
  });

  it('creates r1, accepts both secrets during the overlap, promotes, deletes the old endpoint', async () => {
    const old = store.current;
    let during: string[] = [];
    const res = await rotateJoggAi(
      { url: RELAY },
      {
        client,
        store,
        overlap: async () => {
          during = store.liveSecrets();
        },
      },
    );
    expect(res).toMatchObject({
      from: { endpointId: old?.endpointId, url: RELAY },
      to: { url: `${RELAY}/r1` },
      oldDeleted: true,
      resumed: false,
    });
    expect(during).toHaveLength(2);
    expect(during).toContain(old?.secret);
    expect(store.current?.url).toBe(`${RELAY}/r1`);
    expect(store.pending).toBeNull();
    expect(store.liveSecrets()).toContain(old?.secret); // previous, within the grace period
    expect([...fake.endpoints.values()].map((e) => e.url)).toEqual([`${RELAY}/r1`]);
    const again = await rotateJoggAi({ url: RELAY }, { client, store });
    expect(again.to.url).toBe(`${RELAY}/r2`);
  });

  it('resumes a rotation that crashed after storing the pending secret', async () => {
    fake.failNext('delete', 50000); // not a crash yet: shows a failed delete is left to reconcile
    const first = await rotateJoggAi({ url: RELAY }, { client, store });
    expect(first.oldDeleted).toBe(false);
    expect(fake.endpoints.size).toBe(2);
    expect((await reconcileJoggAi({ url: RELAY }, { client, store })).actions).toEqual([
      expect.objectContaining({ type: 'delete' }),
    ]);
    // Crash between putPending and promote: run again.
    const crashing = rotateJoggAi({ url: RELAY }, { client, store, overlap: async () => Promise.reject(new Error('crash')) });
    await expect(crashing).rejects.toThrow('crash');
    expect(store.pending?.value.url).toBe(`${RELAY}/r2`);
    const resumed = await rotateJoggAi({ url: RELAY }, { client, store });
    expect(resumed).toMatchObject({ resumed: true, to: { url: `${RELAY}/r2` }, oldDeleted: true });
    expect([...fake.endpoints.values()].map((e) => e.url)).toEqual([`${RELAY}/r2`]);
  });

  it('adopts the endpoint a crashed attempt created before it could store the secret', async () => {
    const orphan = fake.seed({ url: `${RELAY}/r1` });
    const res = await rotateJoggAi({ url: RELAY }, { client, store });
    expect(res).toMatchObject({ adopted: true, to: { endpointId: orphan.endpoint_id } });
    expect(fake.endpoints.size).toBe(1);
  });

  it('re-creates when the pending endpoint vanished', async () => {
    await store.putPending({
      secret: 'whsec_gone0123456789abcdef',
      endpointId: 'wh_gone',
      url: `${RELAY}/r1`,
      replaces: store.version as string,
      replacesEndpointId: store.current?.endpointId as string,
    });
    const res = await rotateJoggAi({ url: RELAY }, { client, store });
    expect(res.to.endpointId).not.toBe('wh_gone');
    expect(res.to.url).toBe(`${RELAY}/r1`);
  });

  it('refuses at the 20-endpoint limit and without a stored endpoint', async () => {
    for (let i = 0; i < 19; i++) fake.seed({ url: `https://other.example/${i}` });
    await expect(rotateJoggAi({ url: RELAY }, { client, store })).rejects.toBeInstanceOf(JoggAiRotationError);
    expect(store.pending).toBeNull();
    await expect(rotateJoggAi({ url: RELAY }, { client, store: new MemoryJoggAiSecretStore() })).rejects.toThrow(
      /registrar first/,
    );
  });
});
