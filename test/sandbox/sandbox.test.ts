/**
 * `npm run sandbox` as a user meets it: started as a child process, used only through the `export`
 * lines it prints and the CLI (`node --import tsx bin/cli.ts ...` with those variables, nothing else
 * of this process's environment), and a consumer reading the `all` queue with the SDK configured
 * from the same variables. Goes through status, a HeyGen event emitted and consumed, a missed event
 * recovered by backfill, rotate, redrive and listen; then Ctrl-C (SIGINT to its process group, as a
 * terminal sends it) must leave no process and no port behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(__dirname, '..', '..');
const READY = /^sandbox ready in ([\d.]+) s/m;

let sandbox: ChildProcess;
let exited: Promise<number | null>;
let stdout = '';
let stderr = '';
/** The variables the sandbox printed (`export K=V`). */
const env: Record<string, string> = {};

/** A shell's environment with nothing of ours in it but PATH and HOME, plus the sandbox's exports. */
function userEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function cli(args: string[], onErr?: (text: string) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/cli.ts', ...args], { cwd: REPO, env: userEnv() });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
    onErr?.(err);
  });
  return new Promise((done) => child.on('close', (code) => done({ code, out, err })));
}

interface Emitted {
  event_data: { video_id: string };
  deliveries: { delivered: boolean; attempts?: number; statuses?: number[]; reason?: string }[];
}

async function emit(body: Record<string, unknown>): Promise<Emitted> {
  const res = await fetch(`${env.HEYGEN_API_URL}/_sandbox/emit`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Emitted;
}

function aws<T>(Client: new (c: object) => T): T {
  return new Client({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
  });
}

let sqs: SQSClient;
let allQueue: string;

/** Receives from the `all` queue until the event about `videoId` comes (deleting it unless `keep`). */
async function receive(videoId: string, keep = false): Promise<Record<string, unknown>> {
  for (let i = 0; i < 40; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: allQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
    );
    const hit = (r.Messages ?? []).find((m: Message) => m.Body?.includes(videoId));
    if (hit) {
      if (!keep) await sqs.send(new DeleteMessageCommand({ QueueUrl: allQueue, ReceiptHandle: hit.ReceiptHandle }));
      return (JSON.parse(hit.Body ?? '{}') as { detail: Record<string, unknown> }).detail;
    }
  }
  throw new Error(`no message about ${videoId} in the all queue`);
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const s = connect(Number(port), hostname);
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}

function processesInGroup(pgid: number): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pgid)
    .map((f) => f.join(' '));
}

beforeAll(async () => {
  const { AWS_PROFILE: _p, AWS_ENDPOINT_URL: _e, HEYGEN_API_KEY: _k, ...parent } = process.env;
  // detached: its own process group, so the test can send what a terminal's Ctrl-C sends.
  sandbox = spawn('npm', ['run', '--silent', 'sandbox'], {
    cwd: REPO,
    env: parent,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((done) => sandbox.once('exit', (code) => done(code)));
  sandbox.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the sandbox was not ready in 150 s:\n${stdout}\n${stderr}`)), 150_000);
    sandbox.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (READY.test(stdout)) {
        clearTimeout(timer);
        ready();
      }
    });
    void exited.then((code) => fail(new Error(`the sandbox exited (${code}):\n${stdout}\n${stderr}`)));
  });
  for (const m of stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1] as string] = m[2] as string;
  sqs = aws(SQSClient);
  const cf = aws(CloudFormationClient);
  const stack = await cf.send(new DescribeStacksCommand({ StackName: env.STACK }));
  allQueue = stack.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'DefaultQueueUrl')?.OutputValue as string;
}, 180_000);

afterAll(async () => {
  if (sandbox?.exitCode === null && sandbox.pid) process.kill(-sandbox.pid, 'SIGKILL');
  sqs?.destroy();
});

describe('npm run sandbox', () => {
  it('prints the exports every CLI command needs, then a ready line with its start-up time', () => {
    expect(Object.keys(env).sort()).toEqual(
      [
        'AWS_ACCESS_KEY_ID',
        'AWS_ENDPOINT_URL',
        'AWS_REGION',
        'AWS_SECRET_ACCESS_KEY',
        'HEYGEN_API_KEY',
        'HEYGEN_API_URL',
        'STACK',
      ].sort(),
    );
    expect(env.AWS_ENDPOINT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.HEYGEN_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The start-up time, for the record (as test/package/install.test.ts keeps its figures).
    const seconds = Number(READY.exec(stdout)?.[1]);
    expect(seconds).toBeGreaterThan(0);
    mkdirSync(join(REPO, '.reliability'), { recursive: true });
    const record = { measuredBy: 'test/sandbox/sandbox.test.ts', startupSeconds: seconds, cpus: availableParallelism() };
    writeFileSync(join(REPO, '.reliability', 'sandbox.json'), `${JSON.stringify(record, null, 2)}\n`);
  });

  it('status: the registered endpoint, healthy', async () => {
    // The registrar's metric is in CloudWatch before the ready line (the sandbox waits for it), but a
    // datapoint within a second of GetMetricData's EndTime is not always listed by the emulator: ask
    // again for a few seconds, as a person running status twice would.
    let r = await cli(['status', '--stack', env.STACK as string]);
    for (let i = 0; i < 5 && !/Last registrar +changed/.test(r.out); i++) {
      await new Promise((done) => setTimeout(done, 1000));
      r = await cli(['status', '--stack', env.STACK as string]);
    }
    expect(r.err).toBe('');
    expect(r.out).toMatch(/HeyGen endpoint +http:\/\/127\.0\.0\.1:\d+\/heygen +ep_\S+ +enabled/);
    // The registrar's run after "deploy" reached CloudWatch from its log, as in AWS.
    expect(r.out).toMatch(/Last registrar +changed/);
    expect(r.out).toMatch(/healthy: nothing needs a person/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('an event HeyGen emits is delivered signed and read from the all queue', async () => {
    const e = await emit({ type: 'avatar_video.success' });
    expect(e.deliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1, statuses: [200] })]);
    const detail = await receive(e.event_data.video_id);
    expect(detail).toMatchObject({ type: 'avatar_video.success', provider: 'heygen', origin: 'delivery' });

    // Disabled at HeyGen's end (as in its dashboard): nothing is delivered until it is enabled again.
    const state = (await (await fetch(`${env.HEYGEN_API_URL}/_sandbox/state`)).json()) as {
      endpoints: { endpoint_id: string }[];
    };
    const id = state.endpoints[0]?.endpoint_id as string;
    const control = (action: string) => fetch(`${env.HEYGEN_API_URL}/_sandbox/endpoints/${id}/${action}`, { method: 'POST' });
    expect((await control('disable')).status).toBe(200);
    const off = await emit({ type: 'avatar_video.success' });
    expect(off.deliveries).toEqual([expect.objectContaining({ delivered: false, reason: 'endpoint disabled' })]);
    expect((await control('enable')).status).toBe(200);
  }, 60_000);

  it('a missed event (only in HeyGen history) is recovered by backfill', async () => {
    const e = await emit({ type: 'avatar_video.fail', missed: true, ago: '20m' });
    expect(e.deliveries).toEqual([expect.objectContaining({ delivered: false, reason: 'missed' })]);
    const r = await cli(['backfill', '--stack', env.STACK as string]);
    expect(r.out).toMatch(/^backfilled: 1;/m);
    expect(r.code).toBe(0);
    const detail = await receive(e.event_data.video_id);
    expect(detail).toMatchObject({ type: 'avatar_video.fail', origin: 'backfill' });
  }, 90_000);

  it('rotate: the rotation function rotates at HeyGen and stores the secret; the next delivery verifies at once', async () => {
    const before = JSON.parse((await cli(['status', '--stack', env.STACK as string, '--json'])).out);
    const current = (s: { signingSecret: { versions: { id: string; stages: string[] }[] } }) =>
      s.signingSecret.versions.find((v) => v.stages.includes('AWSCURRENT'))?.id;
    const issued = async () => {
      const state = (await (await fetch(`${env.HEYGEN_API_URL}/_sandbox/state`)).json()) as {
        endpoints: { secrets_issued: number }[];
        violations: string[];
      };
      expect(state.violations).toEqual([]);
      return state.endpoints.map((e) => e.secrets_issued);
    };
    expect(await issued()).toEqual([1]);
    const r = await cli(['rotate', '--stack', env.STACK as string]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^started rotation of arn:aws:secretsmanager:\S+/m);
    expect(await issued()).toEqual([2]);
    const after = JSON.parse((await cli(['status', '--stack', env.STACK as string, '--json'])).out);
    expect(current(after)).toBeDefined();
    expect(current(after)).not.toBe(current(before));
    const e = await emit({ type: 'avatar_video.success' });
    expect(e.deliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    await receive(e.event_data.video_id);
  }, 90_000);

  it('redrive: a dead-lettered event goes back to the all queue', async () => {
    const e = await emit({ type: 'avatar_video.success' });
    // A consumer that keeps failing: received without being deleted until SQS dead-letters it.
    for (let i = 0; i < 30; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: allQueue, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      if (i > 3 && (r.Messages ?? []).length === 0) break;
    }
    const r = await cli(['redrive', '--stack', env.STACK as string, '--queue', 'all']);
    expect(r.out).toMatch(/^all: moved 1 of 1 message\(s\) from \S+ back to \S+$/m);
    expect(r.code).toBe(0);
    await receive(e.event_data.video_id);
  }, 90_000);

  it('listen: prints the next event as it arrives', async () => {
    let listening: () => void = () => undefined;
    const started = new Promise<void>((ok) => {
      listening = ok;
    });
    const run = cli(['listen', '--stack', env.STACK as string, '--count', '1', '--wait', '2'], (err) => {
      if (err.includes('listening on')) listening();
    });
    await started;
    const e = await emit({ type: 'avatar_video.fail' });
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.out).toContain(e.event_data.video_id);
    expect(r.err).toMatch(/1 event\(s\) received/);
    await receive(e.event_data.video_id);
  }, 90_000);

  it('Ctrl-C stops everything: no process of its group, no port left', async () => {
    const pgid = sandbox.pid as number;
    const webhook = /webhook URL (\S+)/.exec(stderr)?.[1] as string;
    expect(await portOpen(webhook)).toBe(true);
    process.kill(-pgid, 'SIGINT');
    expect(await exited).toBe(0);
    for (let i = 0; i < 50 && processesInGroup(pgid).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesInGroup(pgid)).toEqual([]);
    for (const url of [env.AWS_ENDPOINT_URL as string, env.HEYGEN_API_URL as string, webhook])
      expect(await portOpen(url), url).toBe(false);
  }, 60_000);
});
