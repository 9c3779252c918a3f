/**
 * `npm run sandbox -- --archive` as a user meets it: started as a child process, used only through
 * the `export` lines it prints and the CLI (`node --import tsx bin/cli.ts ...` with those variables,
 * nothing else of this process's environment), `npm run sandbox -- run ...`, and a consumer reading
 * the `all` queue with the SDK configured from the same variables. Goes through status, a HeyGen
 * event emitted and consumed, its video archived into the archive bucket, a missed event recovered by
 * backfill (the CLI's, and the scheduled function run on request), the registrar's schedule, rotate,
 * redrive and listen; then Ctrl-C (SIGINT to its process group, as a terminal sends it) must leave
 * no process and no port behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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

interface MediaFile {
  url: string;
  contentType: string;
  size: number;
  sha256: string;
}

interface Emitted {
  event_data: { video_id: string; url?: string };
  deliveries: { delivered: boolean; attempts?: number; statuses?: number[]; reason?: string }[];
  media?: { video: MediaFile; thumbnail: MediaFile };
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
let outputs: Record<string, string> = {};

/**
 * Receives from the `all` queue until the `type` event about `videoId` comes (deleting it unless
 * `keep`). With the archive on, a result's `.archived` event names the same video.
 */
async function receive(videoId: string, type: string, keep = false, tries = 40): Promise<Record<string, unknown>> {
  for (let i = 0; i < tries; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: allQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
    );
    const about = (m: Message) => JSON.parse(m.Body ?? '{}') as { 'detail-type'?: string };
    const hit = (r.Messages ?? []).find((m: Message) => m.Body?.includes(videoId) && about(m)['detail-type'] === type);
    if (hit) {
      if (!keep) await sqs.send(new DeleteMessageCommand({ QueueUrl: allQueue, ReceiptHandle: hit.ReceiptHandle }));
      return (JSON.parse(hit.Body ?? '{}') as { detail: Record<string, unknown> }).detail;
    }
  }
  throw new Error(`no ${type} about ${videoId} in the all queue`);
}

/** How many signing secrets HeyGen issued to each endpoint (and no request broke its OpenAPI contract). */
async function issued(): Promise<number[]> {
  const state = (await (await fetch(`${env.HEYGEN_API_URL}/_sandbox/state`)).json()) as {
    endpoints: { secrets_issued: number }[];
    violations: string[];
  };
  expect(state.violations).toEqual([]);
  return state.endpoints.map((e) => e.secrets_issued);
}

/** `npm run sandbox -- run <args>` in a second terminal, with the sandbox's exports. */
function sandboxRun(args: string[]): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', 'sandbox', '--', 'run', ...args], { cwd: REPO, env: userEnv() });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return new Promise((done) => child.on('close', (code) => done({ code, out, err })));
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
  sandbox = spawn('npm', ['run', '--silent', 'sandbox', '--', '--archive'], {
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
  outputs = Object.fromEntries((stack.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  allQueue = outputs.DefaultQueueUrl as string;
  cf.destroy();
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
    const record = {
      measuredBy: 'test/sandbox/sandbox.test.ts',
      command: 'npm run sandbox -- --archive',
      startupSeconds: seconds,
      cpus: availableParallelism(),
      loadAverage: loadavg()[0],
    };
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
    const detail = await receive(e.event_data.video_id, 'avatar_video.success');
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

  it('--archive: the video HeyGen rendered lands byte for byte in the archive bucket, and avatar_video.success.archived is on the bus', async () => {
    const e = await emit({ type: 'avatar_video.success' });
    const media = e.media as NonNullable<Emitted['media']>;
    expect(media.video.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/videos\//);
    expect(e.event_data.url).toBe(media.video.url);
    // The result first (a message received again and again without being deleted is dead-lettered).
    await receive(e.event_data.video_id, 'avatar_video.success');
    const archived = await receive(e.event_data.video_id, 'avatar_video.success.archived', false, 90);
    const files = (
      archived.data as {
        files: { kind: string; bucket: string; key: string; size: number; sha256: string; contentType: string }[];
      }
    ).files;
    expect(files.map((f) => f.kind).sort()).toEqual(['thumbnail', 'video']);
    const s3 = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
    });
    try {
      for (const [kind, file] of [
        ['video', media.video],
        ['thumbnail', media.thumbnail],
      ] as const) {
        const f = files.find((x) => x.kind === kind);
        expect(f).toEqual({
          kind,
          bucket: outputs.ArchiveBucketName,
          key: `archive/heygen/${e.event_data.video_id}/${kind}`,
          size: file.size,
          contentType: file.contentType,
          sha256: file.sha256,
        });
        const object = await s3.send(new GetObjectCommand({ Bucket: f?.bucket, Key: f?.key }));
        const bytes = Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
      }
    } finally {
      s3.destroy();
    }
    const status = await cli(['archive', 'status', '--stack', env.STACK as string]);
    expect(status.err).toBe('');
    expect(status.out).toContain(`bucket: ${outputs.ArchiveBucketName}`);
    expect(status.out).toMatch(/^pending copies: 0 waiting, 0 in flight/m);
    expect(status.out).toMatch(/^dead-letter queue: 0$/m);
    expect(status.code).toBe(0);
  }, 150_000);

  it("schedules: listed with the template's rates, and run on request (the backfill recovers a missed event; the registrar finds the endpoint in sync; the rotation rotates)", async () => {
    const list = await sandboxRun([]);
    expect(list.err).toBe('');
    expect(list.code).toBe(0);
    for (const line of [
      /^registrar +rate\(1 hour\) +every 3600 s/m,
      /^backfill +rate\(1 hour\) +every 3600 s/m,
      /^temp-route-sweeper +rate\(15 minutes\) +every 900 s/m,
      /^rotation +rate\(30 days\)/m,
    ])
      expect(list.out).toMatch(line);
    const e = await emit({ type: 'avatar_video.fail', missed: true, ago: '20m' });
    const r = await sandboxRun(['backfill', 'registrar']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^backfill: ran in [\d.]+ s: \{"outcome":"done".*"backfilled":1,/m);
    expect(r.out).toMatch(/^registrar: ran in [\d.]+ s: \{"outcome":"in_sync"/m);
    expect(r.code).toBe(0);
    const detail = await receive(e.event_data.video_id, 'avatar_video.fail');
    expect(detail).toMatchObject({ type: 'avatar_video.fail', origin: 'backfill' });
    expect(stderr).toMatch(/\[sandbox\] schedule backfill \(request\) done in \d+ ms/);
    // The secret's rotation schedule: Secrets Manager's four steps through the rotation function.
    expect(await issued()).toEqual([1]);
    const rotation = await sandboxRun(['rotation']);
    expect(rotation.out).toMatch(
      /^rotation: ran in [\d.]+ s: \{"ARN":"arn:aws:secretsmanager:[^"]+","Name":"[^"]+","VersionId":"[0-9a-f-]{36}"\}$/m,
    );
    expect(rotation.code).toBe(0);
    expect(await issued()).toEqual([2]);
    const after = await emit({ type: 'avatar_video.fail' });
    expect(after.deliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    await receive(after.event_data.video_id, 'avatar_video.fail');
    const unknown = await sandboxRun(['nope']);
    expect(unknown.err).toMatch(/^sandbox: no schedule nope: .*registrar.*, all$/m);
    expect(unknown.code).toBe(64);
  }, 120_000);

  it('the stack is dated as deployed 1 h before the sandbox started (its signing secret and its endpoint at HeyGen): a missed event of the last hour was addressed to it, an older one cannot have been', async () => {
    const sm = aws(SecretsManagerClient);
    const arn = Object.entries(outputs).find(([k]) => /SigningSecretArn/.test(k))?.[1];
    const born = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).CreatedDate?.getTime() as number;
    sm.destroy();
    const state = (await (await fetch(`${env.HEYGEN_API_URL}/_sandbox/state`)).json()) as { endpoints: { created_at: string }[] };
    const created = Date.parse(state.endpoints[0]?.created_at as string);
    // Moto made the secret and the registrar the endpoint minutes ago (when the sandbox started).
    expect(born).toBeLessThan(Date.now() - 50 * 60_000);
    expect(created).toBeLessThan(Date.now() - 50 * 60_000);
    expect(born).toBeLessThanOrEqual(created);
    const res = await fetch(`${env.HEYGEN_API_URL}/_sandbox/emit`, {
      method: 'POST',
      body: JSON.stringify({ type: 'avatar_video.fail', missed: true, ago: '2h' }),
    });
    expect(res.status).toBe(409);
    expect(JSON.stringify(await res.json())).toMatch(/no HeyGen endpoint subscribed to avatar_video.fail existed 2h ago/);
  }, 30_000);

  it('a missed event (only in HeyGen history) is recovered by backfill', async () => {
    const e = await emit({ type: 'avatar_video.fail', missed: true, ago: '20m' });
    expect(e.deliveries).toEqual([expect.objectContaining({ delivered: false, reason: 'missed' })]);
    const r = await cli(['backfill', '--stack', env.STACK as string]);
    expect(r.out).toMatch(/^backfilled: 1;/m);
    expect(r.code).toBe(0);
    const detail = await receive(e.event_data.video_id, 'avatar_video.fail');
    expect(detail).toMatchObject({ type: 'avatar_video.fail', origin: 'backfill' });
  }, 90_000);

  it('rotate: the rotation function rotates at HeyGen and stores the secret; the next delivery verifies at once', async () => {
    const before = JSON.parse((await cli(['status', '--stack', env.STACK as string, '--json'])).out);
    const current = (s: { signingSecret: { versions: { id: string; stages: string[] }[] } }) =>
      s.signingSecret.versions.find((v) => v.stages.includes('AWSCURRENT'))?.id;
    const [issuedBefore] = await issued();
    const r = await cli(['rotate', '--stack', env.STACK as string]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^started rotation of arn:aws:secretsmanager:\S+/m);
    expect(await issued()).toEqual([(issuedBefore as number) + 1]);
    const after = JSON.parse((await cli(['status', '--stack', env.STACK as string, '--json'])).out);
    expect(current(after)).toBeDefined();
    expect(current(after)).not.toBe(current(before));
    const e = await emit({ type: 'avatar_video.success' });
    expect(e.deliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    await receive(e.event_data.video_id, 'avatar_video.success');
  }, 90_000);

  it('redrive: a dead-lettered event goes back to the all queue', async () => {
    const e = await emit({ type: 'avatar_video.success' });
    // A consumer that keeps failing: received without being deleted until SQS dead-letters it.
    for (let i = 0; i < 30; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: allQueue, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      if (i > 3 && (r.Messages ?? []).length === 0) break;
    }
    const r = await cli(['redrive', '--stack', env.STACK as string, '--queue', 'all']);
    // The event, and the .archived events of this and earlier results nobody consumed.
    expect(r.out).toMatch(/^all: moved (\d+) of \1 message\(s\) from \S+ back to \S+$/m);
    expect(r.code).toBe(0);
    await receive(e.event_data.video_id, 'avatar_video.success');
  }, 90_000);

  it('listen: prints the next event as it arrives', async () => {
    let listening: () => void = () => undefined;
    const started = new Promise<void>((ok) => {
      listening = ok;
    });
    const run = cli(
      ['listen', '--stack', env.STACK as string, '--type', 'avatar_video.fail', '--count', '1', '--wait', '2'],
      (err) => {
        if (err.includes('listening on')) listening();
      },
    );
    await started;
    const e = await emit({ type: 'avatar_video.fail' });
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.out).toContain(e.event_data.video_id);
    expect(r.err).toMatch(/1 event\(s\) received/);
    await receive(e.event_data.video_id, 'avatar_video.fail');
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
