/**
 * The temporary-route sweeper Lambda entry (functions/entries/temp-route-sweeper.ts) on moto: imported with
 * the environment of the template's sweeper function (every reference resolved to the resources
 * provisioned from the synthesized stack), real SDK v3 clients. A `listen` process killed with
 * SIGKILL leaves its rule and queue; the sweeper leaves them within the lease and its grace, and
 * removes them after; a live listener's (its lease renewed), another bus's and a non-temporary rule
 * that merely shares the prefix are never touched.
 *
 * The grace is the template's (300 s): rather than wait it out, the sweeper's clock (Date only;
 * timers and the SDK's sockets stay real) is moved ahead with vi.setSystemTime.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  PutRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createTempRoute,
  removeTempRoute,
  type SweepResult,
  sweepTempRoutes,
  type TempRoute,
  type TempRouteDeps,
} from '../../functions/adapters/aws/temp-routes.js';
import { type EmulatorStack, lambdaContext, provisionFromTemplate, synthesizeRelayTemplate } from '../support/emulator-stack.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';

type Handler = (event: unknown, context: Context) => Promise<SweepResult>;

const REPO = join(__dirname, '..', '..');
const RUN = randomUUID().slice(0, 8);
let stack: EmulatorStack;
let sweeperEnv: Record<string, string>;
let eb: EventBridgeClient;
let sqs: SQSClient;
const children: ChildProcess[] = [];

function awsEnv() {
  return {
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
}

async function loadSweeper(): Promise<Handler> {
  Object.assign(process.env, sweeperEnv, awsEnv(), { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  vi.resetModules();
  return ((await import('../../functions/entries/temp-route-sweeper.js')) as { handler: Handler }).handler;
}

function spawnListen(ttl: number): { child: ChildProcess; err: string[] } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'bin', 'cli.ts'), 'listen', '--bus', stack.busName, '--wait', '1', '--ttl', String(ttl)],
    { env: { ...process.env, ...awsEnv() }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  const err: string[] = [];
  child.stderr?.on('data', (d: Buffer) => err.push(...d.toString().split('\n').filter(Boolean)));
  return { child, err };
}

async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

async function rulesOf(bus: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of ['heygen-relay-listen-', 'heygen-relay-replay-'])
    out.push(
      ...((await eb.send(new ListRulesCommand({ EventBusName: bus, NamePrefix: p }))).Rules ?? []).map((r) => r.Name ?? ''),
    );
  return out.sort();
}

async function queueNames(): Promise<string[]> {
  const out: string[] = [];
  for (const p of ['heygen-relay-listen-', 'heygen-relay-replay-'])
    out.push(
      ...((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: p }))).QueueUrls ?? []).map((u) => u.split('/').pop() ?? ''),
    );
  return out;
}

/** A route whose owner died while removing it: the rule is gone, the queue stays. */
async function orphanQueue(busName: string): Promise<TempRoute> {
  const deps = { eb: () => eb, sqs: () => sqs, now: () => Date.now() };
  const route = await createTempRoute(deps, {
    busName,
    kind: 'listen',
    pattern: { source: ['heygen'] },
    ttlSeconds: 1,
    suffix: RUN,
  });
  await eb.send(new RemoveTargetsCommand({ Rule: route.name, EventBusName: busName, Ids: ['heygen-relay-temp'], Force: true }));
  await eb.send(new DeleteRuleCommand({ Name: route.name, EventBusName: busName }));
  return route;
}

beforeAll(async () => {
  stack = await provisionFromTemplate(synthesizeRelayTemplate(), inject('motoEndpoint'));
  sweeperEnv = await stack.functionEnv((v) => v.SWEEP_GRACE_SECONDS !== undefined);
  const config = awsClientConfig(stack.endpoint);
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
}, 120_000);

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  eb?.destroy();
  sqs?.destroy();
  stack?.destroy();
});

describe('Temporary-route sweeper Lambda entry (functions/entries/temp-route-sweeper.ts) on moto', () => {
  it('removes what a SIGKILLed listen left once its lease and the grace passed; never a live listener, another bus or a non-temporary rule', async () => {
    expect(sweeperEnv).toEqual(expect.objectContaining({ EVENT_BUS_NAME: stack.busName, SWEEP_GRACE_SECONDS: '300' }));

    // A live listener first (its own start-up sweep runs before anything else exists), lease 600 s.
    const live = spawnListen(600);
    await waitFor(() => live.err.some((l) => l.startsWith('listening on')));
    const [liveRule] = await rulesOf(stack.busName);
    expect(liveRule).toMatch(/^heygen-relay-listen-/);
    // A listener with a 2 s lease, killed: nothing runs on exit.
    const dead = spawnListen(2);
    await waitFor(() => dead.err.some((l) => l.startsWith('listening on')));
    const deadRule = (await rulesOf(stack.busName)).find((r) => r !== liveRule) as string;
    const deadExit = exited(dead.child);
    dead.child.kill('SIGKILL');
    expect((await deadExit).signal).toBe('SIGKILL');
    // A queue whose rule is already gone (its owner died while removing them), of this bus ...
    const orphan = await orphanQueue(stack.busName);
    // ... and the same on another relay's bus: that relay's sweeper's business, not this one's.
    const otherBus = `other-${RUN}`;
    await eb.send(new CreateEventBusCommand({ Name: otherBus }));
    const foreignQueue = await orphanQueue(otherBus);
    // A rule of the operator's own that merely shares the prefix (no lease tags): not temporary.
    const mine = `heygen-relay-listen-${RUN}-mine`;
    await eb.send(new PutRuleCommand({ Name: mine, EventBusName: stack.busName, EventPattern: '{"source":["heygen"]}' }));

    const before = await rulesOf(stack.busName);
    expect(before).toEqual([deadRule, liveRule, mine].sort());
    expect(await queueNames()).toEqual(expect.arrayContaining([deadRule, liveRule, orphan.name, foreignQueue.name]));

    const handler = await loadSweeper();
    // Now (within the dead listener's lease, or seconds past it: well within the grace) nothing is removed.
    const now = await handler({}, lambdaContext());
    expect(now.removed).toEqual([]);
    expect(now.live.sort()).toEqual([deadRule, liveRule].sort());
    // Its lease has passed, but not the grace (the renewing machine's clock may run behind).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 120_000);
    expect((await handler({}, lambdaContext())).removed).toEqual([]);
    expect(await rulesOf(stack.busName)).toEqual(before);
    // Past lease and grace: the dead listener's rule and queue and the orphaned queue go.
    vi.setSystemTime(Date.now() + 200_000);
    const swept = await handler({}, lambdaContext());
    expect(swept.removed.sort()).toEqual([deadRule, orphan.name].sort());
    expect(swept.live).toEqual([liveRule]);
    vi.useRealTimers();

    expect(await rulesOf(stack.busName)).toEqual([liveRule, mine].sort());
    const left = await queueNames();
    expect(left).toEqual(expect.arrayContaining([liveRule, foreignQueue.name]));
    expect(left).not.toContain(deadRule);
    expect(left).not.toContain(orphan.name);
    expect(await rulesOf(otherBus)).toEqual([]);

    // The live listener still works and cleans up after itself on Ctrl-C.
    const liveExit = exited(live.child);
    live.child.kill('SIGINT');
    expect((await liveExit).code).toBe(0);
    expect(await rulesOf(stack.busName)).toEqual([mine]);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: foreignQueue.queueUrl }));
    await eb.send(new DeleteRuleCommand({ Name: mine, EventBusName: stack.busName }));
  }, 120_000);

  it('a concurrent remover (the owner exiting, a CLI sweep) at any point of the sweep fails nothing and leaves nothing', async () => {
    // The sweep's SDK calls, numbered; after call k the same routes are removed by someone else
    // (removeTempRoute, as an exiting owner or a concurrent CLI sweep does), for every k the sweep makes.
    const deps = (after: number, remove: () => Promise<void>): TempRouteDeps & { calls: string[] } => {
      const calls: string[] = [];
      let done = false;
      const wrap = <C extends { send: (...a: never[]) => Promise<unknown> }>(client: C): C =>
        new Proxy(client, {
          get(target, prop, receiver) {
            if (prop !== 'send') return Reflect.get(target, prop, receiver);
            return async (command: { constructor: { name: string } }, ...rest: unknown[]) => {
              const out = await (target.send as (...a: unknown[]) => Promise<unknown>).call(target, command, ...rest);
              calls.push(command.constructor.name);
              if (!done && calls.length === after) {
                done = true;
                await remove();
              }
              return out;
            };
          },
        });
      const e = wrap(eb);
      const q = wrap(sqs);
      // An hour ahead: the leases of 1 s have run out, the live route's two hours have not.
      return { eb: () => e, sqs: () => q, now: () => Date.now() + 3_600_000, calls };
    };
    const real = { eb: () => eb, sqs: () => sqs, now: () => Date.now() };
    const live = await createTempRoute(real, {
      busName: stack.busName,
      kind: 'replay',
      pattern: { source: ['heygen'] },
      ttlSeconds: 7_200,
    });
    const setUp = async () => {
      const whole = await createTempRoute(real, {
        busName: stack.busName,
        kind: 'listen',
        pattern: { source: ['heygen'] },
        ttlSeconds: 1,
      });
      return { whole, orphan: await orphanQueue(stack.busName) };
    };

    // Undisturbed, to count the calls.
    const first = await setUp();
    const baseline = deps(0, async () => undefined);
    expect((await sweepTempRoutes(baseline, stack.busName)).removed.sort()).toEqual([first.whole.name, first.orphan.name].sort());
    expect(baseline.calls.length).toBeGreaterThan(8);

    for (let k = 1; k <= baseline.calls.length; k++) {
      const { whole, orphan } = await setUp();
      const run = deps(k, async () => {
        await removeTempRoute(real, whole);
        await removeTempRoute(real, orphan);
      });
      const result = await sweepTempRoutes(run, stack.busName).catch((err: Error) => {
        throw new Error(`removed concurrently after call ${k} (${run.calls.join(', ')}): ${err.name}: ${err.message}`);
      });
      expect(result.live).toEqual([live.name]);
      expect(await rulesOf(stack.busName)).toEqual([live.name]);
      const left = await queueNames();
      expect(left).not.toContain(whole.name);
      expect(left).not.toContain(orphan.name);
      expect(left).toContain(live.name);
    }
    await removeTempRoute(real, live);
  }, 120_000);
});
