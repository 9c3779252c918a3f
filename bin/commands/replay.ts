/**
 * `heygen-relay replay --from TIME --to TIME [--queue NAME] [--type TYPE]`: re-delivers a time
 * window of the bus archive into one relay queue (or every one), follows the replay to its end and
 * reports how many events went where.
 *
 * How: EventBridge replays an archive into rules (StartReplay `Destination.FilterArns`), but it
 * cannot narrow a replay by event type and reports no counts. So for each chosen queue the command
 * adds a temporary rule (functions/adapters/aws/temp-routes.ts) whose pattern is the queue rule's own pattern
 * plus `replay-name` = this replay (plus `detail-type` for --type), feeding a temporary queue; the
 * replay is filtered to those rules only (nothing else on the bus sees it: not the relay's queue
 * rules, not your own rules); once it COMPLETED, the command moves what arrived into the relay
 * queue (the same JSON body a rule target delivers, with a `heygen-relay-replay` message attribute)
 * and counts it. Events whose `time` is outside the window are not moved (and counted).
 *
 * The archive lags: an event reaches it some time after it was published (minutes, per AWS), so a
 * window ending just now may miss its last events; replay them again later.
 */
import { randomBytes } from 'node:crypto';
import { DescribeReplayCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import type { TempRoute } from '../../functions/adapters/aws/temp-routes.js';
import { parseDuration } from './backfill-run.js';
import { type CliIo, Ctx, checkEventTypes, EXIT, type Run, typeList, UsageError, withCommon } from './shared.js';
import { sweepLeftovers, TempRouteLease } from './temp-route-lease.js';
import { discoverTopology, type RelayQueueInfo, selectQueues } from './topology.js';

interface Options {
  stack?: string;
  json?: boolean;
  bus?: string;
  from?: string;
  to?: string;
  queue?: string;
  type?: string[];
}

/** `2026-12-01T00:00:00Z`, `2026-12-01`, `now`, or a duration meaning that long ago (`24h`, `2d`). */
export function parseTime(name: string, text: string, now: number): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (/^\d+$/.test(t))
    throw new UsageError(
      `${name} ${t} has no unit: write ${t}h (hours ago), ${t}m or ${t}d, or an ISO time like 2026-12-01T00:00:00Z`,
    );
  if (/^\d+(d|h|m|s)/.test(t)) {
    try {
      return now - parseDuration(t);
    } catch {
      // not a duration: try a timestamp
    }
  }
  const at = Date.parse(t);
  if (Number.isNaN(at))
    throw new UsageError(
      `${name} must be an ISO time (2026-12-01T00:00:00Z), "now" or a duration ago (24h), got ${JSON.stringify(text)}`,
    );
  return at;
}

/** The queue rule's pattern, narrowed to this replay's events (and to `types`); null when it can match none. */
export function replayPattern(
  queuePattern: Record<string, unknown>,
  replayName: string,
  types: readonly string[],
): Record<string, unknown> | null {
  const pattern: Record<string, unknown> = { ...queuePattern, 'replay-name': [replayName] };
  if (types.length > 0) {
    const own = queuePattern['detail-type'];
    if (own === undefined) pattern['detail-type'] = [...types];
    else if (Array.isArray(own) && own.every((x) => typeof x === 'string')) {
      const both = types.filter((t) => (own as string[]).includes(t));
      if (both.length === 0) return null;
      pattern['detail-type'] = both;
    } else throw new UsageError("--type cannot be combined with this queue rule's detail-type pattern; replay without --type");
  }
  return pattern;
}

export interface ReplayQueueResult {
  readonly route: string;
  readonly queue: string;
  readonly delivered: number;
  readonly outsideWindow: number;
}

export interface ReplayResult {
  readonly replayName: string;
  readonly archive: string;
  readonly from: string;
  readonly to: string;
  readonly state: string;
  readonly stateReason?: string;
  readonly queues: ReplayQueueResult[];
}

async function drainInto(
  ctx: Ctx,
  temp: TempRoute,
  target: RelayQueueInfo,
  replayName: string,
  window: { from: number; to: number },
  progress: (n: number) => void,
): Promise<ReplayQueueResult> {
  let delivered = 0;
  let outsideWindow = 0;
  let empties = 0;
  // After COMPLETED, events may still be on their way from the rule to the queue: two empty long
  // polls in a row (5 s each at the default poll interval) end the drain.
  const emptyWait = Math.max(1, Math.min(20, Math.round((ctx.pollMs * 2.5) / 1000)));
  while (empties < 2) {
    const res = await ctx
      .sqs()
      .send(new ReceiveMessageCommand({ QueueUrl: temp.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: emptyWait }));
    const messages = res.Messages ?? [];
    if (messages.length === 0) {
      empties += 1;
      continue;
    }
    empties = 0;
    const inWindow = messages.filter((m) => {
      const time = Date.parse((JSON.parse(m.Body ?? '{}') as { time?: string }).time ?? '');
      // An event's `time` has whole seconds: the window's start counts from its second.
      return !Number.isNaN(time) && time >= Math.floor(window.from / 1000) * 1000 && time <= window.to;
    });
    outsideWindow += messages.length - inWindow.length;
    if (inWindow.length > 0) {
      const sent = await ctx.sqs().send(
        new SendMessageBatchCommand({
          QueueUrl: target.queue.url,
          Entries: inWindow.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            MessageAttributes: { 'heygen-relay-replay': { DataType: 'String', StringValue: replayName } },
          })),
        }),
      );
      if ((sent.Failed ?? []).length > 0)
        throw new Error(
          `could not send ${sent.Failed?.length} replayed event(s) to ${target.queue.name}: ${sent.Failed?.[0]?.Message}`,
        );
      delivered += inWindow.length;
      progress(delivered);
    }
    await ctx.sqs().send(
      new DeleteMessageBatchCommand({
        QueueUrl: temp.queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return { route: target.route, queue: target.queue.name, delivered, outsideWindow };
}

/** The window and types asked for, checked before anything changes on the bus. */
function replayWindow(o: Options, now: number): { from: number; to: number; types: string[] } {
  if (!o.from) throw new UsageError('replay needs --from TIME');
  const from = parseTime('--from', o.from, now);
  const to = o.to === undefined ? now : parseTime('--to', o.to, now);
  if (!(from < to)) throw new UsageError('--from must be before --to');
  if (to > now) throw new UsageError('--to is in the future');
  const types = typeList(o.type);
  checkEventTypes('--type', types);
  return { from, to, types };
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const now = ctx.now();
  const { from, to, types } = replayWindow(o, now);
  const busName = await ctx.bus(o.bus, 'replay');
  await sweepLeftovers(ctx, busName);
  const topology = await discoverTopology(ctx, busName);
  const archive = topology.archive;
  if (!archive) throw new UsageError(`bus ${busName} has no archive to replay from`);
  const selected = selectQueues(topology, o.queue, undefined);
  const replayName = `heygen-relay-${new Date(now)
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  const lease = new TempRouteLease(ctx, busName, 'replay', 600);
  const temps: { temp: TempRoute; target: RelayQueueInfo }[] = [];
  const progress = ctx.progress();
  try {
    for (const target of selected) {
      const pattern = replayPattern(target.eventPattern, replayName, types);
      if (pattern) temps.push({ temp: await lease.add(pattern), target });
    }
    if (temps.length === 0) throw new UsageError(`none of the chosen queues receives ${types.join(', ')}`);
    lease.keepAlive();
    if (to > now - 10 * 60_000 && !o.json)
      ctx.io.err('note: the archive lags behind the bus (minutes): the last events of a window ending now may not be in it yet');
    await ctx.eb().send(
      new StartReplayCommand({
        ReplayName: replayName,
        Description: `heygen-relay replay ${new Date(from).toISOString()}..${new Date(to).toISOString()}${types.length ? ` (${types.join(',')})` : ''}`,
        EventSourceArn: archive.arn,
        EventStartTime: new Date(from),
        EventEndTime: new Date(to),
        Destination: { Arn: topology.busArn, FilterArns: temps.map((t) => t.temp.ruleArn) },
      }),
    );
    const { state, stateReason } = await followReplay(ctx, replayName, progress);
    const queues: ReplayQueueResult[] = [];
    for (const { temp, target } of temps)
      queues.push(
        await drainInto(ctx, temp, target, replayName, { from, to }, (n) => progress.update(`replay into ${target.route}: ${n}`)),
      );
    progress.done();
    const result: ReplayResult = {
      replayName,
      archive: archive.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      state,
      ...(stateReason ? { stateReason } : {}),
      queues,
    };
    ctx.emit(result, replayLines(result, types));
    return state === 'COMPLETED' ? EXIT.ok : EXIT.failed;
  } finally {
    progress.done();
    await lease.release().catch(() => undefined);
  }
}

/** Polls the replay until it ended (COMPLETED, FAILED or CANCELLED), showing its progress. */
async function followReplay(
  ctx: Ctx,
  replayName: string,
  progress: { update(text: string): void },
): Promise<{ state: string; stateReason?: string }> {
  for (;;) {
    const d = await ctx.eb().send(new DescribeReplayCommand({ ReplayName: replayName }));
    const state = d.State ?? 'UNKNOWN';
    if (state === 'COMPLETED' || state === 'FAILED' || state === 'CANCELLED')
      return { state, ...(d.StateReason ? { stateReason: d.StateReason } : {}) };
    progress.update(`replay ${replayName}: ${state}, replayed through ${d.EventLastReplayedTime?.toISOString() ?? '-'}`);
    await ctx.sleep(ctx.pollMs);
  }
}

function replayLines(r: ReplayResult, types: readonly string[]): string[] {
  return [
    `replay ${r.replayName} of ${r.from} .. ${r.to}${types.length ? ` (${types.join(', ')})` : ''}: ${r.state}${r.stateReason ? ` (${r.stateReason})` : ''}`,
    ...r.queues.map(
      (q) =>
        `  ${q.route}: ${q.delivered} event(s) delivered to ${q.queue}${q.outsideWindow ? `; ${q.outsideWindow} outside the window skipped` : ''}`,
    ),
  ];
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withCommon(
    program
      .command('replay')
      .summary("re-deliver a time window of the bus archive into the relay's queues")
      .description(
        'Re-deliver the events the bus archive holds for a time window into one relay queue (or every one), following the replay to its end and counting what each queue received. The archive lags behind the bus by minutes: a window that ends just now may miss its last events.',
      ),
  )
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .requiredOption('--from <time>', 'window start: ISO time, or a duration ago (24h, 2d)')
    .option('--to <time>', 'window end: ISO time, "now" or a duration ago (default: now)')
    .option(
      '--queue <name>',
      'only into this queue: its relay name (all, or a route name) or its SQS name (default: every relay queue)',
    )
    .option('--type <type...>', 'only these event types (repeat or comma-separate)')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
