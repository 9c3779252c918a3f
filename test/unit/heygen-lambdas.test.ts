import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { motoStateTable } from '../support/state-table.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';

function context(ms = 60_000): Context {
  return {
    functionName: 'fn',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => ms,
  } as unknown as Context;
}

describe('Lambda entries: registrar and rotation', () => {
  let fake: FakeHeyGenApi;
  let sm: FakeSecretsManager;
  let state: Awaited<ReturnType<typeof motoStateTable>>;

  beforeAll(async () => {
    fake = await FakeHeyGenApi.start();
    sm = new FakeSecretsManager(true);
    sm.create('signing', JSON.stringify({ secret: null }));
    sm.create('apikey', JSON.stringify({ apiKey: null }));
    vi.stubEnv('SIGNING_SECRET_ARN', 'signing');
    vi.stubEnv('API_KEY_SECRET_ARN', 'apikey');
    vi.stubEnv('ENDPOINT_URL', URL_A);
    vi.stubEnv('EVENTS', '["avatar_video.success","avatar_video.fail"]');
    vi.stubEnv('HEYGEN_API_URL', fake.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    // The lease lives in a real DynamoDB table on moto (the SDK's own endpoint variable points there).
    state = await motoStateTable();
    vi.stubEnv('STATE_TABLE_NAME', state.name);
    vi.stubEnv('LEASE_NAME', 'heygen:signing');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', state.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  });
  afterAll(async () => {
    sm.mock.restore();
    vi.unstubAllEnvs();
    await fake.close();
  });
  beforeEach(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('registrar: logs the missing API key and returns without throwing', async () => {
    const { handler } = await import('../../providers/heygen/runtime/entries/registrar.js');
    const summary = await handler({}, context());
    expect(summary.outcome).toBe('missing_api_key');
    expect(summary.message).toContain('apikey');
    expect(fake.requests).toEqual([]);
  });

  it('registrar: creates the endpoint and stores the secret once a key is set; dry run plans only', async () => {
    const { handler } = await import('../../providers/heygen/runtime/entries/registrar.js');
    sm.create('apikey', FAKE_API_KEY);
    const plan = await handler({ dryRun: true }, context());
    expect(plan.outcome).toBe('planned');
    expect(fake.endpoints.size).toBe(0);
    const summary = await handler({ 'detail-type': 'Scheduled Event' }, context());
    expect(summary.outcome).toBe('changed');
    const [ep] = fake.endpointsFor(URL_A);
    expect(JSON.parse(sm.value('signing') as string)).toEqual({
      secret: ep?.secret,
      endpointId: ep?.endpoint_id,
      url: URL_A,
    });
    // The run held the lease (its fence grew) and let go of it.
    const item = await state.client.send(
      new GetItemCommand({ TableName: state.name, Key: { pk: { S: 'lease#heygen:signing' } } }),
    );
    expect(Number(item.Item?.fence?.N)).toBeGreaterThan(0);
    expect(item.Item?.owner).toBeUndefined();
    expect((await handler({}, context())).outcome).toBe('in_sync');
  });

  it('rotation: runs the four steps through the entry', async () => {
    const { handler } = await import('../../providers/heygen/runtime/entries/rotation.js');
    const [ep] = fake.endpointsFor(URL_A);
    const before = ep?.secret;
    await sm.rotate('signing', (e) => handler(e, context()));
    const now = JSON.parse(sm.value('signing') as string);
    expect(now.secret).not.toBe(before);
    expect(now.secret).toBe(fake.endpoints.get(ep?.endpoint_id as string)?.secret);
    expect(fake.violations).toEqual([]);
  });
});

describe('Function: parseEventsEnv', () => {
  it('reads a JSON array, or all events for empty/null/*', async () => {
    vi.stubEnv('SIGNING_SECRET_ARN', 's');
    vi.stubEnv('API_KEY_SECRET_ARN', 'a');
    vi.stubEnv('ENDPOINT_URL', URL_A);
    const { parseEventsEnv, readRegistrarEnv } = await import('../../providers/heygen/runtime/entries/registrar.js');
    expect(parseEventsEnv('["a.b"]')).toEqual(['a.b']);
    expect(parseEventsEnv('')).toBeNull();
    expect(parseEventsEnv('null')).toBeNull();
    expect(parseEventsEnv(undefined)).toBeNull();
    expect(() => parseEventsEnv('{"a":1}')).toThrow(/JSON array/);
    expect(() => readRegistrarEnv({})).toThrow(/SIGNING_SECRET_ARN/);
    vi.unstubAllEnvs();
  });
});
