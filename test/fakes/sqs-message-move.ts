/**
 * SQS's message move task (StartMessageMoveTask / ListMessageMoveTasks), which moto 5.2 lacks
 * (pinned in test/integration/moto-capabilities.test.ts), implemented on top of moto's real queues:
 * an SQSClient whose every other command goes to moto unchanged.
 *
 * Semantics follow the SQS API reference: the source must be a dead-letter queue (some queue's
 * RedrivePolicy names it); without DestinationArn, messages go back to their source queue; the task
 * runs asynchronously; one RUNNING task per source (a second start fails); ListMessageMoveTasks
 * lists a source's tasks newest first, with TaskHandle only on a RUNNING one, and
 * ApproximateNumberOfMessagesMoved / ...ToMove counts (ToMove taken when the task starts).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  type ListMessageMoveTasksCommandInput,
  type ListMessageMoveTasksResultEntry,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SQSClientConfig,
  type StartMessageMoveTaskCommandInput,
} from '@aws-sdk/client-sqs';

type Task = ListMessageMoveTasksResultEntry & { done: Promise<void> };
const TASKS = new Map<string, Task[]>();

/** An SQSClient to moto whose StartMessageMoveTask / ListMessageMoveTasks are served by this fake. */
export function messageMoveTaskSqs(config: SQSClientConfig): SQSClient {
  const client = new SQSClient(config);
  const moto = new SQSClient(config);
  const fake = new MoveTasks(moto);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'StartMessageMoveTaskCommand')
        return { output: { ...(await fake.start(args.input as StartMessageMoveTaskCommandInput)), $metadata: {} }, response: {} };
      if (context.commandName === 'ListMessageMoveTasksCommand')
        return { output: { ...fake.list(args.input as ListMessageMoveTasksCommandInput), $metadata: {} }, response: {} };
      return next(args);
    },
    { step: 'initialize', name: 'fakeMessageMoveTasks' },
  );
  return client;
}

class MoveTasks {
  constructor(private readonly sqs: SQSClient) {}

  list(input: ListMessageMoveTasksCommandInput) {
    const list = TASKS.get(input.SourceArn ?? '') ?? [];
    return {
      Results: list
        .slice(0, input.MaxResults ?? 1)
        .map(({ done: _done, ...t }) => ({ ...t, ...(t.Status === 'RUNNING' ? {} : { TaskHandle: undefined }) })),
    };
  }

  private url(arn: string): Promise<string> {
    const parts = arn.split(':');
    return this.sqs
      .send(new GetQueueUrlCommand({ QueueName: parts[5], QueueOwnerAWSAccountId: parts[4] }))
      .then((r) => r.QueueUrl ?? '');
  }

  async start(input: StartMessageMoveTaskCommandInput) {
    const source = input.SourceArn ?? '';
    const list = TASKS.get(source) ?? [];
    if (list[0]?.Status === 'RUNNING')
      throw Object.assign(new Error('There is already a task running'), { name: 'UnsupportedOperation' });
    const sourceUrl = await this.url(source);
    const origins = await this.sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: sourceUrl }));
    if ((origins.queueUrls ?? []).length === 0)
      throw Object.assign(new Error('Source queue must be configured as a Dead Letter Queue.'), {
        name: 'InvalidParameterValue',
      });
    const destUrl = input.DestinationArn ? await this.url(input.DestinationArn) : (origins.queueUrls?.[0] as string);
    const attrs = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: sourceUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const handle = randomUUID();
    const task: Task = {
      TaskHandle: handle,
      Status: 'RUNNING',
      SourceArn: source,
      ...(input.DestinationArn ? { DestinationArn: input.DestinationArn } : {}),
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0),
      StartedTimestamp: Date.now(),
      done: Promise.resolve(),
    };
    task.done = this.move(task, sourceUrl, destUrl);
    TASKS.set(source, [task, ...list]);
    return { TaskHandle: handle };
  }

  private async move(task: Task, from: string, to: string): Promise<void> {
    try {
      await new Promise((r) => setTimeout(r, 20)); // asynchronous, as in SQS: the caller sees RUNNING first
      for (let quiet = 0; quiet < 2; ) {
        const r = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: from,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
            MessageAttributeNames: ['All'],
          }),
        );
        const msgs = r.Messages ?? [];
        if (msgs.length === 0) {
          quiet++;
          continue;
        }
        quiet = 0;
        await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: to,
            Entries: msgs.map((m, i) => ({
              Id: String(i),
              MessageBody: m.Body ?? '',
              ...(m.MessageAttributes ? { MessageAttributes: m.MessageAttributes } : {}),
            })),
          }),
        );
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: from,
            Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        task.ApproximateNumberOfMessagesMoved = (task.ApproximateNumberOfMessagesMoved ?? 0) + msgs.length;
      }
      task.Status = 'COMPLETED';
    } catch (err) {
      task.Status = 'FAILED';
      task.FailureReason = (err as Error).message;
    }
  }
}
