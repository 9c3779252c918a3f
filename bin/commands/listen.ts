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
import {
  createTempRoute,
  removeTempRoute,
  renewTempRoute,
  sweepTempRoutes,
  type TempRoute,
} from '../../functions/adapters/aws/temp-routes.js';
import { type CliIo, Ctx, checkEventTypes, EXIT, positiveInt, type Run, typeList, UsageError, withCommon } from './shared.js';
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

async function run(ctx: Ctx, o: Options): Promise<number> {
  const count = positiveInt('--count', o.count);
  const ttlSeconds = positiveInt('--ttl', o.ttl) ?? 120;
  const waitSeconds = Math.min(positiveInt('--wait', o.wait) ?? 20, 20);
  if (o.forward && !/^https?:\/\//.test(o.forward)) throw new UsageError('--forward must be an http:// or https:// URL');
  const types = typeList(o.type);
  checkEventTypes('--type', types);
  const busName = await ctx.bus(o.bus, 'listen');
  const swept = await sweepTempRoutes(ctx, busName);
  for (const r of swept.removed) ctx.io.err(`removed the leftovers of an earlier listen/replay: ${r}`);
  const topology = await discoverTopology(ctx, busName);
  const sources = topology.sources.length > 0 ? topology.sources : ['heygen', 'joggai'];
  const pattern = { source: sources, ...(types.length > 0 ? { 'detail-type': types } : {}) };

  const { signal, dispose } = signalOf(ctx.io);
  let route: TempRoute | undefined;
  let seen = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    route = await createTempRoute(ctx, { busName, kind: 'listen', pattern, ttlSeconds });
    const r = route;
    heartbeat = setInterval(
      () => {
        renewTempRoute(ctx, r, ttlSeconds).catch((err: Error) =>
          ctx.io.err(`warning: could not renew ${r.name}: ${err.message}`),
        );
      },
      Math.max(1000, (ttlSeconds * 1000) / 3),
    );
    heartbeat.unref();
    ctx.io.err(
      `listening on ${busName} for ${types.length > 0 ? types.join(', ') : 'every relay event'} (rule and queue ${route.name}); Ctrl-C to stop`,
    );
    while (!signal.aborted && (count === undefined || seen < count)) {
      let messages: { Body?: string; ReceiptHandle?: string }[];
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
        messages = res.Messages ?? [];
      } catch (err) {
        if (signal.aborted) break;
        throw err;
      }
      for (const m of messages) {
        if (count !== undefined && seen >= count) break;
        const body = m.Body ?? '';
        let event: BusEvent = {};
        try {
          event = JSON.parse(body) as BusEvent;
        } catch {
          // printed as it is
        }
        if (o.forward) {
          const problem = await forward(ctx, o.forward, body);
          if (problem) {
            ctx.io.err(`${event.id ?? '?'}: ${o.forward} ${problem}; it comes again in 30 s`);
            continue;
          }
        }
        seen += 1;
        if (o.json) ctx.io.out(JSON.stringify(event));
        else
          ctx.io.out(
            `${event.time ?? '-'}  ${event.source ?? '-'}  ${event['detail-type'] ?? '-'}  ${o.forward ? `-> ${o.forward}  ` : ''}${JSON.stringify(event.detail ?? body)}`,
          );
        await ctx.sqs().send(new DeleteMessageCommand({ QueueUrl: route.queueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    dispose();
    if (route) {
      await removeTempRoute(ctx, route);
      ctx.io.err(`removed ${route.name}; ${seen} event(s) received`);
    }
  }
  return EXIT.ok;
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
