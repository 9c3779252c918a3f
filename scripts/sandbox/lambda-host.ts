/**
 * One of the sandbox's "Lambda functions": a child process that imports a real Lambda entry
 * (functions/<name>.ts) with that function's environment from the synthesized template, as Lambda
 * gives each function its own execution environment. The sandbox (scripts/sandbox/main.ts) starts it
 * with the environment set and its output going to a log file.
 *
 *   lambda-host.ts serve <entry> <port>      a Function URL on 127.0.0.1:<port> (the ingress); sends
 *                                            `{ ready: url }` over IPC once it listens
 *   lambda-host.ts invoke <entry> <json>...  calls the handler once per event, in order; sends
 *                                            `{ results }` or `{ error }` over IPC and exits
 *
 * The archiver, in the sandbox only: SANDBOX_MEDIA_CA_PEM and SANDBOX_MEDIA_HOST (the sandbox's
 * file host, scripts/sandbox/media-server.ts) become its media fetcher's options before the entry is
 * imported: that CA trusted, that one host's loopback address not refused. Every other check stays
 * (https, the allow-list, redirects, sizes, types), and the function as deployed never runs this file.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { createFunctionUrlServer, type FunctionUrlHandler } from '../../functions/adapters/local/http-server.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function context(name: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:123456789012:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The archiver's fetcher options for the sandbox's file host (functions/entries/archiver.ts reads this global once). */
function sandboxMediaFetcher(): void {
  const ca = process.env.SANDBOX_MEDIA_CA_PEM;
  const host = process.env.SANDBOX_MEDIA_HOST;
  if (!ca || !host) return;
  const key = Symbol.for('heygen-relay.sandbox.archive-fetcher');
  (globalThis as Record<symbol, unknown>)[key] = { agent: new Agent({ ca, keepAlive: false }), unscreenedHosts: [host] };
}

async function load(entry: string): Promise<Handler> {
  sandboxMediaFetcher();
  const mod = (await import(resolve(entry))) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new Error(`${entry} exports no handler`);
  return mod.handler;
}

function send(message: unknown): Promise<void> {
  return new Promise((done) => {
    if (!process.send) return done();
    process.send(message, () => done());
  });
}

async function serve(entry: string, port: number): Promise<void> {
  const handler = await load(entry);
  const name = entry.replace(/^.*\/|\.ts$/g, '');
  const fn: FunctionUrlHandler = (event) => handler(event, context(name, 10_000)) as ReturnType<FunctionUrlHandler>;
  const server = createFunctionUrlServer(fn, Number(process.env.MAX_BODY_BYTES ?? 256 * 1024) + 1024);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  // `on`: a Ctrl-C comes from the terminal and then as the sandbox's SIGTERM; either ends it.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.once('disconnect', stop); // the sandbox is gone: so is its ingress
  await send({ ready: `http://127.0.0.1:${port}/` });
}

async function invoke(entry: string, events: string[]): Promise<void> {
  const results: unknown[] = [];
  try {
    const handler = await load(entry);
    const name = entry.replace(/^.*\/|\.ts$/g, '');
    for (const e of events) results.push(await handler(JSON.parse(e), context(name, 60_000)));
    await send({ results });
  } catch (err) {
    const e = err as Error;
    await send({ error: `${e.name}: ${e.message}` });
  }
  process.exit(0);
}

const [mode, entry, ...rest] = process.argv.slice(2);
if (mode === 'serve' && entry) void serve(entry, Number(rest[0]));
else if (mode === 'invoke' && entry) void invoke(entry, rest);
else {
  process.stderr.write('usage: lambda-host.ts serve <entry> <port> | invoke <entry> <event-json>...\n');
  process.exit(64);
}
