/**
 * `heygen-relay listen [--type TYPE] [--forward URL]`: the deployed bus's events on a laptop, with no
 * public tunnel and no third party. A temporary rule and queue on the bus
 * (functions/adapters/aws/temp-routes.ts: removed on exit and on Ctrl-C, self-expiring when the
 * process dies, by the relay's sweeper Lambda, lib/temp-route-sweeper.ts), long-polled; each event is
 * printed as it arrives, or POSTed to a local consumer's URL (a message is deleted only once that
 * URL answered 2xx; otherwise SQS hands it over again after 30 s).
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import type { TempRoute } from '../../functions/adapters/aws/temp-routes.js';
import { type CliIo, Ctx, checkEventTypes, EXIT, positiveInt, type Run, typeList, UsageError, withCommon } from './shared.js';
import { sweepLeftovers, TempRouteLease } from './temp-route-lease.js';
import { discoverTopology } from './topology.js';

interface Options {
  stack?: string;
  json?: boolean;
  bus?: string;
  type?: string[];
  forward?: string;
  count?: string;
  ttl?: string;
  wait?: string;
}

interface BusEvent {
  id?: string;
  time?: string;
  source?: string;
  'detail-type'?: string;
  detail?: unknown;
}

function signalOf(io: CliIo): { signal: AbortSignal; dispose(): void } {
  if (io.signal) return { signal: io.signal, dispose() {} };
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

async function forward(ctx: Ctx, url: string, body: string): Promise<string | null> {
  try {
    const res = await (ctx.io.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? null : `answered ${res.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The options, checked before anything changes on the bus. */
function listenSettings(o: Options) {
  const count = positiveInt('--count', o.count);
  const ttlSeconds = positiveInt('--ttl', o.ttl) ?? 120;
  const waitSeconds = Math.min(positiveInt('--wait', o.wait) ?? 20, 20);
  if (o.forward && !/^https?:\/\//.test(o.forward)) throw new UsageError('--forward must be an http:// or https:// URL');
  const types = typeList(o.type);
  checkEventTypes('--type', types);
  return { count, ttlSeconds, waitSeconds, types };
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const settings = listenSettings(o);
  const { types } = settings;
  const busName = await ctx.bus(o.bus, 'listen');
  for (const r of await sweepLeftovers(ctx, busName)) ctx.io.err(`removed the leftovers of an earlier listen/replay: ${r}`);
  const topology = await discoverTopology(ctx, busName);
  const sources = topology.sources.length > 0 ? topology.sources : ['heygen', 'joggai'];
  const pattern = { source: sources, ...(types.length > 0 ? { 'detail-type': types } : {}) };

  const { signal, dispose } = signalOf(ctx.io);
  const lease = new TempRouteLease(ctx, busName, 'listen', settings.ttlSeconds);
  let seen = 0;
  try {
    const route = await lease.add(pattern);
    lease.keepAlive((r, err) => ctx.io.err(`warning: could not renew ${r.name}: ${err.message}`));
    ctx.io.err(
      `listening on ${busName} for ${types.length > 0 ? types.join(', ') : 'every relay event'} (rule and queue ${route.name}); Ctrl-C to stop`,
    );
    const more = () => settings.count === undefined || seen < settings.count;
    while (!signal.aborted && more()) {
      const messages = await receive(ctx, route, settings.waitSeconds, signal);
      if (messages === null) break;
      for (const m of messages) {
        if (!more()) break;
        const event = await accept(ctx, o, m.Body ?? '');
        if (!event) continue;
        seen += 1;
        print(ctx, o, event, m.Body ?? '');
        await ctx.sqs().send(new DeleteMessageCommand({ QueueUrl: route.queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
  } finally {
    dispose();
    const route = lease.routes[0];
    await lease.release();
    if (route) ctx.io.err(`removed ${route.name}; ${seen} event(s) received`);
  }
  return EXIT.ok;
}

type Message = { Body?: string; ReceiptHandle?: string };

/** One long poll of the route's queue; null when Ctrl-C ended it. */
async function receive(ctx: Ctx, route: TempRoute, waitSeconds: number, signal: AbortSignal): Promise<Message[] | null> {
  try {
    const res = await ctx.sqs().send(
      new ReceiveMessageCommand({
        QueueUrl: route.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: 30,
      }),
      { abortSignal: signal },
    );
    return res.Messages ?? [];
  } catch (err) {
    if (signal.aborted) return null;
    throw err;
  }
}

/** The event of a message body; with --forward, only once the URL answered 2xx (else null: SQS hands it over again after 30 s). */
async function accept(ctx: Ctx, o: Options, body: string): Promise<BusEvent | null> {
  let event: BusEvent = {};
  try {
    event = JSON.parse(body) as BusEvent;
  } catch {
    // printed as it is
  }
  const problem = o.forward ? await forward(ctx, o.forward, body) : null;
  if (problem) {
    ctx.io.err(`${event.id ?? '?'}: ${o.forward} ${problem}; it comes again in 30 s`);
    return null;
  }
  return event;
}

function print(ctx: Ctx, o: Options, event: BusEvent, body: string): void {
  if (o.json) ctx.io.out(JSON.stringify(event));
  else
    ctx.io.out(
      `${event.time ?? '-'}  ${event.source ?? '-'}  ${event['detail-type'] ?? '-'}  ${o.forward ? `-> ${o.forward}  ` : ''}${JSON.stringify(event.detail ?? body)}`,
    );
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withCommon(
    program
      .command('listen')
      .summary("print the deployed bus's events as they arrive, or forward them to a local URL")
      .description(
        "Print the deployed bus's relay events as they arrive (or POST each to a local consumer with --forward), through a temporary rule and queue on the bus: no public tunnel, no third party. Both are removed on exit and Ctrl-C; if the process dies they expire after --ttl and the next listen, replay or status removes them.",
      ),
  )
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .option('--type <type...>', 'only these event types (e.g. avatar_video.success; repeat or comma-separate)')
    .option('--forward <url>', 'POST each event (the JSON a queue consumer receives) to this URL instead of only printing it')
    .option('--count <n>', 'stop after N events')
    .option('--ttl <seconds>', 'how long the temporary rule and queue outlive a killed process (renewed while it runs)', '120')
    .option('--wait <seconds>', 'long-poll wait per receive (at most 20)', '20')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
