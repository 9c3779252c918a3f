/**
 * `heygen-relay archive status|retry`: the media archive (lib/archive.ts, docs/archive.md).
 * - status: copies pending and in flight, the age of the oldest pending copy (CloudWatch), copies in
 *   the dead-letter queue; exit 3 when the dead-letter queue is not empty.
 * - retry: moves the dead-letter queue's copies back to the archive queue (SQS message move task) and
 *   follows the task to its end; the archiver copies them again (already stored files are not fetched).
 *   A message the archiver could not read (attribute heygen-relay-unreadable-reason) is moved too (the
 *   move task takes every message) and comes back to the dead-letter queue at its first receive,
 *   unreadable again: retry says so every time it has something to move.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { UNREADABLE_ATTRIBUTES } from '../../functions/archive/names.js';
import { type CliIo, Ctx, commandGroup, EXIT, type Run, UsageError, withCommon } from './shared.js';

interface Options {
  stack?: string;
  json?: boolean;
  queueUrl?: string;
  dlqUrl?: string;
  bucket?: string;
  dryRun?: boolean;
}

interface ArchiveRefs {
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly bucket?: string;
}

/** The archive's queue, DLQ and bucket: flags, else the stack's outputs (ArchiveQueueUrl, ArchiveDlqUrl, ArchiveBucketName). */
async function refsOf(ctx: Ctx, o: Options): Promise<ArchiveRefs> {
  const found: Record<string, string> = {};
  if (o.stack && (!o.queueUrl || !o.dlqUrl)) {
    const res = await ctx.cf().send(new DescribeStacksCommand({ StackName: o.stack }));
    for (const out of res.Stacks?.[0]?.Outputs ?? [])
      for (const name of ['ArchiveQueueUrl', 'ArchiveDlqUrl', 'ArchiveBucketName'])
        if (out.OutputKey?.endsWith(name) && out.OutputValue) found[name] ??= out.OutputValue;
  }
  const queueUrl = o.queueUrl ?? found.ArchiveQueueUrl;
  const dlqUrl = o.dlqUrl ?? found.ArchiveDlqUrl;
  if (!queueUrl || !dlqUrl)
    throw new UsageError(
      o.stack
        ? `stack ${o.stack} has no media archive (deploy it with archive: {...})`
        : 'archive needs --stack, or --queue-url and --dlq-url',
    );
  const bucket = o.bucket ?? found.ArchiveBucketName;
  return { queueUrl, dlqUrl, ...(bucket ? { bucket } : {}) };
}

async function attributes(ctx: Ctx, url: string) {
  const res = await ctx.sqs().send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'QueueArn'],
    }),
  );
  const a = res.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    arn: a.QueueArn ?? '',
  };
}

/** The oldest pending copy's age (s) over the last 15 minutes, from CloudWatch; undefined when it has no datapoint. */
async function oldestAgeSeconds(ctx: Ctx, queueUrl: string): Promise<number | undefined> {
  const name = queueUrl.split('/').pop() ?? '';
  const end = new Date(ctx.now());
  const res = await ctx.cw().send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: name }],
      StartTime: new Date(end.getTime() - 15 * 60_000),
      EndTime: end,
      Period: 300,
      Statistics: ['Maximum'],
    }),
  );
  const points = (res.Datapoints ?? []).map((d) => d.Maximum ?? 0);
  return points.length > 0 ? Math.max(...points) : undefined;
}

async function status(ctx: Ctx, o: Options): Promise<number> {
  const refs = await refsOf(ctx, o);
  const [queue, dlq, age] = await Promise.all([
    attributes(ctx, refs.queueUrl),
    attributes(ctx, refs.dlqUrl),
    oldestAgeSeconds(ctx, refs.queueUrl),
  ]);
  const report = {
    bucket: refs.bucket ?? null,
    pending: queue.visible,
    inFlight: queue.inFlight,
    oldestPendingSeconds: age ?? null,
    deadLetters: dlq.visible + dlq.inFlight,
  };
  const lines = [
    ...(refs.bucket ? [`bucket: ${refs.bucket}`] : []),
    `pending copies: ${report.pending} waiting, ${report.inFlight} in flight (retries wait here with their backoff)`,
    `oldest pending: ${age === undefined ? 'no data in the last 15 min' : `${Math.round(age)} s`}`,
    `dead-letter queue: ${report.deadLetters}${report.deadLetters > 0 ? ' (needs attention: heygen-relay archive retry)' : ''}`,
  ];
  ctx.emit(report, lines);
  return report.deadLetters > 0 ? EXIT.attention : EXIT.ok;
}

/** What retry cannot fix: a message that is no relay event stays one. */
export const UNREADABLE_NOTE =
  `messages the archiver could not read (attribute ${UNREADABLE_ATTRIBUTES.reason}) come back to the dead-letter queue ` +
  'at their first receive, unreadable again: read the attribute, then fix and resend or delete them';

async function retry(ctx: Ctx, o: Options): Promise<number> {
  const refs = await refsOf(ctx, o);
  const dlq = await attributes(ctx, refs.dlqUrl);
  const before = dlq.visible + dlq.inFlight;
  if (before === 0 || o.dryRun) {
    ctx.emit(
      { before, outcome: before === 0 ? 'empty' : 'would_move', ...(before === 0 ? {} : { note: UNREADABLE_NOTE }) },
      before === 0
        ? ['dead-letter queue is empty: nothing to retry']
        : [`would move ${before} copies back to the archive queue`, UNREADABLE_NOTE],
    );
    return EXIT.ok;
  }
  await ctx.sqs().send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
  for (;;) {
    const res = await ctx.sqs().send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 1 }));
    const task = res.Results?.[0];
    if (task && task.Status !== 'RUNNING') {
      const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
      ctx.emit(
        {
          before,
          outcome: task.Status?.toLowerCase(),
          moved,
          ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
          note: UNREADABLE_NOTE,
        },
        [
          `${task.Status === 'COMPLETED' ? 'moved' : `${task.Status?.toLowerCase()} after moving`} ${moved} of ${before} copies back to the archive queue${task.FailureReason ? ` (${task.FailureReason})` : ''}`,
          UNREADABLE_NOTE,
        ],
      );
      return task.Status === 'COMPLETED' ? EXIT.ok : EXIT.failed;
    }
    await ctx.sleep(ctx.pollMs);
  }
}

const where = (cmd: Command) =>
  withCommon(
    cmd,
    ['--queue-url <url>', 'the archive queue (default: from --stack)'],
    ['--dlq-url <url>', "the archive's dead-letter queue (default: from --stack)"],
  );

export function register(program: Command, io: CliIo, runner: Run): void {
  const archive = commandGroup(
    program,
    'archive',
    'the media archive: status, retry',
    "The media archive (archive: {...} on the construct): result events' files copied into S3 from a queue.",
  );
  where(
    archive
      .command('status')
      .description("copies pending, the oldest one's age, dead letters (exit 3 when there are dead letters)"),
  )
    .option('--bucket <name>', 'the archive bucket, for the report (default: from --stack)')
    .action((o: Options) => runner(() => status(new Ctx(io, o), o)));
  where(
    archive
      .command('retry')
      .description(
        "move the archive's dead letters back to its queue and wait for the move to end (a message the archiver could not read comes back to the dead-letter queue)",
      ),
  )
    .option('--dry-run', 'say how many would move, move nothing')
    .action((o: Options) => runner(() => retry(new Ctx(io, o), o)));
}
