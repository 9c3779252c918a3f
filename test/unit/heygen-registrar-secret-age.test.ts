/**
 * The HeyGen registrar entry (providers/heygen/runtime/entries/registrar.ts) emits `SigningSecretAgeSeconds`: the age of
 * AWSCURRENT's version, from the CreatedDate its GetSecretValue read returns (no extra call), 0 on
 * the run that stored it, nothing while no secret is stored. Its own EMF blob, dimension `service`
 * only (what the dashboard graphs). The clock is Date only (vi.useFakeTimers toFake Date).
 */
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReconcileSummary } from '../../providers/heygen/runtime/registrar.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { capturePowertools, type Emf } from '../support/powertools-output.js';
import { motoStateTable } from '../support/state-table.js';

const URL_A = 'https://age123.lambda-url.eu-west-1.on.aws/heygen';
const T0 = Date.parse('2026-11-01T00:00:00Z');

function context(): Context {
  return { functionName: 'registrar', awsRequestId: 'req-age', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
}

type Handler = (e: unknown, c: Context) => Promise<ReconcileSummary>;

async function run(handler: Handler): Promise<{ summary: ReconcileSummary; age: Emf[] }> {
  const out = await capturePowertools(() => handler({}, context()));
  if (out.threw) throw out.error;
  const age = out.emf.filter((b) =>
    b._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === 'SigningSecretAgeSeconds')),
  );
  return { summary: out.result as ReconcileSummary, age };
}

describe('Lambda entry: HeyGen registrar, metric SigningSecretAgeSeconds', () => {
  let fake: FakeHeyGenApi;
  let sm: FakeSecretsManager;

  beforeAll(async () => {
    fake = await FakeHeyGenApi.start();
    sm = new FakeSecretsManager(true);
    const state = await motoStateTable();
    for (const [k, v] of Object.entries({
      SIGNING_SECRET_ARN: 'signing-age',
      API_KEY_SECRET_ARN: 'apikey-age',
      ENDPOINT_URL: URL_A,
      EVENTS: '',
      HEYGEN_API_URL: fake.url,
      AWS_REGION: 'us-east-1',
      STATE_TABLE_NAME: state.name,
      LEASE_NAME: 'heygen:signing-age',
      AWS_ENDPOINT_URL_DYNAMODB: state.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      POWERTOOLS_SERVICE_NAME: 'heygen-relay-registrar',
      POWERTOOLS_METRICS_NAMESPACE: 'HeyGenRelay',
    }))
      vi.stubEnv(k, v);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    sm.mock.restore();
    vi.unstubAllEnvs();
    await fake.close();
  });

  it('is absent while no secret is stored, 0 on the run that stores it, then the age of the current version', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    sm.create('signing-age', JSON.stringify({ secret: null }));
    sm.create('apikey-age', JSON.stringify({ apiKey: null }));
    vi.resetModules();
    const { handler } = (await import('../../providers/heygen/runtime/entries/registrar.js')) as { handler: Handler };

    // No API key and no secret yet: nothing to age.
    const none = await run(handler);
    expect(none.summary.outcome).toBe('missing_api_key');
    expect(none.summary.signingSecretAgeSeconds).toBeUndefined();
    expect(none.age).toEqual([]);

    // The run that creates the endpoint stores its secret: age 0.
    sm.create('apikey-age', FAKE_API_KEY);
    const first = await run(handler);
    expect(first.summary.outcome).toBe('changed');
    expect(first.summary.signingSecretAgeSeconds).toBe(0);
    expect(first.age).toHaveLength(1);

    // Three days and 17 s later, an in-sync run reports the stored version's age.
    vi.setSystemTime(T0 + 3 * 86_400_000 + 17_000);
    sm.mock.resetHistory();
    const later = await run(handler);
    // From what the run reads anyway (DescribeSecret, then GetSecretValue of AWSCURRENT): no extra call.
    expect(sm.mock.calls().map((c) => `${c.args[0].constructor.name} ${JSON.stringify(c.args[0].input)}`)).toEqual([
      'GetSecretValueCommand {"SecretId":"apikey-age"}',
      'DescribeSecretCommand {"SecretId":"signing-age"}',
      expect.stringMatching(/^GetSecretValueCommand \{"SecretId":"signing-age","VersionId":"[^"]+"\}$/),
    ]);
    expect(later.summary.outcome).toBe('in_sync');
    expect(later.summary.signingSecretAgeSeconds).toBe(3 * 86_400 + 17);
    expect(later.age).toHaveLength(1);
    const blob = later.age[0] as Emf;
    expect(blob.SigningSecretAgeSeconds).toBe(3 * 86_400 + 17);
    expect(blob.service).toBe('heygen-relay-registrar');
    expect(blob._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'HeyGenRelay',
        Dimensions: [['service']],
        Metrics: [{ Name: 'SigningSecretAgeSeconds', Unit: 'Seconds' }],
      },
    ]);

    // A run that stops early (the key is refused) still reports the stored secret's age.
    sm.create('apikey-age', 'not-a-valid-key');
    vi.setSystemTime(T0 + 4 * 86_400_000);
    const refused = await run(handler);
    expect(refused.summary.outcome).toBe('unauthorized');
    expect(refused.summary.signingSecretAgeSeconds).toBe(4 * 86_400);
    expect((refused.age[0] as Emf).SigningSecretAgeSeconds).toBe(4 * 86_400);
  });
});
