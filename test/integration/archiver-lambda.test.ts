/**
 * The archiver Lambda as deployed: its esbuild bundle (lib/function-build.ts) loaded in a fresh node
 * with only the environment the construct sets, against moto (S3, SQS, EventBridge). A message from
 * the real archive queue is handled: a link refused for good publishes `archive_failed` on the bus
 * (caught by a rule into a queue); a link not reachable yet is retried: the message's visibility is
 * set to the backoff and it is reported as a batch item failure. A message that is no relay event
 * (issue 23) goes to the archive DLQ after one receive, with why in its attributes; when that send
 * fails it is a batch item failure (it comes again, nothing lost).
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
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UNREADABLE_ATTRIBUTES } from '../../functions/archive/names.js';
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
let archiveDlq: { url: string; arn: string };
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

/** A queue of its own and its DLQ; visible again at once unless the handler sets the message's visibility. */
async function archiveQueues(name: string): Promise<void> {
  const suffix = `${name}-${Date.now().toString(36)}`;
  archiveDlq = await queue(`archive-dlq-${suffix}`);
  archiveQueue = await queue(`archive-${suffix}`, {
    VisibilityTimeout: '0',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: archiveDlq.arn, maxReceiveCount: 5 }),
  });
}

/** Sends the bodies to the archive queue, receives them (one receive each) as the SQS event the Lambda gets. */
async function receiveBatch(bodies: readonly string[]) {
  for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: archiveQueue.url, MessageBody: body }));
  const messages: Message[] = [];
  while (messages.length < bodies.length) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: archiveQueue.url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    messages.push(...(got.Messages ?? []).filter((m) => !messages.some((n) => n.MessageId === m.MessageId)));
  }
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: m.Attributes ?? {},
      eventSourceARN: archiveQueue.arn,
    })),
  };
}

/** Runs the bundle's handler on the SQS event in a fresh node with the construct's environment; its result and its logs. */
async function invoke(sqsEvent: unknown, env: Record<string, string> = {}) {
  const script = `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(sqsEvent)}, { getRemainingTimeInMillis: () => 60000, awsRequestId: 'r', functionName: 'archiver' }).then((r) => process.stdout.write('RESULT' + JSON.stringify(r)))`;
  const { stdout, stderr } = await run(process.execPath, ['-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      ARCHIVE_BUCKET_NAME: bucket,
      ARCHIVE_QUEUE_URL: archiveQueue.url,
      ARCHIVE_DLQ_URL: archiveDlq.url,
      EVENT_BUS_NAME: busName,
      ARCHIVE_SOURCES: JSON.stringify({ heygen: { provider: 'heygen', hosts: ['*.heygen.ai', '*.invalid'] } }),
      ARCHIVE_MAX_BYTES: String(1024 ** 3),
      ARCHIVE_RETRY_FOR_SECONDS: '86400',
      ARCHIVE_STALE_UPLOAD_SECONDS: '900',
      POWERTOOLS_METRICS_NAMESPACE: 'HeyGenRelay',
      ...env,
    },
  });
  const at = stdout.indexOf('RESULT');
  return { result: JSON.parse(stdout.slice(at + 6)), logs: `${stdout.slice(0, at)}\n${stderr}` };
}

const eventBody = (videoId: string, url: string) => {
  const event = heygenEvent(videoId, { url });
  return { event, body: JSON.stringify({ version: '0', 'detail-type': event.type, source: 'heygen', detail: event }) };
};

/** Puts the event on the archive queue as EventBridge would, receives it, and runs the bundle's handler on it. */
async function handle(url: string, videoId: string) {
  await archiveQueues(videoId);
  const { event, body } = eventBody(videoId, url);
  const sqsEvent = await receiveBatch([body]);
  const { result } = await invoke(sqsEvent);
  return { event, messageId: sqsEvent.Records[0]?.messageId, result };
}

async function outcomes(): Promise<{ 'detail-type'?: string; detail: { data: Record<string, unknown> } }[]> {
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: captureUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }));
  return (got.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}'));
}

describe('Archiver Lambda bundle on moto', () => {
  it('publishes archive_failed with the original id for a link refused for good (http)', async () => {
    const { event, result } = await handle('http://files.heygen.ai/v.mp4', 'vid-lambda-http');
    expect(result).toEqual({ batchItemFailures: [] });
    const details = await outcomes();
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

  it('unreadable message: not JSON and JSON-not-an-event go to the DLQ after one receive with the reason; a valid one in the batch is handled as before', async () => {
    await archiveQueues('unreadable');
    const valid = eventBody('vid-lambda-batch', 'http://files.heygen.ai/v.mp4');
    const notJson = 'not json: BODY-MARKER-1 {';
    const notEvent = JSON.stringify({ hello: 'BODY-MARKER-2' });
    const sqsEvent = await receiveBatch([notJson, valid.body, notEvent]);
    const { result, logs } = await invoke(sqsEvent);
    // All three are done: SQS deletes them from the archive queue.
    expect(result).toEqual({ batchItemFailures: [] });

    const dead = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: archiveDlq.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const byBody = new Map((dead.Messages ?? []).map((m) => [m.Body, m.MessageAttributes ?? {}]));
    expect([...byBody.keys()].sort()).toEqual([notJson, notEvent].sort());
    const idOf = (body: string) => sqsEvent.Records.find((r) => r.body === body)?.messageId;
    for (const [body, reason] of [
      [notJson, 'Message is not JSON'],
      [notEvent, /^Envelope /],
    ] as const) {
      const attrs = byBody.get(body) ?? {};
      expect(attrs[UNREADABLE_ATTRIBUTES.reason]?.StringValue).toMatch(reason);
      expect(attrs[UNREADABLE_ATTRIBUTES.messageId]?.StringValue).toBe(idOf(body));
      expect(attrs[UNREADABLE_ATTRIBUTES.receiveCount]).toMatchObject({ DataType: 'Number', StringValue: '1' });
      expect(Number(attrs[UNREADABLE_ATTRIBUTES.sentTimestamp]?.StringValue)).toBeGreaterThan(0);
    }
    // The valid event was handled as before: its outcome is on the bus.
    const failed = (await outcomes()).find((d) => d['detail-type'] === 'avatar_video.success.archive_failed');
    expect(failed?.detail.data).toMatchObject({ eventId: valid.event.id, reason: 'not_https' });
    // Logged at ERROR, counted, and the bodies are not in the logs.
    expect(logs).toMatch(/"level":"ERROR"[^\n]*moved to the dead-letter queue/);
    expect(logs).toMatch(/"ArchiveUnreadable"/);
    expect(logs).not.toContain('BODY-MARKER');
  });

  it('unreadable message: when the send to the DLQ fails it is a batch item failure (it comes again, nothing lost)', async () => {
    await archiveQueues('unreadable-nodlq');
    const sqsEvent = await receiveBatch(['not json either']);
    const missing = `${archiveDlq.url}-missing`;
    const { result } = await invoke(sqsEvent, { ARCHIVE_DLQ_URL: missing });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: sqsEvent.Records[0]?.messageId }] });
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: archiveDlq.url, WaitTimeSeconds: 1 }));
    expect(dead.Messages ?? []).toHaveLength(0);
  });
});
