/**
 * AWS emulator harness for integration tests: runs moto in server mode (PyPI `moto[server]`,
 * installed into ./.venv by scripts/ensure-python-tools.mjs, which `npm test` runs as "pretest").
 *
 * No silent skips: if the emulator cannot be started, startMoto() rejects with an error that says
 * why (missing venv, process exit, readiness timeout) and includes the tail of moto's output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface MotoServer {
  /** Base URL, e.g. http://127.0.0.1:40123 — pass it as `endpoint` to SDK v3 clients. */
  readonly endpoint: string;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>;
  /**
   * Wipes ALL emulated state (POST /moto-api/reset). Beware: a server shared across test files
   * (see moto-global-setup.ts) is used by files running in parallel; only reset a server you own.
   */
  reset(): Promise<void>;
}

export interface StartMotoOptions {
  /** How long to wait for the server to answer HTTP. Default 30 s (cold start is ~1-3 s). */
  readyTimeoutMs?: number;
  /** moto_server executable. Default: $MOTO_SERVER_BIN, else <repo>/.venv/bin/moto_server. */
  executable?: string;
  /** Extra environment for the moto process (e.g. MOTO_* settings). */
  env?: NodeJS.ProcessEnv;
}

const REPO_ROOT = resolve(__dirname, '..', '..');
const VENV_BIN = join(REPO_ROOT, '.venv', process.platform === 'win32' ? 'Scripts' : 'bin');
const DEFAULT_EXECUTABLE = join(VENV_BIN, process.platform === 'win32' ? 'moto_server.exe' : 'moto_server');
const VENV_PYTHON = join(VENV_BIN, process.platform === 'win32' ? 'python.exe' : 'python');
/** moto_server with DynamoDB's item operations serialized, as DynamoDB applies them (see the file). */
const ATOMIC_LAUNCHER = join(REPO_ROOT, 'python', 'moto_server_atomic.py');
const OUTPUT_TAIL_BYTES = 4096;
const PORT_ATTEMPTS = 3;

/** Region and dummy credentials used with the emulator. */
export const MOTO_REGION = 'us-east-1';
/** moto's default account id (ARNs it returns contain it). */
export const MOTO_ACCOUNT_ID = '123456789012';

/** Client configuration for AWS SDK v3 clients talking to the emulator. */
export function awsClientConfig(endpoint: string): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint,
    region: MOTO_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

/** Finds a currently free TCP port on 127.0.0.1 by binding port 0. */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Starts moto_server on a free 127.0.0.1 port and waits until it answers HTTP. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const executable = options.executable ?? process.env.MOTO_SERVER_BIN ?? DEFAULT_EXECUTABLE;
  if (!existsSync(executable)) {
    throw new Error(
      `AWS emulator not installed: ${executable} does not exist. ` +
        "Run 'npm run emulator:install' (npm test does it automatically via its pretest script), " +
        'or set MOTO_SERVER_BIN to a moto_server executable.',
    );
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(executable, await findFreePort(), options);
    } catch (err) {
      lastError = err;
      // Another process may have taken the port between our probe and moto's bind: try another.
      if (!(err instanceof StartError && err.portInUse)) throw err;
    }
  }
  throw lastError;
}

async function startOnce(executable: string, port: number, options: StartMotoOptions): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const started = Date.now();

  // The repo's own moto (no MOTO_SERVER_BIN) runs through the launcher that serializes DynamoDB.
  const viaLauncher = executable === DEFAULT_EXECUTABLE && existsSync(VENV_PYTHON);
  const command = viaLauncher ? VENV_PYTHON : executable;
  const args = [...(viaLauncher ? [ATOMIC_LAUNCHER] : []), '-H', '127.0.0.1', '-p', String(port)];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
    child.once('error', (err) => {
      spawnError = err;
      resolveExit();
    });
  });

  // Never leave an orphaned emulator behind, even if the caller forgets stop() or the run crashes.
  const killOnExit = () => killNow(child);
  process.once('exit', killOnExit);

  const describe = () =>
    `moto_server (${executable} -H 127.0.0.1 -p ${port})` +
    (output.trim() ? `\n--- last output of moto_server ---\n${output.trimEnd()}\n---` : ' printed nothing');

  try {
    for (;;) {
      if (spawnError) throw new StartError(`AWS emulator failed to spawn: ${spawnError.message}\n${describe()}`, false);
      if (exited) {
        throw new StartError(
          `AWS emulator exited during startup (code ${exited.code}, signal ${exited.signal}): ${describe()}`,
          /address already in use|errno 98/i.test(output),
        );
      }
      if (await answers(`${endpoint}/moto-api/`)) break;
      if (Date.now() - started > readyTimeoutMs) {
        throw new StartError(
          `AWS emulator did not become ready within ${readyTimeoutMs} ms at ${endpoint}: ${describe()}`,
          false,
        );
      }
      await Promise.race([sleep(100), exitPromise]);
    }
  } catch (err) {
    await stopChild(child, exitPromise, () => exited !== undefined || spawnError !== undefined);
    process.removeListener('exit', killOnExit);
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    async stop() {
      stopped ??= stopChild(child, exitPromise, () => exited !== undefined).finally(() =>
        process.removeListener('exit', killOnExit),
      );
      return stopped;
    },
    async reset() {
      if (exited) throw new Error(`cannot reset the AWS emulator: it has exited. ${describe()}`);
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (res.status !== 200) {
        throw new Error(`AWS emulator reset failed: HTTP ${res.status} ${await res.text()}`);
      }
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 300;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function killNow(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function stopChild(child: ChildProcess, exitPromise: Promise<void>, isDone: () => boolean): Promise<void> {
  if (isDone()) return;
  child.kill('SIGTERM');
  const graceful = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
  if (!graceful) {
    killNow(child);
    await exitPromise;
  }
}
