/**
 * `heygen-relay redrive [--queue NAME | --all] [--dry-run]`: moves dead-lettered messages back to
 * the queue they came from with SQS's own message move task (StartMessageMoveTask, which needs no
 * destination for a dead-letter queue: SQS sends each message back to its source), follows it with
 * ListMessageMoveTasks to the end, and reports the counts.
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { type CliIo, Ctx, EXIT, type Run, withCommon } from './shared.js';
import { discoverTopology, type QueueRef, selectQueues } from './topology.js';

interface Options {
  stack?: string;
  json?: boolean;
  bus?: string;
  queue?: string;
  all?: boolean;
  dryRun?: boolean;
  wait?: boolean;
}

export interface RedriveResult {
  readonly route: string;
  readonly deadLetterQueue: string;
  readonly queue: string;
  /** Messages in the dead-letter queue before the move (visible + in flight). */
  readonly before: number;
  readonly outcome: 'empty' | 'would_move' | 'started' | 'completed' | 'failed' | 'cancelled';
  readonly moved?: number;
  readonly toMove?: number;
  readonly failureReason?: string;
}

export async function depthOf(ctx: Ctx, q: QueueRef): Promise<{ visible: number; inFlight: number; oldestAgeSeconds?: number }> {
  const res = await ctx.sqs().send(
    new GetQueueAttributesCommand({
      QueueUrl: q.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

async function latestTask(ctx: Ctx, sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const res = await ctx.sqs().send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
  return res.Results?.[0];
}

async function redriveOne(
  ctx: Ctx,
  route: string,
  dlq: QueueRef,
  source: QueueRef,
  o: Options,
  progress: { update(t: string): void },
): Promise<RedriveResult> {
  const d = await depthOf(ctx, dlq);
  const before = d.visible + d.inFlight;
  const base = { route, deadLetterQueue: dlq.name, queue: source.name, before };
  let task = await latestTask(ctx, dlq.arn);
  const running = task?.Status === 'RUNNING';
  if (!running && before === 0) return { ...base, outcome: 'empty' };
  if (o.dryRun) return { ...base, outcome: 'would_move', toMove: before };
  if (!running) {
    await ctx.sqs().send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    if (o.wait === false) return { ...base, outcome: 'started', toMove: before };
  }
  for (;;) {
    task = await latestTask(ctx, dlq.arn);
    const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
    const toMove = task?.ApproximateNumberOfMessagesToMove ?? before;
    if (task?.Status !== 'RUNNING' && task?.Status !== 'CANCELLING') {
      const outcome = task?.Status === 'COMPLETED' ? 'completed' : task?.Status === 'CANCELLED' ? 'cancelled' : 'failed';
      return { ...base, outcome, moved, toMove, ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}) };
    }
    progress.update(`redrive ${route}: moved ${moved}/${toMove}`);
    await ctx.sleep(ctx.pollMs);
  }
}

export function describeRedrive(r: RedriveResult): string {
  switch (r.outcome) {
    case 'empty':
      return `${r.route}: dead-letter queue ${r.deadLetterQueue} is empty`;
    case 'would_move':
      return `${r.route}: would move ${r.before} message(s) from ${r.deadLetterQueue} back to ${r.queue}`;
    case 'started':
      return `${r.route}: started moving ${r.before} message(s) from ${r.deadLetterQueue} back to ${r.queue}`;
    case 'completed':
      return `${r.route}: moved ${r.moved} of ${r.toMove} message(s) from ${r.deadLetterQueue} back to ${r.queue}`;
    default:
      return `${r.route}: the move from ${r.deadLetterQueue} ${r.outcome} after ${r.moved ?? 0} of ${r.toMove ?? r.before} message(s)${r.failureReason ? `: ${r.failureReason}` : ''}`;
  }
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const topology = await discoverTopology(ctx, await ctx.bus(o.bus, 'redrive'));
  const selected = selectQueues(topology, o.queue, o.all);
  const progress = ctx.progress();
  const results: RedriveResult[] = [];
  try {
    for (const q of selected) {
      if (!q.deadLetterQueue) continue;
      results.push(await redriveOne(ctx, q.route, q.deadLetterQueue, q.queue, o, progress));
    }
  } finally {
    progress.done();
  }
  const notes: string[] = [];
  let targetDlq: number | undefined;
  if (!o.queue && topology.targetDeadLetterQueue) {
    const d = await depthOf(ctx, topology.targetDeadLetterQueue);
    targetDlq = d.visible + d.inFlight;
    if (targetDlq > 0)
      notes.push(
        `note: the bus targets' dead-letter queue ${topology.targetDeadLetterQueue.name} holds ${targetDlq} event(s) EventBridge could not deliver to a queue; they have no source queue to move back to: replay their time window (heygen-relay replay) once the cause is fixed`,
      );
  }
  ctx.emit({ results, ...(targetDlq !== undefined ? { targetDeadLetterQueue: targetDlq } : {}) }, [
    ...results.map(describeRedrive),
    ...notes,
  ]);
  return results.some((r) => r.outcome === 'failed' || r.outcome === 'cancelled') ? EXIT.failed : EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withCommon(
    program
      .command('redrive')
      .summary('move dead-lettered messages back to their queue and wait for it')
      .description(
        "Move the messages of a relay queue's dead-letter queue (or every queue's, the default) back to the queue they came from, with SQS's message move task; waits until it ends and reports the counts.",
      ),
  )
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .option('--queue <name>', 'only this queue: its relay name (all, or a route name) or its SQS name')
    .option('--all', 'every relay queue (the default)')
    .option('--dry-run', 'report what would move, move nothing')
    .option('--no-wait', 'start the moves and return')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
