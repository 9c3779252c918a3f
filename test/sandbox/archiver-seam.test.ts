/**
 * The sandbox-only seam of the archiver (functions/entries/archiver.ts reads its fetcher options from a
 * process global that only scripts/sandbox/lambda-host.ts sets): the real entry, against moto, asked
 * to copy a file from the sandbox's loopback HTTPS file host (scripts/sandbox/media-server.ts).
 *
 * - run by the sandbox's lambda-host with the file host's CA and host: the file is archived;
 * - the same entry with the same SANDBOX_MEDIA_* environment but not through lambda-host (as a
 *   deployed function whose configuration someone edited would be): refused, `address_not_public`.
 *   No environment variable loosens the fetcher.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SandboxMedia, startSandboxMedia } from '../../scripts/sandbox/media-server.js';
import { heygenEvent, motoS3, newBucket, objectBytes } from '../support/archive-harness.js';
import { sha256 } from '../support/media-server.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';

const REPO = join(__dirname, '..', '..');
const endpoint = inject('motoEndpoint');
const sqs = new SQSClient(awsClientConfig(endpoint));
const eb = new EventBridgeClient(awsClientConfig(endpoint));
const s3 = motoS3(endpoint);
let media: SandboxMedia;
let bucket: string;
let busName: string;
let captureUrl: string;

beforeAll(async () => {
  media = await startSandboxMedia();
  bucket = await newBucket(s3, 'archiver-seam');
  const suffix = Date.now().toString(36);
  busName = `seam-bus-${suffix}`;
  await eb.send(new CreateEventBusCommand({ Name: busName }));
  captureUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `seam-capture-${suffix}` }))).QueueUrl as string;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: captureUrl, AttributeNames: ['QueueArn'] }))).Attributes
    ?.QueueArn as string;
  await eb.send(new PutRuleCommand({ Name: `seam-${suffix}`, EventBusName: busName, EventPattern: '{"source":["heygen"]}' }));
  await eb.send(new PutTargetsCommand({ Rule: `seam-${suffix}`, EventBusName: busName, Targets: [{ Id: 'q', Arn: arn }] }));
}, 60_000);

afterAll(async () => {
  await media?.close();
  for (const c of [sqs, eb, s3]) c.destroy();
});

/** The archiver's environment as the sandbox's template gives it, plus the sandbox's media variables. */
function env(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ARCHIVE_BUCKET_NAME: bucket,
    ARCHIVE_QUEUE_URL: `${endpoint}/123456789012/unused`,
    ARCHIVE_DLQ_URL: `${endpoint}/123456789012/unused-dlq`,
    EVENT_BUS_NAME: busName,
    ARCHIVE_SOURCES: JSON.stringify({ heygen: { provider: 'heygen', hosts: ['127.0.0.1'] } }),
    ARCHIVE_MAX_BYTES: String(64 * 1024 * 1024),
    ARCHIVE_RETRY_FOR_SECONDS: '600',
    ARCHIVE_STALE_UPLOAD_SECONDS: '900',
    POWERTOOLS_METRICS_NAMESPACE: 'HeyGenRelay',
    SANDBOX_MEDIA_CA_PEM: media.caPem,
    SANDBOX_MEDIA_HOST: '127.0.0.1',
  };
}

function sqsEvent(videoId: string) {
  const files = media.publish(videoId);
  const event = heygenEvent(videoId, { url: files.video.url, thumbnail_url: files.thumbnail.url });
  const body = JSON.stringify({ version: '0', 'detail-type': event.type, source: 'heygen', detail: event });
  const record = {
    messageId: `m-${videoId}`,
    receiptHandle: `r-${videoId}`,
    body,
    attributes: { SentTimestamp: String(Date.now()), ApproximateReceiveCount: '1' },
    messageAttributes: {},
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:unused',
  };
  return { files, event, sqs: { Records: [record] } };
}

/** The sandbox's way: lambda-host.ts invoke, answering over IPC. */
function viaLambdaHost(event: unknown): Promise<unknown> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/sandbox/lambda-host.ts', 'invoke', 'functions/entries/archiver.ts', JSON.stringify(event)],
    { cwd: REPO, env: env(), stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  return new Promise((done, fail) => {
    child.once('message', (m: { results?: unknown[]; error?: string }) =>
      m.error ? fail(new Error(m.error)) : done(m.results?.[0]),
    );
    child.once('exit', (code) => fail(new Error(`lambda-host exited ${code}`)));
  });
}

/** The entry imported directly, with the same environment: what a deployed function would be. */
function direct(event: unknown): Promise<unknown> {
  const script = `require('./functions/entries/archiver.ts').handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'r', functionName: 'archiver' }).then((r) => process.stdout.write('RESULT' + JSON.stringify(r)))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, env: env() });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((done) => child.on('close', () => done(JSON.parse(out.slice(out.indexOf('RESULT') + 6) || 'null'))));
}

async function outcome(videoId: string): Promise<{ 'detail-type': string; detail: { data: Record<string, unknown> } }> {
  for (let i = 0; i < 20; i++) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: captureUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    const hit = (got.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}')).find((d) => d.detail?.subject?.id === videoId);
    if (hit) return hit;
  }
  throw new Error(`no outcome for ${videoId}`);
}

describe("the archiver's sandbox seam", () => {
  it("through the sandbox's lambda-host: the loopback file host's video and thumbnail are archived", async () => {
    const { files, sqs: e } = sqsEvent('seam-sandbox');
    expect(await viaLambdaHost(e)).toEqual({ batchItemFailures: [] });
    const o = await outcome('seam-sandbox');
    expect(o['detail-type']).toBe('avatar_video.success.archived');
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/seam-sandbox/video'))).toBe(files.video.sha256);
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/seam-sandbox/thumbnail'))).toBe(files.thumbnail.sha256);
  }, 60_000);

  it('the entry itself, with the same SANDBOX_MEDIA_* environment: refused as a non-public address', async () => {
    const { sqs: e } = sqsEvent('seam-direct');
    expect(await direct(e)).toEqual({ batchItemFailures: [] });
    const o = await outcome('seam-direct');
    expect(o['detail-type']).toBe('avatar_video.success.archive_failed');
    expect(o.detail.data).toMatchObject({ reason: 'address_not_public', files: [] });
  }, 60_000);
});
