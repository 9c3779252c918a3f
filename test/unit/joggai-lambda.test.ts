/**
 * The JoggAI registrar Lambda entry (providers/joggai/runtime/entries/registrar.ts) as Lambda runs it: imported
 * once with its environment (read at import), every SecretsManagerClient mocked by
 * aws-sdk-client-mock (test/fakes/secrets-manager.ts: versions and staging labels), JoggAI played
 * by the stateful fake (test/fakes/joggai-api.ts, requests validated against the OpenAPI file).
 * Each run's stdout is parsed: one summary line, and the EMF blob of `RegistrarRuns`.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoggAiRunSummary } from '../../providers/joggai/runtime/run.js';
import { FakeJoggAi } from '../fakes/joggai-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { registerSensitive } from '../support/log-capture.js';
import { capturePowertools, type Emf } from '../support/powertools-output.js';
import { motoStateTable } from '../support/state-table.js';

const RELAY = 'https://abc123.lambda-url.us-east-1.on.aws/joggai';
const EVENTS = ['generated_video_success', 'generated_video_failed'];

function context(ms = 60_000): Context {
  return { functionName: 'joggai-registrar', awsRequestId: 'req-1', getRemainingTimeInMillis: () => ms } as unknown as Context;
}

/** Runs the handler and returns what it wrote to stdout, split into log lines and EMF blobs. */
async function run(handler: (e: unknown, c: Context) => Promise<JoggAiRunSummary>, event: unknown) {
  return capturePowertools(() => handler(event, context()));
}

function registrarRuns(emf: Emf[]) {
  const blobs = emf.filter((b) => b._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === 'RegistrarRuns')));
  expect(blobs).toHaveLength(1);
  const blob = blobs[0] as Emf;
  const directive = blob._aws.CloudWatchMetrics[0];
  return {
    namespace: directive?.Namespace,
    dimensions: directive?.Dimensions[0] ?? [],
    provider: blob.provider,
    outcome: blob.Outcome,
    runs: blob.RegistrarRuns,
  };
}

describe('Lambda entry: JoggAI registrar (providers/joggai/runtime/entries/registrar.ts)', () => {
  const fake = new FakeJoggAi();
  let sm: FakeSecretsManager;
  let handler: (e: unknown, c: Context) => Promise<JoggAiRunSummary>;
  let signingArn: string;
  let apiKeyArn: string;
  let state: Awaited<ReturnType<typeof motoStateTable>>;

  beforeAll(async () => {
    const apiUrl = await fake.start();
    registerSensitive(fake.apiKey, 'api_key');
    sm = new FakeSecretsManager(true);
    signingArn = sm.create('jogg-signing', JSON.stringify({ secret: null }), false);
    apiKeyArn = sm.create('jogg-apikey', JSON.stringify({ apiKey: null }), false);
    vi.stubEnv('SIGNING_SECRET_ARN', signingArn);
    vi.stubEnv('API_KEY_SECRET_ARN', apiKeyArn);
    vi.stubEnv('ENDPOINT_URL', RELAY);
    vi.stubEnv('EVENTS', JSON.stringify(EVENTS));
    vi.stubEnv('JOGGAI_API_URL', apiUrl);
    vi.stubEnv('ROTATION_OVERLAP_SECONDS', '0.05');
    // The lease lives in a real DynamoDB table on moto (the SDK's own endpoint variable points there).
    state = await motoStateTable('joggai-lambda');
    vi.stubEnv('STATE_TABLE_NAME', state.name);
    vi.stubEnv('LEASE_NAME', 'joggai:signing');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', state.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'heygen-relay-joggai-registrar');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'HeyGenRelay');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.resetModules();
    ({ handler } = await import('../../providers/joggai/runtime/entries/registrar.js'));
    // Read once: changing the environment after the import (a warm start) changes nothing.
    vi.stubEnv('ENDPOINT_URL', 'https://elsewhere.example/joggai');
    vi.stubEnv('EVENTS', '["generated_avatar_video_success"]');
    vi.stubEnv('JOGGAI_API_URL', 'http://127.0.0.1:1');
  });
  afterAll(async () => {
    for (const e of fake.endpoints.values()) registerSensitive(e.secret, 'secret');
    sm.mock.restore();
    vi.unstubAllEnvs();
    await fake.stop();
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });

  it('without an API key: one warning naming the secret, one summary, RegistrarRuns{Outcome=missing_api_key}; no throw, no JoggAI call', async () => {
    for (const event of [{}, { action: 'rotate' }]) {
      const { result, error, emf, logs } = await run(handler, event);
      expect(error).toBeUndefined();
      expect(result?.outcome).toBe('missing_api_key');
      expect(fake.calls).toEqual([]);
      const warnings = logs.filter((l) => l.level === 'WARN');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain(apiKeyArn);
      expect(logs.filter((l) => l.message === 'joggai registrar run')).toHaveLength(1);
      expect(logs.filter((l) => l.level === 'ERROR')).toEqual([]);
      expect(logs).toHaveLength(2);
      expect(registrarRuns(emf)).toEqual({
        namespace: 'HeyGenRelay',
        dimensions: ['service', 'provider', 'Outcome'],
        provider: 'joggai',
        outcome: 'missing_api_key',
        runs: 1,
      });
    }
    expect(sm.value('jogg-signing')).toBe(JSON.stringify({ secret: null }));
  });

  it('reconcile: creates the endpoint at the URL and events read at import, stores its secret; then in_sync', async () => {
    await sm.client.send(
      new (await import('@aws-sdk/client-secrets-manager')).PutSecretValueCommand({
        SecretId: apiKeyArn,
        SecretString: JSON.stringify({ apiKey: fake.apiKey }),
      }),
    );
    const scheduled = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    const first = await run(handler, scheduled);
    expect(first.error).toBeUndefined();
    expect(first.result).toMatchObject({ action: 'reconcile', outcome: 'changed', reconcile: { actions: [{ type: 'create' }] } });
    const [ep, ...more] = [...fake.endpoints.values()];
    expect(more).toEqual([]);
    expect(ep).toMatchObject({ url: RELAY, status: 'enabled' });
    expect([...(ep?.events ?? [])].sort()).toEqual([...EVENTS].sort());
    expect(JSON.parse(sm.value('jogg-signing') as string)).toEqual({
      secret: ep?.secret,
      endpointId: ep?.endpoint_id,
      url: RELAY,
    });
    expect(first.logs.map((l) => l.message)).toEqual(['joggai registrar run']);
    expect(JSON.stringify(first.logs)).not.toContain(ep?.secret);
    expect(registrarRuns(first.emf)).toMatchObject({ provider: 'joggai', outcome: 'changed' });

    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v2/endpoints', 'POST /v2/endpoint']);
    // The run held the one-writer lease in the state table, and let go of it.
    const lease = await state.client.send(
      new GetItemCommand({ TableName: state.name, Key: { pk: { S: 'lease#joggai:signing' } }, ConsistentRead: true }),
    );
    expect(Number(lease.Item?.fence?.N)).toBeGreaterThanOrEqual(1);
    expect(lease.Item?.owner).toBeUndefined();
    fake.calls.length = 0;
    const second = await run(handler, {});
    expect(second.result).toMatchObject({ outcome: 'in_sync', endpointId: ep?.endpoint_id, reconcile: { actions: [] } });
    expect(registrarRuns(second.emf).outcome).toBe('in_sync');
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v2/endpoints']);
  });

  it('rotate: second endpoint at /r1 staged AWSPENDING, promoted to AWSCURRENT, old one deleted (AWSPREVIOUS)', async () => {
    const before = [...fake.endpoints.values()][0];
    const { result, error, emf, logs } = await run(handler, { action: 'rotate' });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({
      action: 'rotate',
      outcome: 'rotated',
      reconcile: { outcome: 'in_sync' },
      rotation: { from: { endpointId: before?.endpoint_id }, to: { url: `${RELAY}/r1` }, oldDeleted: true },
    });
    const [now, ...more] = [...fake.endpoints.values()];
    expect(more).toEqual([]);
    expect(now?.url).toBe(`${RELAY}/r1`);
    expect(result?.endpointId).toBe(now?.endpoint_id);
    expect(JSON.parse(sm.value('jogg-signing') as string).secret).toBe(now?.secret);
    expect(JSON.parse(sm.value('jogg-signing', 'AWSPREVIOUS') as string).secret).toBe(before?.secret);
    expect(sm.value('jogg-signing', 'AWSPENDING')).toBeUndefined();
    expect(fake.calls.map((c) => `${c.method} ${c.path.replace(/wh_\d+/, ':id')}`)).toEqual([
      'GET /v2/endpoints', // reconcile
      'GET /v2/endpoints', // rotation
      'POST /v2/endpoint',
      'DELETE /v2/endpoint/:id',
    ]);
    // The rotation's progress lines, then the one summary.
    expect(logs.map((l) => l.message)).toEqual([
      'JoggAI rotation: second endpoint live, both secrets accepted',
      'JoggAI rotation finished',
      'joggai registrar run',
    ]);
    expect(registrarRuns(emf)).toMatchObject({ provider: 'joggai', outcome: 'rotated' });
    // The next reconcile keeps the rotated endpoint.
    expect((await run(handler, {})).result).toMatchObject({ outcome: 'in_sync', endpointId: now?.endpoint_id });
  });

  describe("sequence 10: at JoggAI's 20-endpoint limit", () => {
    it('a rotation that cannot create its second endpoint reports Outcome=limit_reached (alarmed), changes nothing, and does not throw', async () => {
      const ours = [...fake.endpoints.values()];
      expect(ours).toHaveLength(1);
      const foreign = Array.from({ length: 19 }, (_, i) => fake.seed({ url: `https://other.example/hook/${i}` }));
      const currentBefore = sm.value('jogg-signing');
      const { result, error, emf, logs } = await run(handler, { action: 'rotate' });
      expect(error).toBeUndefined();
      expect(result).toMatchObject({
        action: 'rotate',
        outcome: 'limit_reached',
        endpointId: ours[0]?.endpoint_id,
        reconcile: { outcome: 'in_sync' },
        message: expect.stringMatching(/20 webhook endpoints.*delete an endpoint/),
      });
      expect(result?.rotation).toBeUndefined();
      expect(registrarRuns(emf)).toMatchObject({ provider: 'joggai', outcome: 'limit_reached', runs: 1 });
      expect(logs.map((l) => [l.level, l.message.slice(0, 24)])).toEqual([
        ['WARN', 'JoggAI allows 20 webhook'],
        ['INFO', 'joggai registrar run'],
      ]);
      expect(fake.endpoints.size).toBe(20);
      expect(sm.value('jogg-signing')).toBe(currentBefore);
      expect(sm.value('jogg-signing', 'AWSPENDING')).toBeUndefined();

      // Our endpoint deleted behind our back while the account is full: reconcile cannot re-create it.
      fake.endpoints.delete(ours[0]?.endpoint_id as string);
      fake.seed({ url: 'https://other.example/hook/19' });
      const full = await run(handler, {});
      expect(full.result).toMatchObject({ outcome: 'limit_reached', endpointId: null });
      expect(registrarRuns(full.emf).outcome).toBe('limit_reached');

      // A person frees slots: the next run re-creates the endpoint.
      for (const e of [...foreign, ...fake.endpoints.values()]) fake.endpoints.delete(e.endpoint_id);
      expect((await run(handler, {})).result).toMatchObject({ outcome: 'changed', reconcile: { actions: [{ type: 'create' }] } });
    });
  });

  it('a failed run logs one error and counts Outcome=failed, then throws (the scheduler retries)', async () => {
    fake.failNext('list', 50000);
    const failed = await run(handler, {});
    expect(failed.error).toMatchObject({ code: 50000 });
    expect(failed.logs.map((l) => [l.level, l.message])).toEqual([['ERROR', 'joggai registrar run failed']]);
    expect(registrarRuns(failed.emf)).toMatchObject({ provider: 'joggai', outcome: 'failed' });

    const unknown = await run(handler, { action: 'rotat' });
    expect(String(unknown.error)).toMatch(/unknown action "rotat"/);
    expect(registrarRuns(unknown.emf).outcome).toBe('failed');
  });

  it('a rejected API key is outcome unauthorized, not an error', async () => {
    const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    await sm.client.send(new PutSecretValueCommand({ SecretId: apiKeyArn, SecretString: 'jogg_revoked_key' }));
    registerSensitive('jogg_revoked_key', 'api_key');
    const { result, error, emf } = await run(handler, { action: 'rotate' });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'unauthorized', message: expect.stringMatching(/rotation skipped/) });
    expect(registrarRuns(emf).outcome).toBe('unauthorized');
  });
});

describe('Function: readJoggAiRegistrarEnv', () => {
  it('requires the ARNs and URL, parses EVENTS and the overlap', async () => {
    vi.stubEnv('SIGNING_SECRET_ARN', 's');
    vi.stubEnv('API_KEY_SECRET_ARN', 'a');
    vi.stubEnv('ENDPOINT_URL', RELAY);
    vi.stubEnv('STATE_TABLE_NAME', 't');
    vi.stubEnv('LEASE_NAME', 'l');
    const { readJoggAiRegistrarEnv } = await import('../../providers/joggai/runtime/entries/registrar.js');
    const base = {
      SIGNING_SECRET_ARN: 's',
      API_KEY_SECRET_ARN: 'a',
      ENDPOINT_URL: RELAY,
      STATE_TABLE_NAME: 't',
      LEASE_NAME: 'l',
    };
    expect(readJoggAiRegistrarEnv(base)).toEqual({
      signingSecretArn: 's',
      apiKeySecretArn: 'a',
      endpointUrl: RELAY,
      events: null,
      apiUrl: 'https://api.jogg.ai',
      overlapMs: 30_000,
      stateTableName: 't',
      leaseName: 'l',
    });
    expect(readJoggAiRegistrarEnv({ ...base, EVENTS: '["a"]', ROTATION_OVERLAP_SECONDS: '2.5' })).toMatchObject({
      events: ['a'],
      overlapMs: 2_500,
    });
    expect(() => readJoggAiRegistrarEnv({ ...base, ENDPOINT_URL: ' ' })).toThrow(/ENDPOINT_URL/);
    expect(() => readJoggAiRegistrarEnv({ ...base, EVENTS: '[]' })).toThrow(/EVENTS/);
    expect(() => readJoggAiRegistrarEnv({ ...base, EVENTS: '{"a":1}' })).toThrow(/EVENTS/);
    expect(() => readJoggAiRegistrarEnv({ ...base, ROTATION_OVERLAP_SECONDS: '-1' })).toThrow(/ROTATION_OVERLAP_SECONDS/);
    // The overlap wait must fit the function's 2 min timeout next to a lease wait and the calls.
    expect(readJoggAiRegistrarEnv({ ...base, ROTATION_OVERLAP_SECONDS: '60' }).overlapMs).toBe(60_000);
    expect(() => readJoggAiRegistrarEnv({ ...base, ROTATION_OVERLAP_SECONDS: '61' })).toThrow(/ROTATION_OVERLAP_SECONDS/);
    expect(() => readJoggAiRegistrarEnv({ ...base, LEASE_NAME: '' })).toThrow(/LEASE_NAME/);
    expect(() => readJoggAiRegistrarEnv({ ...base, STATE_TABLE_NAME: '' })).toThrow(/STATE_TABLE_NAME/);
    vi.unstubAllEnvs();
  });
});
