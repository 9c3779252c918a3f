/**
 * `--source ID` end to end against moto: a relay synthesized with two HeyGen accounts (the default and
 * `heygen-staging`), provisioned from its template, its outputs (with the second source's `Source<Id>`
 * prefix) in a real CloudFormation stack on moto; `status --source heygen-staging` reads that account's
 * signing secret and its evidence item, and an unknown id is a usage error listing the stack's sources.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../bin/commands/program.js';
import { HeyGenSource } from '../../providers/infra.js';
import { FakeHeyGenApi } from '../fakes/heygen-api.js';
import { type EmulatorStack, provisionFromTemplate, synthesizeRelayTemplate } from '../support/emulator-stack.js';
import { createOutputsStack, motoCliIo } from '../support/operator-cli.js';

const RUN = randomUUID().slice(0, 8);
const STACK = `SrcRelay${RUN}`;
let endpoint: string;
let stack: EmulatorStack;
let heygen: FakeHeyGenApi;
let stagingSecretArn: string;
let stateTable: string;

const io = () => motoCliIo(endpoint, stack, heygen.url);

beforeAll(async () => {
  endpoint = inject('motoEndpoint');
  heygen = await FakeHeyGenApi.start();
  const template = synthesizeRelayTemplate({
    relay: { sources: [new HeyGenSource(), new HeyGenSource({ id: 'heygen-staging' })] },
  });
  stack = await provisionFromTemplate(template, endpoint);
  const routes = JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as { source?: string; secretId: string }[];
  const staging = routes.find((r) => r.source === 'heygen-staging');
  if (!staging) throw new Error('no heygen-staging route');
  stagingSecretArn = staging.secretId;
  expect(stagingSecretArn).not.toBe(stack.signingSecretArn);
  stateTable = stack.ingressEnv.STATE_TABLE_NAME ?? '';
  expect(stateTable).not.toBe('');
  for (const [arn, secret] of [
    [stack.signingSecretArn, 'whsec_default'],
    [stagingSecretArn, 'whsec_staging'],
  ] as const)
    await stack.clients.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ secret }) }));
  // The staging account's evidence, as the ingress and backfill keep it under its source id.
  await stack.clients.ddb.send(
    new PutItemCommand({
      TableName: stateTable,
      Item: { pk: { S: 'evidence#heygen-staging' }, lastMissedAt: { N: String(Date.UTC(2026, 0, 2)) } },
    }),
  );
  const outputs: Record<string, string> = {
    HeyGenWebhookUrl: `https://src${RUN}.lambda-url.us-east-1.on.aws/heygen`,
    SigningSecretArn: stack.signingSecretArn,
    SourceHeygenStagingHeyGenWebhookUrl: `https://src${RUN}.lambda-url.us-east-1.on.aws/heygen-staging`,
    SourceHeygenStagingSigningSecretArn: stagingSecretArn,
    EventBusName: stack.busName,
    DedupTableName: stack.tableName,
    DedupWindowSeconds: String(48 * 3600), // as the construct's default writes it
    StateTableName: stateTable,
  };
  await createOutputsStack(endpoint, STACK, outputs);
}, 120_000);

afterAll(async () => {
  await heygen?.close();
  stack?.destroy();
});

describe('CLI: --source on a stack with two HeyGen accounts', () => {
  it("status --source heygen-staging reads that account's signing secret and evidence", async () => {
    const staging = io();
    await main(['status', '--stack', STACK, '--source', 'heygen-staging', '--json'], staging.io);
    const report = JSON.parse(staging.out.join('\n'));
    expect(report.signingSecret.id).toBe(stagingSecretArn);
    expect(report.signingSecret.stored).toBe(true);
    expect(report.signingSecret.versions.length).toBeGreaterThan(0);
    expect(report.evidence.lastMissedAt).toBe('2026-01-02T00:00:00.000Z');

    const byDefault = io();
    await main(['status', '--stack', STACK, '--json'], byDefault.io);
    const def = JSON.parse(byDefault.out.join('\n'));
    expect(def.signingSecret.id).toBe(stack.signingSecretArn);
    expect(def.evidence.lastMissedAt).toBeNull();
  }, 60_000);

  it("backfill --source heygen-staging records what it recovered under that account's evidence key", async () => {
    // The staging account's endpoint at its URL: the backfill takes only what HeyGen addressed to it.
    const ep = heygen.seedEndpoint(`https://src${RUN}.lambda-url.us-east-1.on.aws/heygen-staging`);
    ep.created_at = new Date(Date.now() - 3 * 3_600_000).toISOString(); // registered before its event
    heygen.emit(
      ep.endpoint_id,
      { event_type: 'avatar_video.success', event_data: { video_id: `v-${RUN}` } },
      Date.now() - 2 * 3_600_000,
    );
    const r = io();
    const code = await main(['backfill', '--stack', STACK, '--source', 'heygen-staging', '--json'], r.io);
    expect(code, r.err.join('\n')).toBe(0);
    expect(JSON.parse(r.out.join('\n')).backfilled).toBe(1);
    const get = async (pk: string) =>
      (await stack.clients.ddb.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: pk } }, ConsistentRead: true })))
        .Item;
    expect((await get('evidence#heygen-staging'))?.lastMissedAt?.N).toBeDefined();
    expect(await get('evidence#heygen')).toBeUndefined();
  }, 60_000);

  it('an unknown --source exits 64 naming the sources the stack has', async () => {
    const r = io();
    expect(await main(['status', '--stack', STACK, '--source', 'heygen-prod'], r.io)).toBe(64);
    expect(r.err.join('\n')).toContain(`stack ${STACK} has no source "heygen-prod"; its sources: heygen, heygen-staging`);
  });
});
