/**
 * The developer commands as a developer runs them: `npm start` (stops when npm is stopped, a failed
 * start leaves the saved secret alone, a bad setting is one line), `npm run send -- --help`, and the
 * CDK app's configuration errors (one line, no stack).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);
const children: ChildProcess[] = [];
const servers: Server[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { HEYGEN_WEBHOOK_SECRET: _h, JOGGAI_WEBHOOK_SECRET: _j, PORT: _p, ...rest } = process.env;
  return { ...rest, ...extra };
}

/** A port taken by a server of this test (so nothing else gets it while the test uses it). */
async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

describe('npm start', () => {
  it('stops listening when npm itself is stopped (no orphaned relay)', async () => {
    const state = mkdtempSync(join(tmpdir(), 'relay-start-'));
    const { port, server } = await occupiedPort();
    await new Promise((resolve) => server.close(resolve));
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: env({ PORT: String(port), RELAY_STATE_DIR: state }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(npm);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      npm.stdout.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      npm.once('close', () => reject(new Error(`npm start ended early: ${out}`)));
    });
    expect(await accepts(port)).toBe(true);
    npm.kill('SIGTERM');
    await new Promise((resolve) => npm.once('close', resolve));
    let open = true;
    for (let i = 0; i < 30 && open; i++) {
      open = await accepts(port);
      if (open) await new Promise((r) => setTimeout(r, 100));
    }
    expect(open).toBe(false);
  }, 30_000);

  it('a start that fails (port in use) says so in one line and leaves the saved secret alone', async () => {
    const state = mkdtempSync(join(tmpdir(), 'relay-start-'));
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'heygen-secret'), 'whsec_local_the_running_relays_secret');
    const { port } = await occupiedPort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-relay.ts'], {
      cwd: ROOT,
      env: env({ PORT: String(port), RELAY_STATE_DIR: state }),
    });
    children.push(child);
    const { code, stderr } = await exitOf(child);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `heygen-relay (local) could not start: port ${port} is in use (is another \`npm start\` running? PORT=<n> picks another)`,
    );
    expect(readFileSync(join(state, 'heygen-secret'), 'utf8')).toBe('whsec_local_the_running_relays_secret');
  }, 30_000);

  it('rejects a malformed setting in one line, exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-relay.ts'], {
      cwd: ROOT,
      env: env({ PORT: '0', HEYGEN_TIMESTAMP_TOLERANCE_SECONDS: 'five', RELAY_STATE_DIR: mkdtempSync(join(tmpdir(), 'relay-')) }),
    });
    children.push(child);
    const { code, stderr } = await exitOf(child);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'heygen-relay (local) could not start: HEYGEN_TIMESTAMP_TOLERANCE_SECONDS must be a whole number of seconds (0 turns the check off), got "five"',
    );
  }, 30_000);
});

describe('npm run send', () => {
  it('prints its usage for --help', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'send', '--', '--help'], { cwd: ROOT, env: env({}) });
    expect(stdout).toMatch(/^Usage: npm run send -- \[--provider heygen\|joggai\]/);
  });

  it('names an unknown option with the usage and exit code 2, without a stack', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'scripts/send.ts', '--bogus'], { cwd: ROOT, env: env({}) }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/^Unknown option '--bogus'/);
    expect((err as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
  });
});

describe('The CDK app (bin/app.ts)', () => {
  it('prints a configuration error as one line, without a stack', async () => {
    const err = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: ROOT,
      env: env({ CDK_CONTEXT_JSON: JSON.stringify({ queues: '[{"name":"x","eventTypes":["nope"]}]' }) }),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toMatch(/^heygen-relay: configuration error: Queue "x" routes unknown event type "nope"/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
