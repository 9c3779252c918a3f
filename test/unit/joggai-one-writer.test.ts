/**
 * One writer at a time for JoggAI: registrar runs (reconcile, rotate) hold the lease of the JoggAI
 * signing secret. Overlapping runs use the real adapters the Lambda entry uses: the DynamoDB lease
 * and the Secrets Manager store, with the AWS SDK against moto; JoggAI is the stateful fake.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import { JoggAiClient } from '../../providers/joggai/runtime/api/client.js';
import { SecretsManagerJoggAiSecretStore } from '../../providers/joggai/runtime/aws-secret-store.js';
import { generationOf } from '../../providers/joggai/runtime/registrar.js';
import { type JoggAiRunAction, runJoggAiRegistrar } from '../../providers/joggai/runtime/run.js';
import { MemoryJoggAiSecretStore } from '../../providers/joggai/runtime/secret-store.js';
import { FakeJoggAi } from '../fakes/joggai-api.js';
import { awsClientConfig } from '../support/moto.js';
import { motoStateTable } from '../support/state-table.js';

const RELAY = 'https://abc.lambda-url.us-east-1.on.aws/joggai';

const fake = new FakeJoggAi();
let jogg: JoggAiClient;
beforeAll(async () => {
  jogg = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
});
afterAll(() => fake.stop());
beforeEach(() => fake.endpoints.clear());

const ours = () => [...fake.endpoints.values()].filter((e) => generationOf(RELAY, e.url) !== null);

describe('JoggAI runs under the one-writer lease', () => {
  it('a run that finds the lease held by another writer reports busy and calls nothing', async () => {
    const leases = new MemoryLeaseStore();
    await leases.tryAcquire('joggai:test', 'someone-else', 60_000);
    const store = new MemoryJoggAiSecretStore();
    const before = fake.calls.length;
    for (const action of ['reconcile', 'rotate'] as const) {
      const summary = await runJoggAiRegistrar(
        action,
        { url: RELAY },
        { client: jogg, store, lease: { store: leases, name: 'joggai:test', waitMs: 0 } },
      );
      expect(summary).toMatchObject({ action, outcome: 'busy', endpointId: null, reconcile: null });
      expect(summary.message).toMatch(/someone-else/);
    }
    expect(fake.calls.length).toBe(before);
    expect(store.history).toEqual([]);
  });

  it('without an injected lease, runs in one process exclude each other (in-process lease per store)', async () => {
    const store = new MemoryJoggAiSecretStore();
    const [a, b] = await Promise.all([
      runJoggAiRegistrar('reconcile', { url: RELAY }, { client: jogg, store }),
      runJoggAiRegistrar('reconcile', { url: RELAY }, { client: jogg, store }),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(['changed', 'in_sync']);
    expect(ours()).toHaveLength(1);
  });
});

describe('two overlapping JoggAI runs (reconcile and rotate interleaved) on the DynamoDB lease and Secrets Manager (moto)', () => {
  let state: Awaited<ReturnType<typeof motoStateTable>>;
  let sm: SecretsManagerClient;
  beforeAll(async () => {
    state = await motoStateTable('joggai-one-writer');
    sm = new SecretsManagerClient(awsClientConfig(inject('motoEndpoint')));
  });

  const cases: [string, JoggAiRunAction, JoggAiRunAction, number][] = [
    ['reconcile, then rotate at once', 'reconcile', 'rotate', 0],
    ['rotate, then reconcile 15 ms later', 'rotate', 'reconcile', 15],
    ['reconcile, then rotate 40 ms later', 'reconcile', 'rotate', 40],
    ['rotate, then reconcile during its overlap wait', 'rotate', 'reconcile', 120],
  ];

  it.each(cases)('%s: ends with exactly one endpoint of ours, whose secret is AWSCURRENT', async (_n, first, second, delayMs) => {
    fake.endpoints.clear();
    const secret = await sm.send(
      new CreateSecretCommand({ Name: `joggai-ow-${randomUUID()}`, SecretString: JSON.stringify({ secret: null }) }),
    );
    const id = secret.ARN as string;
    const leaseName = `joggai:${id}`;
    const run = (action: JoggAiRunAction) =>
      runJoggAiRegistrar(
        action,
        { url: RELAY },
        {
          client: jogg,
          // Each run has its own store instance and lease owner, as two Lambda invocations would.
          store: new SecretsManagerJoggAiSecretStore(sm, id),
          overlap: () => new Promise((r) => setTimeout(r, 200)),
          lease: { store: state.leases, name: leaseName, owner: `run-${action}-${randomUUID()}`, waitMs: 10_000 },
        },
      );
    const a = run(first);
    await new Promise((r) => setTimeout(r, delayMs));
    const b = run(second);
    const [ra, rb] = await Promise.all([a, b]);
    const outcomes = { [first]: ra.outcome, [second]: rb.outcome };
    expect(outcomes.rotate).toBe('rotated');
    expect(['changed', 'in_sync']).toContain(outcomes.reconcile);

    const [only, ...more] = ours();
    expect(more).toEqual([]);
    expect(only?.url).toBe(`${RELAY}/r1`);
    const source = new SecretsManagerKeySource(sm, id, { cacheTtlMs: 0, minRefreshIntervalMs: 0 });
    const keys = Object.fromEntries((await source.getKeys()).map((k) => [k.label, k.secret]));
    expect(keys.AWSCURRENT).toBe(only?.secret);
    expect(keys.AWSPENDING).toBeUndefined();
    const store = new SecretsManagerJoggAiSecretStore(sm, id);
    expect((await store.get()).pending).toBeNull();
    // Quiet: one more run changes nothing.
    expect(await run('reconcile')).toMatchObject({ outcome: 'in_sync', endpointId: only?.endpoint_id });
  });
});
