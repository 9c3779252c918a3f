/**
 * The JoggAI secret store on Secrets Manager stages, with the ingress's key source reading the same
 * secret. Every scenario runs twice: on the faithful fake (test/fakes/secrets-manager.ts, AWS's
 * version-stage semantics) and with the real AWS SDK against moto (test/support/moto.ts).
 * JoggAI is the stateful fake of its v2 API.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { SecretVersionConflictError } from '../../functions/core/secret-store.js';
import { JoggAiClient } from '../../providers/joggai/runtime/api/client.js';
import { readJoggAiApiKey, SecretsManagerJoggAiSecretStore } from '../../providers/joggai/runtime/aws-secret-store.js';
import { generationOf, reconcileJoggAi } from '../../providers/joggai/runtime/registrar.js';
import { rotateJoggAi } from '../../providers/joggai/runtime/rotation.js';
import { FakeJoggAi } from '../fakes/joggai-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { awsClientConfig } from '../support/moto.js';

const RELAY = 'https://abc.lambda-url.us-east-1.on.aws/joggai';
const A = { secret: 'whsec_a1b2c3d4e5f6g7h8i9j0', endpointId: 'wh_a', url: RELAY };
const B = { secret: 'whsec_k1l2m3n4o5p6q7r8s9t0', endpointId: 'wh_b', url: `${RELAY}/r1` };

interface Backend {
  /** A client on this backend and a fresh secret holding `initial` (AWSCURRENT). */
  secret(initial?: string): Promise<{ sm: SecretsManagerClient; id: string }>;
  /** A person's `aws secretsmanager put-secret-value` (a new version made AWSCURRENT, no version check). */
  overwrite(sm: SecretsManagerClient, id: string, value: string): Promise<void>;
}

/** On AWS (and the fake) a plain PutSecretValue makes the new version AWSCURRENT. */
async function plainPut(sm: SecretsManagerClient, id: string, value: string): Promise<void> {
  await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: value }));
}

/**
 * The same write, spelled so that moto ends where AWS does. A moto difference (not yet pinned in
 * test/integration/secrets-manager-contract.test.ts): after UpdateSecretVersionStage moved
 * AWSCURRENT, moto's plain PutSecretValue takes AWSCURRENT off its stale "default version" (the one
 * that held it before the move) and leaves it on the moved-to version as well, so two versions carry
 * AWSCURRENT and reads by stage still return the old one. Moving the label explicitly avoids that.
 */
async function motoPut(sm: SecretsManagerClient, id: string, value: string): Promise<void> {
  const token = randomUUID();
  await sm.send(
    new PutSecretValueCommand({ SecretId: id, SecretString: value, ClientRequestToken: token, VersionStages: ['OPERATOR'] }),
  );
  const d = await sm.send(new DescribeSecretCommand({ SecretId: id }));
  const current = Object.entries(d.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: id,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: token,
      ...(current ? { RemoveFromVersionId: current } : {}),
    }),
  );
}

const fakeSm = new FakeSecretsManager();
const backends: [string, Backend][] = [
  [
    'the Secrets Manager fake',
    {
      async secret(initial = JSON.stringify({ secret: null })) {
        return { sm: fakeSm.client, id: fakeSm.create(`joggai-${randomUUID()}`, initial, false) };
      },
      overwrite: plainPut,
    },
  ],
  [
    'moto (real AWS SDK)',
    {
      async secret(initial = JSON.stringify({ secret: null })) {
        const sm = new SecretsManagerClient(awsClientConfig(inject('motoEndpoint')));
        const out = await sm.send(new CreateSecretCommand({ Name: `joggai-${randomUUID()}`, SecretString: initial }));
        return { sm, id: out.ARN as string };
      },
      overwrite: motoPut,
    },
  ],
];

/** The labels of every version, keyed by the endpoint its value names (what a person sees in the console). */
async function stagesByEndpoint(sm: SecretsManagerClient, id: string, store: SecretsManagerJoggAiSecretStore) {
  const d = await sm.send(new DescribeSecretCommand({ SecretId: id }));
  const state = await store.get();
  return { versions: d.VersionIdsToStages ?? {}, state };
}

/** What the ingress accepts now, by label (no cache). */
async function ingressKeys(sm: SecretsManagerClient, id: string): Promise<Record<string, string>> {
  const source = new SecretsManagerKeySource(sm, id, { cacheTtlMs: 0, minRefreshIntervalMs: 0 });
  return Object.fromEntries((await source.getKeys()).map((k) => [k.label, k.secret]));
}

/** A client that dies (throws, like a crashed run) on the `nth` UpdateSecretVersionStage call, and passes everything else. */
function crashingOnStageMove(sm: SecretsManagerClient, nth: number): SecretsManagerClient {
  let seen = 0;
  return {
    send: (command: unknown, options?: unknown) => {
      if (command instanceof UpdateSecretVersionStageCommand && ++seen === nth)
        return Promise.reject(new Error('crash: the run died here'));
      return (sm.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    },
  } as unknown as SecretsManagerClient;
}

const fake = new FakeJoggAi();
let jogg: JoggAiClient;
beforeAll(async () => {
  jogg = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
});
afterAll(async () => {
  fakeSm.mock.restore();
  await fake.stop();
});

/** Endpoints at the relay's URLs, as JoggAI lists them. */
const ours = () => [...fake.endpoints.values()].filter((e) => generationOf(RELAY, e.url) !== null);

describe.each(backends)('SecretsManagerJoggAiSecretStore on %s', (_name, backend) => {
  it('reads nothing from an empty-safe secret, then holds current and pending as AWSCURRENT and AWSPENDING', async () => {
    const { sm, id } = await backend.secret();
    const store = new SecretsManagerJoggAiSecretStore(sm, id);
    const empty = await store.get();
    expect(empty).toMatchObject({ current: null, pending: null });
    const v1 = await store.putCurrent(A, empty.version);
    const pending = { ...B, replaces: v1, replacesEndpointId: A.endpointId };
    const p1 = await store.putPending(pending);
    const p2 = await store.putPending(pending); // re-stored (a fresh version): still one pending, the latest
    expect(p2).not.toBe(p1);
    expect(await store.get()).toEqual({ version: v1, current: A, pending: { version: p2, value: pending } });
    expect(await ingressKeys(sm, id)).toEqual({ AWSCURRENT: A.secret, AWSPENDING: B.secret });
    await store.promotePending({ version: p2, value: pending });
    expect(await store.get()).toEqual({ version: p2, current: pending, pending: null });
    // The old secret is accepted in the grace period; AWSPENDING is gone.
    expect(await ingressKeys(sm, id)).toEqual({ AWSCURRENT: B.secret, AWSPREVIOUS: A.secret });
  });

  it('refuses a stale write: putCurrent and promotePending are compare-and-set on the version read', async () => {
    const { sm, id } = await backend.secret();
    const store = new SecretsManagerJoggAiSecretStore(sm, id);
    const base = (await store.get()).version;
    const v1 = await store.putCurrent(A, base);
    await expect(store.putCurrent(B, base)).rejects.toBeInstanceOf(SecretVersionConflictError);
    const pending = { ...B, replaces: v1, replacesEndpointId: A.endpointId };
    const p = await store.putPending(pending);
    await backend.overwrite(sm, id, JSON.stringify(A)); // a person's write
    await expect(store.promotePending({ version: p, value: pending })).rejects.toBeInstanceOf(SecretVersionConflictError);
    expect((await store.get()).current).toEqual(A);
  });

  it('runs a full reconcile + rotation, the ingress accepting the right secrets at each step', async () => {
    fake.endpoints.clear();
    const { sm, id } = await backend.secret();
    const store = new SecretsManagerJoggAiSecretStore(sm, id);
    await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
    const first = (await store.get()).current;
    let duringOverlap: string[] = [];
    const res = await rotateJoggAi(
      { url: RELAY },
      {
        client: jogg,
        store,
        overlap: async () => {
          duringOverlap = Object.keys(await ingressKeys(sm, id));
        },
      },
    );
    expect(duringOverlap).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(res).toMatchObject({ from: { endpointId: first?.endpointId }, to: { url: `${RELAY}/r1` }, oldDeleted: true });
    expect((await store.get()).current?.endpointId).toBe(res.to.endpointId);
    expect([...fake.endpoints.keys()]).toEqual([res.to.endpointId]);
  });
});

describe('JoggAI sequence 8: a value that was current once can be made current again (an operator overwrote AWSCURRENT)', () => {
  it.each(backends)(
    'on %s: the next reconcile stores the endpoint secret again, and the run after it is in sync',
    async (_n, backend) => {
      fake.endpoints.clear();
      const { sm, id } = await backend.secret();
      const store = new SecretsManagerJoggAiSecretStore(sm, id);
      await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
      const [ep] = ours();
      const stored = { secret: ep?.secret, endpointId: ep?.endpoint_id, url: RELAY };
      expect((await store.get()).current).toEqual(stored);

      // A person pastes another value over AWSCURRENT (here: a secret of some other endpoint).
      await backend.overwrite(sm, id, JSON.stringify(B));
      expect((await ingressKeys(sm, id)).AWSCURRENT).toBe(B.secret);

      // The same value as before must become current again: JoggAI's endpoint still signs with it.
      const healed = await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
      expect(healed.actions).toEqual([{ type: 'adopt', endpointId: ep?.endpoint_id }]);
      expect((await store.get()).current).toEqual(stored);
      expect((await ingressKeys(sm, id)).AWSCURRENT).toBe(ep?.secret);
      expect(await reconcileJoggAi({ url: RELAY }, { client: jogg, store })).toMatchObject({ outcome: 'in_sync', actions: [] });
    },
  );
});

describe('JoggAI sequence 9: a crash between the two stage moves of the promotion', () => {
  it.each(backends)(
    'on %s: the retried rotation keeps the new endpoint (AWSCURRENT) and deletes the old one',
    async (_n, backend) => {
      fake.endpoints.clear();
      const { sm, id } = await backend.secret();
      const store = new SecretsManagerJoggAiSecretStore(sm, id);
      await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
      const [old] = ours();

      // The rotation dies after moving AWSCURRENT to the new version, before removing AWSPENDING.
      const dying = new SecretsManagerJoggAiSecretStore(crashingOnStageMove(sm, 2), id);
      await expect(rotateJoggAi({ url: RELAY }, { client: jogg, store: dying })).rejects.toThrow(/crash/);
      const next = ours().find((e) => e.endpoint_id !== old?.endpoint_id);
      const { versions, state } = await stagesByEndpoint(sm, id, store);
      expect(state.current?.endpointId).toBe(next?.endpoint_id);
      expect(Object.values(versions).filter((s) => s.includes('AWSCURRENT') && s.includes('AWSPENDING'))).toHaveLength(1);

      // The retry (Lambda retries the failed invocation) finishes that rotation: the endpoint that
      // survives is the one whose secret is AWSCURRENT.
      const retry = await rotateJoggAi({ url: RELAY }, { client: jogg, store });
      expect(ours().map((e) => e.endpoint_id)).toEqual([next?.endpoint_id]);
      expect((await ingressKeys(sm, id)).AWSCURRENT).toBe(next?.secret);
      expect(retry).toMatchObject({
        resumed: true,
        from: { endpointId: old?.endpoint_id },
        to: { endpointId: next?.endpoint_id, url: `${RELAY}/r1` },
        oldDeleted: true,
      });
      // AWSPENDING on the AWSCURRENT version is a finished promotion, not a rotation in progress.
      expect((await store.get()).pending).toBeNull();
      expect(await reconcileJoggAi({ url: RELAY }, { client: jogg, store })).toMatchObject({
        outcome: 'in_sync',
        endpointId: next?.endpoint_id,
      });
      // A later rotation starts from the new endpoint (moving the leftover AWSPENDING label).
      const later = await rotateJoggAi({ url: RELAY }, { client: jogg, store });
      expect(later).toMatchObject({ from: { endpointId: next?.endpoint_id }, to: { url: `${RELAY}/r2` }, oldDeleted: true });
      expect(ours().map((e) => e.url)).toEqual([`${RELAY}/r2`]);
      expect((await ingressKeys(sm, id)).AWSCURRENT).toBe(ours()[0]?.secret);
    },
  );

  it.each(backends)(
    'on %s: a pending value that no longer replaces AWSCURRENT is dropped, never promoted over it',
    async (_n, backend) => {
      fake.endpoints.clear();
      const { sm, id } = await backend.secret();
      const store = new SecretsManagerJoggAiSecretStore(sm, id);
      await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
      // A rotation stores its pending value and dies in the overlap...
      const dead = rotateJoggAi({ url: RELAY }, { client: jogg, store, overlap: () => Promise.reject(new Error('crash')) });
      await expect(dead).rejects.toThrow('crash');
      const stalePendingId = (await store.get()).pending?.value?.endpointId;
      // ...then the current endpoint is deleted at JoggAI and the registrar re-creates and stores it.
      const [current] = ours().filter((e) => e.endpoint_id !== stalePendingId);
      fake.endpoints.delete(current?.endpoint_id as string);
      await backend.overwrite(sm, id, JSON.stringify(A)); // and a person pasted a value
      const rec = await reconcileJoggAi({ url: RELAY }, { client: jogg, store });
      expect(rec.actions[0]).toEqual({ type: 'drop_pending', endpointId: stalePendingId, reason: 'stale_rotation' });
      // The stale pending's endpoint was the only one of ours left: it is kept and its secret adopted.
      expect(rec.endpointId).toBe(stalePendingId);
      expect((await store.get()).pending).toBeNull();
      expect(Object.keys(await ingressKeys(sm, id))).not.toContain('AWSPENDING');
      expect((await ingressKeys(sm, id)).AWSCURRENT).toBe(ours()[0]?.secret);
      expect(ours()).toHaveLength(1);
    },
  );
});

describe('readJoggAiApiKey', () => {
  it('reads the API key as plain text or {"apiKey"}, and null when unset', async () => {
    for (const [value, expected] of [
      ['jk_plain', 'jk_plain'],
      ['{"apiKey":"jk_json"}', 'jk_json'],
      ['{"apiKey":null}', null],
      ['   ', null],
    ] as const) {
      const id = fakeSm.create(`k-${randomUUID()}`, value, false);
      expect(await readJoggAiApiKey(fakeSm.client, id)).toBe(expected);
    }
    // A secret without any value yet: ResourceNotFoundException.
    const none = await fakeSm.client.send(new CreateSecretCommand({ Name: `k-${randomUUID()}` }));
    expect(await readJoggAiApiKey(fakeSm.client, none.ARN as string)).toBeNull();
  });
});
