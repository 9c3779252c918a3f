/**
 * The CLI's manners (issue 21): `| head` ends quietly, one exit-code table for every command, every
 * error one line on stderr saying what to do, input refused before anything changes, a `--version`,
 * credentials and region errors that name the variables to set, and no SDK notice on every call.
 * In-process through main() where it can be, as a child process where the process itself is the
 * subject (EPIPE, the environment, the SDK's warning).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';

const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'bin', 'cli.ts');

/** An io whose AWS clients fail the test if anything is asked of AWS. */
function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const touched: string[] = [];
  const forbid = (name: string) => () => {
    touched.push(name);
    throw new Error(`${name} was used before the input was validated`);
  };
  const io: CliIo = {
    env,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    eventBridge: forbid('EventBridge'),
    sqs: forbid('SQS'),
    secretsManager: forbid('Secrets Manager'),
    cloudFormation: forbid('CloudFormation'),
    dynamoDb: forbid('DynamoDB'),
  };
  return { io, out, err, touched };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a user's shell runs it: a child process with only `env` (plus PATH). */
function run(args: string[], env: NodeJS.ProcessEnv, options: { closeStdout?: boolean } = {}): Promise<Ran> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  if (options.closeStdout)
    child.stdout.destroy(); // `| head` that has read enough: the pipe's reader is gone
  else child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

let fake: FakeHeyGenApi;
let home: string;
beforeAll(async () => {
  fake = await FakeHeyGenApi.start();
  home = await mkdtemp(join(tmpdir(), 'cli-manners-home-')); // no ~/.aws: nothing to find credentials in
});
afterAll(async () => {
  await fake.close();
  await rm(home, { recursive: true, force: true });
});

describe('CLI manners: pipes and the process', () => {
  it('`--help | head` (the reader gone before it writes) ends quietly with exit 0', async () => {
    const r = await run(['--help'], { HOME: home }, { closeStdout: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it('`--version` prints the package version', async () => {
    const c = capture();
    expect(await main(['--version'], c.io)).toBe(0);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(c.out).toEqual([pkg.version]);
  });

  it('no AWS credentials: exit 2, one line naming the variables to set, and no SDK Node-version notice', async () => {
    const r = await run(['status', '--stack', 'Relay'], {
      HOME: home,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.stderr.trim().split('\n')).toEqual([
      'error: no AWS credentials found: set AWS_PROFILE (after aws configure or aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  }, 30_000);

  it('no AWS region: exit 2, one line naming AWS_REGION', async () => {
    const r = await run(['status', '--stack', 'Relay'], {
      HOME: home,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'x',
    });
    expect(r.stderr.trim().split('\n')).toEqual([
      'error: no AWS region: set AWS_REGION (e.g. export AWS_REGION=us-east-1) or a region in your AWS profile',
    ]);
    expect(r.code).toBe(2);
  }, 30_000);
});

describe('CLI manners: one exit code per kind of failure, in every command', () => {
  const noKey = { HEYGEN_API_URL: '' };
  it.each([
    ['event-types', ['event-types']],
    ['rotate', ['rotate', '--secret-file', '/nonexistent/secret.json']],
    ['reconcile', ['reconcile', '--endpoint-url', 'https://x.example/heygen', '--dry-run']],
  ])('%s without HEYGEN_API_KEY exits 2 with one line on stderr saying what to set', async (_name, args) => {
    const c = capture({ ...noKey, HEYGEN_API_URL: fake.url });
    expect(await main(args, c.io)).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^error: .*HEYGEN_API_KEY/);
    expect(c.out).toEqual([]);
  });

  it.each([
    ['event-types', ['event-types']],
    ['reconcile', ['reconcile', '--endpoint-url', 'https://x.example/heygen', '--dry-run']],
  ])('%s with a key HeyGen refuses exits 2 and says the key came from HEYGEN_API_KEY', async (_name, args) => {
    const c = capture({ HEYGEN_API_KEY: `${FAKE_API_KEY}-wrong`, HEYGEN_API_URL: fake.url });
    expect(await main(args, c.io)).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^error: HeyGen refused the API key in HEYGEN_API_KEY.*export the right key/);
    expect(c.err[0]).not.toMatch(/stored/);
    expect(c.out).toEqual([]);
  });
});

describe('CLI manners: input validated before anything changes', () => {
  it('replay --from 24 (no unit) is refused (64), not taken as 24 seconds', async () => {
    const c = capture();
    expect(await main(['replay', '--bus', 'b', '--from', '24'], c.io)).toBe(64);
    expect(c.err[0]).toBe(
      'error: --from 24 has no unit: write 24h (hours ago), 24m or 24d, or an ISO time like 2026-12-01T00:00:00Z',
    );
    expect(c.touched).toEqual([]);
  });

  it('replay --type with a typo is refused with a "did you mean" (64), nothing replayed', async () => {
    const c = capture();
    expect(await main(['replay', '--bus', 'b', '--from', '1h', '--type', 'avatar_video.sucess'], c.io)).toBe(64);
    expect(c.err[0]).toMatch(/--type: unknown event type "avatar_video.sucess"; did you mean avatar_video.success\?/);
    expect(c.touched).toEqual([]);
  });

  it('listen --type with a typo is refused (64) instead of waiting forever', async () => {
    const c = capture();
    expect(await main(['listen', '--bus', 'b', '--type', 'avatar_video.sucess'], c.io)).toBe(64);
    expect(c.err[0]).toMatch(/did you mean avatar_video.success\?/);
    expect(c.touched).toEqual([]);
  });

  it('--type knows the media archive outcome types (avatar_video.success.archived), and names them in a did-you-mean', async () => {
    const { checkEventTypes } = await import('../../bin/commands/shared.js');
    expect(() =>
      checkEventTypes('--type', ['avatar_video.success.archived', 'avatar_video.success.archive_failed']),
    ).not.toThrow();
    expect(() => checkEventTypes('--type', ['avatar_video.success.archvied'])).toThrow(
      /did you mean avatar_video.success.archived\?/,
    );
  });

  it('send with a typo names the closest type (64)', async () => {
    const c = capture();
    expect(await main(['send', 'avatar_vido.fail', '--url', 'http://127.0.0.1:9/heygen'], c.io)).toBe(64);
    expect(c.err[0]).toMatch(/did you mean avatar_video.fail\?/);
  });

  it('a usage error is one line with a hint, on stderr', async () => {
    const c = capture();
    expect(await main(['replay', '--bus', 'b'], c.io)).toBe(64);
    expect(c.err).toEqual(["error: required option '--from <time>' not specified (see heygen-relay replay --help)"]);
    expect(c.out).toEqual([]);
  });
});

describe('CLI manners: errors that say what was tried', () => {
  let html: Server;
  let htmlUrl: string;
  beforeAll(async () => {
    // An endpoint that is not the API asked for (an emulator without it answers this way).
    html = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>not here</html>'));
    await new Promise<void>((ok) => html.listen(0, '127.0.0.1', ok));
    htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => html.close(() => ok())));

  it('an API the endpoint does not offer is named (not "SyntaxError: Unexpected token <")', async () => {
    const config = {
      endpoint: htmlUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    };
    const c = capture();
    const io: CliIo = { ...c.io, eventBridge: () => new EventBridgeClient(config), sqs: () => new SQSClient(config) };
    expect(await main(['redrive', '--bus', 'relay-bus'], io)).toBe(1);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(/^error: EventBridge \w+: the endpoint answered HTTP 404 and does not offer this API/);
    expect(c.err[0]).not.toMatch(/Unexpected token/);
  });

  it('send to an unreachable URL says which URL it tried and why', async () => {
    const c = capture();
    const io: CliIo = {
      ...c.io,
      fetch: () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })),
      secretsManager: () =>
        ({
          send: async (command: object) =>
            command.constructor.name === 'DescribeSecretCommand'
              ? { VersionIdsToStages: { v1: ['AWSCURRENT'] } }
              : { VersionId: 'v1', SecretString: JSON.stringify({ secret: 'whsec_abcdefghijklmnopqrstuvwxyz0123456789' }) },
          middlewareStack: { add() {} },
        }) as never,
    };
    expect(
      await main(['send', 'avatar_video.success', '--url', 'http://127.0.0.1:9/heygen', '--signing-secret-id', 's'], io),
    ).toBe(1);
    expect(c.err).toEqual([
      'error: could not reach http://127.0.0.1:9/heygen (ECONNREFUSED): is the relay deployed there? Check --url',
    ]);
  });
});
