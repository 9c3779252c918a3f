/**
 * review4: the registrar's sightings inbox (providers/heygen/runtime/sightings.ts) has one reader, the
 * scheduled backfill, which exists only when dedup is on (providers/heygen/infra/source.ts: no dedup
 * table, no backfill). On cedddcd the registrar Lambda told its sightings whatever the stack: in a stack
 * without a backfill nobody merges or drops them, so the item `backfill#heygen#sightings` grows by two
 * elements per endpoint change and one per run while the endpoint is disabled (each run's `atMs`
 * differs), for ever, each ADD billed on the item's whole size, until DynamoDB's 400 KB item limit
 * fails `tellBefore` and with it every run that must change the endpoint (re-create, patch back).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { createPkTable } from '../support/dedup-table.js';
import { motoStateTable } from '../support/state-table.js';

const URL_A = 'https://review4.lambda-url.eu-west-1.on.aws/heygen';

function context(): Context {
  return { functionName: 'fn', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
}

describe('review4: the sightings inbox is written only where a backfill reads it', () => {
  let fake: FakeHeyGenApi;
  let sm: FakeSecretsManager;
  let state: Awaited<ReturnType<typeof motoStateTable>>;

  beforeAll(async () => {
    fake = await FakeHeyGenApi.start();
    sm = new FakeSecretsManager(true);
    sm.create('apikey', FAKE_API_KEY);
    vi.stubEnv('SIGNING_SECRET_ARN', 'signing');
    vi.stubEnv('API_KEY_SECRET_ARN', 'apikey');
    vi.stubEnv('ENDPOINT_URL', URL_A);
    vi.stubEnv('EVENTS', '["avatar_video.success"]');
    vi.stubEnv('HEYGEN_API_URL', fake.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    state = await motoStateTable('review4-inbox');
    vi.stubEnv('STATE_TABLE_NAME', state.name);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', state.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterAll(async () => {
    sm.mock.restore();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await fake.close();
  });
  beforeEach(() => {
    vi.resetModules();
    for (const id of [...fake.endpoints.keys()]) fake.endpoints.delete(id);
    sm.create('signing', JSON.stringify({ secret: null }));
  });

  const inbox = async (source: string) =>
    (
      await state.client.send(
        new GetItemCommand({ TableName: state.name, Key: { pk: { S: `backfill#${source}#sightings` } }, ConsistentRead: true }),
      )
    ).Item?.sightings?.SS;

  it('review4-inbox-without-reader: a stack without dedup (no backfill) writes no sighting', async () => {
    vi.stubEnv('LEASE_NAME', 'heygen:nodedup');
    vi.stubEnv('RELAY_SOURCE', 'nodedup');
    vi.stubEnv('DEDUP_TABLE_NAME', '');
    const { handler } = await import('../../providers/heygen/runtime/entries/registrar.js');
    expect((await handler({}, context())).outcome).toBe('changed'); // created: a change at HeyGen
    expect(await inbox('nodedup')).toBeUndefined();
  });

  it('review4-inbox-without-reader (control): with dedup (a backfill reads it) the change is told', async () => {
    vi.stubEnv('LEASE_NAME', 'heygen:dedup');
    vi.stubEnv('RELAY_SOURCE', 'withdedup');
    const dedupTable = `${state.name}-dedup`;
    await createPkTable(state.client, dedupTable);
    vi.stubEnv('DEDUP_TABLE_NAME', dedupTable);
    const { handler } = await import('../../providers/heygen/runtime/entries/registrar.js');
    expect((await handler({}, context())).outcome).toBe('changed');
    expect((await inbox('withdedup'))?.length).toBeGreaterThan(0);
  });
});
