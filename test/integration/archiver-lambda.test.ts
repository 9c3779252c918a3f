/**
 * The archiver Lambda as deployed: its esbuild bundle (lib/function-build.ts) loaded in a fresh node
 * with only the environment the construct sets, against moto (S3, SQS, EventBridge). A message from
 * the real archive queue is handled: a link refused for good publishes `archive_failed` on the bus
 * (caught by a rule into a queue); a link not reachable yet is retried: the message's visibility is
 * set to the backoff and it is reported as a batch item failure.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildFunction } from '../../lib/function-build.js';
import { heygenEvent, motoS3, newBucket } from '../support/archive-harness.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';

const run = promisify(execFile);
const endpoint = inject('motoEndpoint');
const sqs = new SQSClient(awsClientConfig(endpoint));
const eb = new EventBridgeClient(awsClientConfig(endpoint));
let dir: string;
let bundle: string;
let bucket: string;
let busName: string;
let archiveQueue: { url: string; arn: string };
let captureUrl: string;

async function queue(name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl ?? '';
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: attrs.Attributes?.QueueArn ?? '' };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'archiver-bundle-'));
  bundle = buildFunction('archiver', dir);
  const suffix = Date.now().toString(36);
  bucket = await newBucket(motoS3(endpoint), 'archiver-lambda');
  busName = `archive-bus-${suffix}`;
  await eb.send(new CreateEventBusCommand({ Name: busName }));
  const capture = await queue(`capture-${suffix}`);
  captureUrl = capture.url;
  await eb.send(
    new PutRuleCommand({
      Name: `outcomes-${suffix}`,
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: ['heygen'] }),
    }),
  );
  await eb.send(
    new PutTargetsCommand({ Rule: `outcomes-${suffix}`, EventBusName: busName, Targets: [{ Id: 'q', Arn: capture.arn }] }),
  );
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Puts the event on the archive queue as EventBridge would, receives it, and runs the bundle's handler on it. */
async function handle(url: string, videoId: string) {
  // A queue of its own, visible again at once unless the handler sets the message's visibility.
  archiveQueue = await queue(`archive-${videoId}-${Date.now().toString(36)}`, { VisibilityTimeout: '0' });
  const event = heygenEvent(videoId, { url });
  const body = JSON.stringify({ version: '0', 'detail-type': event.type, source: 'heygen', detail: event });
  await sqs.send(new SendMessageCommand({ QueueUrl: archiveQueue.url, MessageBody: body }));
  const got = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: archiveQueue.url, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] }),
  );
  const m = got.Messages?.[0];
  const sqsEvent = {
    Records: [
      {
        messageId: m?.MessageId,
        receiptHandle: m?.ReceiptHandle,
        body: m?.Body,
        attributes: m?.Attributes ?? {},
        eventSourceARN: archiveQueue.arn,
      },
    ],
  };
  const script = `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(sqsEvent)}, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'r', functionName: 'archiver' }).then((r) => process.stdout.write('RESULT' + JSON.stringify(r)))`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      ARCHIVE_BUCKET_NAME: bucket,
      ARCHIVE_QUEUE_URL: archiveQueue.url,
      EVENT_BUS_NAME: busName,
      ARCHIVE_SOURCES: JSON.stringify({ heygen: { provider: 'heygen', hosts: ['*.heygen.ai', '*.invalid'] } }),
      ARCHIVE_MAX_BYTES: String(1024 ** 3),
      ARCHIVE_RETRY_FOR_SECONDS: '86400',
      ARCHIVE_STALE_UPLOAD_SECONDS: '900',
      POWERTOOLS_METRICS_NAMESPACE: 'HeyGenRelay',
    },
  });
  return { event, messageId: m?.MessageId, result: JSON.parse(stdout.slice(stdout.indexOf('RESULT') + 6)) };
}

describe('Archiver Lambda bundle on moto', () => {
  it('publishes archive_failed with the original id for a link refused for good (http)', async () => {
    const { event, result } = await handle('http://files.heygen.ai/v.mp4', 'vid-lambda-http');
    expect(result).toEqual({ batchItemFailures: [] });
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: captureUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }));
    const details = (got.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}'));
    const failed = details.find((d) => d['detail-type'] === 'avatar_video.success.archive_failed');
    expect(failed?.detail.data).toMatchObject({ eventId: event.id, reason: 'not_https', files: [] });
  });

  it('delays a link not reachable yet by the backoff and reports the message as failed', async () => {
    const { messageId, result } = await handle('https://media.invalid/v.mp4', 'vid-lambda-dns');
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: messageId }] });
    // The visibility was set to the backoff (about 30 s): the message is not receivable now.
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: archiveQueue.url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBeGreaterThanOrEqual(1);
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: archiveQueue.url, WaitTimeSeconds: 1 }));
    expect(again.Messages ?? []).toHaveLength(0);
  });
});
