/**
 * What Lambda's SQS event source mapping does, for the sandbox: long-polls a queue of the template
 * (AWS::Lambda::EventSourceMapping: the archive queue and its archiver), hands each batch to the
 * function as an SQS event, deletes the records it did not report in `batchItemFailures` (the
 * mapping's ReportBatchItemFailures), and leaves the others, and every record of an invocation that
 * failed, to come back after their visibility timeout (which the function may have changed).
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface QueuePollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  /** Invokes the function once with the batch; resolves with its answer. */
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  readonly log: (line: string) => void;
}

export interface QueuePoller {
  stop(): Promise<void>;
}

/** A received message as Lambda hands it to the function. */
export function sqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'sandbox',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

async function deliver(o: QueuePollerOptions, messages: Message[], signal: AbortSignal): Promise<void> {
  const event: SQSEvent = { Records: messages.map((m) => sqsRecord(m, o.queueArn, o.region)) };
  let answer: SQSBatchResponse | undefined;
  try {
    answer = await o.invoke(event);
  } catch (err) {
    if (!signal.aborted)
      o.log(
        `${o.queueUrl.split('/').pop()}: the function failed (${(err as Error).message}); the batch comes back after its visibility timeout`,
      );
    return;
  }
  const failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
  if (done.length === 0) return;
  await o.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: o.queueUrl,
      Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
    }),
  );
}

export function pollQueue(o: QueuePollerOptions): QueuePoller {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const r = await o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: o.batchSize,
            WaitTimeSeconds: 2,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        if (r.Messages?.length) await deliver(o, r.Messages, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) break;
        o.log(`${o.queueUrl.split('/').pop()}: receive failed (${(err as Error).message}); trying again`);
        await new Promise((done) => setTimeout(done, 1000));
      }
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}
