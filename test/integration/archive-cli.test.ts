/** `heygen-relay archive status|retry` against moto's SQS (message move task: test/fakes/sqs-message-move.ts). */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { UNREADABLE_NOTE } from '../../bin/commands/archive.js';
import { type CliIo, main } from '../../bin/commands/program.js';
import { UNREADABLE_ATTRIBUTES } from '../../functions/archive/names.js';
import { messageMoveTaskSqs } from '../fakes/sqs-message-move.js';
import { awsClientConfig } from '../support/moto.js';

const endpoint = inject('motoEndpoint');
const config = awsClientConfig(endpoint);
const sqs = new SQSClient(config);
let queueUrl: string;
let dlqUrl: string;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = {
    env: {},
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    pollMs: 20,
    sqs: () => messageMoveTaskSqs(config),
    cloudWatch: () => new CloudWatchClient(config),
  };
  return { io: value, out, err };
}

const depth = async (url: string) => {
  const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(a.Attributes?.ApproximateNumberOfMessages);
};

beforeAll(async () => {
  const run = randomUUID().slice(0, 8);
  dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `archive-dlq-${run}` }))).QueueUrl ?? '';
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes
    ?.QueueArn;
  queueUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `archive-q-${run}`,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) },
        }),
      )
    ).QueueUrl ?? '';
});

describe('CLI: heygen-relay archive', () => {
  it('status reports pending copies and dead letters, exit 3 while dead letters wait; retry moves them back', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"pending":1}' }));
    for (const n of [1, 2]) await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: `{"dead":${n}}` }));
    const flags = ['--queue-url', queueUrl, '--dlq-url', dlqUrl];

    const s = io();
    expect(await main(['archive', 'status', ...flags, '--json'], s.io)).toBe(3);
    expect(JSON.parse(s.out.join('\n'))).toMatchObject({ pending: 1, deadLetters: 2, oldestPendingSeconds: null });

    const dry = io();
    expect(await main(['archive', 'retry', ...flags, '--dry-run'], dry.io)).toBe(0);
    expect(dry.out).toEqual(['would move 2 copies back to the archive queue', UNREADABLE_NOTE]);
    expect(await depth(dlqUrl)).toBe(2);

    const r = io();
    expect(await main(['archive', 'retry', ...flags], r.io)).toBe(0);
    expect(r.out).toEqual(['moved 2 of 2 copies back to the archive queue', UNREADABLE_NOTE]);
    expect(await depth(dlqUrl)).toBe(0);
    expect(await depth(queueUrl)).toBe(3);

    const after = io();
    expect(await main(['archive', 'status', ...flags], after.io)).toBe(0);
    expect(after.out.at(-1)).toBe('dead-letter queue: 0');
  });

  it('unreadable message: retry moves it with its reason and says it comes back to the dead-letter queue', async () => {
    const run = randomUUID().slice(0, 8);
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `archive-unread-dlq-${run}` }))).QueueUrl ?? '';
    const dlqArn =
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
    const redrive = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 });
    const queue =
      (await sqs.send(new CreateQueueCommand({ QueueName: `archive-unread-q-${run}`, Attributes: { RedrivePolicy: redrive } })))
        .QueueUrl ?? '';
    const reason = { DataType: 'String', StringValue: 'Message is not JSON' };
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: 'not json',
        MessageAttributes: { [UNREADABLE_ATTRIBUTES.reason]: reason },
      }),
    );
    const r = io();
    expect(await main(['archive', 'retry', '--queue-url', queue, '--dlq-url', dlq, '--json'], r.io)).toBe(0);
    expect(JSON.parse(r.out.join('\n'))).toMatchObject({ outcome: 'completed', moved: 1, note: UNREADABLE_NOTE });
    expect(UNREADABLE_NOTE).toContain(UNREADABLE_ATTRIBUTES.reason);
    // It is moved as it was: the archiver will read the same body, and send it back with the reason.
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(got.Messages?.[0]?.Body).toBe('not json');
    expect(got.Messages?.[0]?.MessageAttributes?.[UNREADABLE_ATTRIBUTES.reason]).toMatchObject(reason);
  });

  it('needs --stack or both queue URLs (exit 64)', async () => {
    const u = io();
    expect(await main(['archive', 'status'], u.io)).toBe(64);
    expect(u.err[0]).toMatch(/archive needs --stack/);
  });
});
