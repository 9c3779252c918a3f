/**
 * review4: `heygen-relay reconcile --source <id>` told its sightings (sightings.ts) to the DEFAULT
 * source's inbox (`backfill#heygen#sightings`, the source hard-coded) on cedddcd. So the named
 * source's backfill never learned a change the CLI made (a URL edited away and patched back looks like
 * one span: the period it delivered elsewhere is judged ours, published), and the default source's
 * backfill merged another HeyGen account's endpoint into its own subscription log (a point of another
 * set may extend a span across a gap both sets judged, so a neighbour's entry there is judged ours).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { FAKE_API_KEY } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';
import { motoStateTable } from '../support/state-table.js';

const URL_B = 'https://review4-b.lambda-url.eu-west-1.on.aws/heygen-staging';

describe('review4: the CLI reconcile tells the inbox of the source it serves', () => {
  const hg = useFakeHeyGenServer();
  let sm: FakeSecretsManager;
  let state: Awaited<ReturnType<typeof motoStateTable>>;
  beforeAll(async () => {
    sm = new FakeSecretsManager(true);
    state = await motoStateTable('review4-cli');
  });
  afterAll(() => {
    sm.mock.restore();
    vi.restoreAllMocks();
  });

  const inbox = async (source: string) =>
    (
      await state.client.send(
        new GetItemCommand({ TableName: state.name, Key: { pk: { S: `backfill#${source}#sightings` } }, ConsistentRead: true }),
      )
    ).Item?.sightings?.SS;

  it('review4-reconcile-source-inbox: --source heygen-staging tells backfill#heygen-staging#sightings, never the default source', async () => {
    sm.create('signing-staging', JSON.stringify({ secret: null }));
    const out: string[] = [];
    const io: CliIo = {
      env: { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: hg.fake.url },
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      dynamoDb: () => state.client,
    };
    const args = ['reconcile', '--source', 'heygen-staging', '--endpoint-url', URL_B, '--events', 'avatar_video.success'];
    const code = await main([...args, '--signing-secret-id', 'signing-staging', '--state-table', state.name], io);
    expect(code, out.join('\n')).toBe(0);
    expect(hg.fake.endpointsFor(URL_B)).toHaveLength(1); // created: a change at HeyGen, told before and after
    expect(await inbox('heygen')).toBeUndefined();
    expect((await inbox('heygen-staging'))?.length).toBe(2);
  });
});
