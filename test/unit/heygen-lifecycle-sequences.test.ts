/**
 * The HeyGen lockout sequences of the secret-lifecycle issue, one test each, on the faithful fakes:
 * HeyGen's API (kills the old secret the moment rotate-secret answers, replays Idempotency-Keys for
 * 24 h) and Secrets Manager with AWS's version-stage semantics. Every test drives the public entry
 * points only (reconcile, rotationStep, the Secrets Manager store), so the same file runs against
 * the code before the lease and version checks existed, where each of them fails.
 *
 * After each sequence the system is made quiet (one more registrar run) and checked: exactly one
 * endpoint points at the relay, AWSCURRENT holds the secret HeyGen signs with, no retired value
 * stays accepted through AWSPENDING, and a rotation can still start and finish.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { reconcile, SecretWriter } from '../../providers/heygen/runtime/registrar.js';
import { type RotationEvent, rotationStep } from '../../providers/heygen/runtime/rotation.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const URL_B = 'https://def456.lambda-url.eu-west-1.on.aws/heygen';
const NAME = 'heygen-signing';
const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HeyGen lockout sequences (secret lifecycle)', () => {
  const hg = useFakeHeyGenServer();
  let sm: FakeSecretsManager;
  let client: HeyGenWebhookClient;
  let store: SecretsManagerSigningSecretStore;
  /** The one lease the registrar and the rotation share (as the deployed functions do, by name). */
  let lease: { store: MemoryLeaseStore; name: string };
  beforeEach(() => {
    sm = new FakeSecretsManager();
    sm.create(NAME, '{"secret":null}');
    client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: hg.fake.url, sleep: async () => {} });
    store = new SecretsManagerSigningSecretStore(sm.client, NAME);
    lease = { store: new MemoryLeaseStore(), name: `heygen:${NAME}` };
  });
  afterEach(() => {
    sm.mock.restore();
  });

  const registrar = (url = URL_A, secretStore = store) =>
    reconcile({ url, events: EVENTS }, { client, secretStore, lease: { ...lease, waitMs: 10_000 } });
  const step = (token: string, Step: string) =>
    rotationStep({ SecretId: NAME, ClientRequestToken: token, Step } as RotationEvent, {
      secrets: sm.client,
      heygen: client,
      endpointUrl: URL_A,
      lease,
    });
  const rotation = (options: { maxTries?: number } = {}) => sm.rotate(NAME, (e) => step(e.ClientRequestToken, e.Step), options);
  const current = () => JSON.parse(sm.value(NAME) ?? '{}') as { secret?: string | null; endpointId?: string };
  const heygenSecret = (id: string | undefined) => hg.fake.endpoints.get(id ?? '')?.secret;

  /** One more registrar run, then: the invariant of the issue, and a rotation still works. */
  async function quietAndHealthy(url = URL_A): Promise<void> {
    await registrar(url);
    const ours = hg.fake.endpointsFor(url);
    expect(ours).toHaveLength(1);
    expect(hg.fake.endpoints.size).toBe(1); // nothing of ours delivers anywhere else
    const [ep] = ours;
    expect(current().endpointId).toBe(ep?.endpoint_id);
    expect(current().secret).toBe(ep?.secret);
    // AWSPENDING, if anywhere, holds no retired value the ingress would keep accepting.
    const pending = sm.value(NAME, 'AWSPENDING');
    if (pending !== undefined) expect(JSON.parse(pending).secret).toBe(ep?.secret);
    // And the next rotation is not refused and ends on HeyGen's secret.
    await rotation();
    expect(current().secret).toBe(heygenSecret(ep?.endpoint_id));
  }

  it('sequence 1: two registrar runs overlap; the slower one must not store the secret the other killed', async () => {
    // Run A creates the endpoint and is slow to store its secret; run B starts meanwhile.
    const slow = Object.create(store) as SecretsManagerSigningSecretStore;
    slow.put = async (...args: Parameters<SecretsManagerSigningSecretStore['put']>) => {
      await sleep(400);
      return store.put(...args);
    };
    const a = registrar(URL_A, slow);
    while (hg.fake.endpointsFor(URL_A).length === 0) await sleep(5); // A's create has been answered
    const b = registrar(URL_A, store);
    await Promise.all([a, b]);
    const [ep] = hg.fake.endpointsFor(URL_A);
    expect(current().secret).toBe(ep?.secret);
    await quietAndHealthy();
  });

  it('sequence 2: a registrar write between createSecret and finishSecret is not overwritten by the dead pending value', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
    // An operator pasted the secret without its endpoint id: the registrar will adopt (rotate) it.
    await sm.client.send(new PutSecretValueCommand({ SecretId: NAME, SecretString: ep.secret }));
    const token = sm.stageRotation(NAME);
    expect(await step(token, 'createSecret')).toBe('rotated'); // HeyGen now signs with the pending secret
    await registrar(); // adopts: rotates again, stores AWSCURRENT
    expect(current().secret).toBe(heygenSecret(ep.endpoint_id));
    for (const s of ['setSecret', 'testSecret', 'finishSecret']) await step(token, s).catch(() => undefined);
    expect(current().secret).toBe(heygenSecret(ep.endpoint_id));
    await quietAndHealthy();
  });

  it('sequence 3: after a finished rotation, a registrar write leaves no retired value in AWSPENDING', async () => {
    await registrar();
    await rotation(); // AWS leaves AWSPENDING on the new (current) version unless the function removes it
    const [ep] = hg.fake.endpointsFor(URL_A);
    hg.fake.deleteBehindOurBack(ep?.endpoint_id as string); // re-created by the next run: a new current value
    await registrar();
    const [now] = hg.fake.endpointsFor(URL_A);
    expect(current().secret).toBe(now?.secret);
    expect(sm.liveValues(NAME).map((v) => JSON.parse(v).secret)).not.toContain(heygenSecret(ep?.endpoint_id) ?? 'x');
    const pending = sm.value(NAME, 'AWSPENDING');
    if (pending !== undefined) expect(JSON.parse(pending).secret).toBe(now?.secret);
    await quietAndHealthy();
  });

  it('sequence 4: an adopt after the stored value was lost again within 24 h does not replay the first adopt', async () => {
    const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
    await registrar(); // adopt: S1
    await rotation(); // S2
    expect(current().secret).toBe(heygenSecret(ep.endpoint_id));
    // The stored value is lost (restored from an old template, or reset by hand) within HeyGen's 24 h.
    await sm.client.send(new PutSecretValueCommand({ SecretId: NAME, SecretString: '{"secret":null}' }));
    await registrar(); // adopt again: must rotate anew, not be handed S1 back
    expect(current().secret).toBe(heygenSecret(ep.endpoint_id));
    await quietAndHealthy();
  });

  it('sequence 5: a rotation before any endpoint exists does not leave a pending copy that blocks every later rotation', async () => {
    await rotation(); // nothing registered yet
    await registrar(); // creates the endpoint, stores its secret
    const [ep] = hg.fake.endpointsFor(URL_A);
    expect(current().secret).toBe(ep?.secret);
    await quietAndHealthy();
  });

  it('sequence 6: a changed URL moves our endpoint instead of leaving the old one delivering elsewhere', async () => {
    await registrar(URL_A);
    const [ep] = hg.fake.endpointsFor(URL_A);
    await registrar(URL_B); // the relay's URL changed (a config change)
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(0);
    expect(hg.fake.endpointsFor(URL_B).map((e) => e.endpoint_id)).toEqual([ep?.endpoint_id]);
    // Someone edits it at HeyGen to a foreign URL: the next run points it back, secret unchanged.
    const edited = hg.fake.endpoints.get(ep?.endpoint_id as string);
    if (edited) edited.url = 'https://somewhere-else.example.com/hook';
    await registrar(URL_B);
    expect(hg.fake.endpoints.get(ep?.endpoint_id as string)?.url).toBe(URL_B);
    await quietAndHealthy(URL_B);
  });

  it('sequence 7: a crash after rotate-secret and before storing, retried after the 24 h key window, is healed', async () => {
    await registrar();
    const [ep] = hg.fake.endpointsFor(URL_A);
    // createSecret rotates at HeyGen, then dies before PutSecretValue; Secrets Manager gives up.
    sm.failNext('PutSecretValue', new Error('Task timed out after 60.00 seconds'));
    await expect(rotation({ maxTries: 1 })).rejects.toThrow('Task timed out');
    expect(current().secret).not.toBe(heygenSecret(ep?.endpoint_id)); // locked out right now
    hg.fake.advanceIdempotencyClock(25 * 3600 * 1000);
    await registrar(); // the next writer replays the recorded change (a fresh rotation after 24 h) and stores it
    expect(current().secret).toBe(heygenSecret(ep?.endpoint_id));
  });
});

describe('A writer that outlived its lease (a CLI stalled past the expiry)', () => {
  it('stores nothing once another writer took the lease over, even after that one rotated again', async () => {
    const fake = await FakeHeyGenApi.start();
    const sm = new FakeSecretsManager();
    try {
      sm.create(NAME, '{"secret":null}');
      const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, sleep: async () => {} });
      const store = new SecretsManagerSigningSecretStore(sm.client, NAME);
      const ep = fake.seedEndpoint(URL_A, EVENTS);
      const clock = { t: 1_000_000 };
      const leases = new MemoryLeaseStore(() => clock.t);
      // A takes the lease and rotates at HeyGen (recording the intent first), then stalls before storing.
      const a = await leases.tryAcquire('l', 'cli-A', 60_000);
      if ('busy' in a) throw new Error('unexpected');
      const writerA = new SecretWriter(a, leases, client, store, undefined, () => clock.t);
      const snapshot = await store.read();
      let resume: () => void = () => {};
      const stalled = new Promise<void>((r) => {
        resume = r;
      });
      const storingA = writerA.rotate(ep.endpoint_id, 'key-A', snapshot.version, async (rotated) => {
        await stalled; // the laptop sleeps here, HeyGen already switched to A's secret
        await writerA.storeIssued({ secret: rotated.secret, endpointId: ep.endpoint_id, url: URL_A }, snapshot.version);
      });
      while (fake.requestsTo('POST', /rotate-secret$/).length === 0) await sleep(5);
      clock.t += 120_000; // A's lease expires
      // B takes over: replays A's recorded rotation (same key, same secret), stores it, then rotates again.
      await reconcile(
        { url: URL_A, events: EVENTS },
        { client, secretStore: store, lease: { store: leases, name: 'l', now: () => clock.t } },
      );
      const b = await leases.tryAcquire('l', 'rotation-B', 60_000);
      if ('busy' in b) throw new Error('unexpected');
      const writerB = new SecretWriter(b, leases, client, store, undefined, () => clock.t);
      const before = await store.read();
      await writerB.rotate(ep.endpoint_id, 'key-B', before.version, async (rotated) => {
        await writerB.storeIssued({ secret: rotated.secret, endpointId: ep.endpoint_id, url: URL_A }, before.version);
      });
      await leases.release(b);
      expect(current(sm).secret).toBe(fake.endpoints.get(ep.endpoint_id)?.secret);
      // A wakes up: it must not write its (now dead) secret over B's.
      resume();
      await expect(storingA).rejects.toThrow(/lost the lease/);
      expect(current(sm).secret).toBe(fake.endpoints.get(ep.endpoint_id)?.secret);
    } finally {
      sm.mock.restore();
      await fake.close();
    }
  });
});

function current(sm: FakeSecretsManager): { secret?: string | null } {
  return JSON.parse(sm.value(NAME) ?? '{}') as { secret?: string | null };
}
