/**
 * Standard Webhooks deliveries signed by implementations we did not write: the Python
 * `standardwebhooks` (the spec's library) and `svix` packages in the test venv
 * (python/requirements-test.txt), through python/standard_webhooks_sign.py.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const SCRIPT = join(ROOT, 'python', 'standard_webhooks_sign.py');

export type PythonLibrary = 'standardwebhooks' | 'svix';

export interface SignRequest {
  readonly lib: PythonLibrary;
  readonly secret: string;
  readonly id: string;
  readonly timestamp: number;
  readonly body: Buffer;
  /** v1 entries signed with other random secrets before the real one. @default 0 */
  readonly decoys?: number;
}

export interface Signed {
  /** `webhook-*` (standardwebhooks) or `svix-*` (svix) headers. */
  readonly headers: Record<string, string>;
  /** The same library's verify() of this delivery (raw bytes, its own 5-minute tolerance). */
  readonly library_verifies: boolean;
}

type Op =
  | ({ op: 'sign' } & Omit<SignRequest, 'body'> & { body_b64: string })
  | { op: 'verify'; lib: PythonLibrary; secret: string; headers: Record<string, string>; body_b64: string };

function run(ops: readonly Op[]): unknown[] {
  if (!existsSync(PYTHON)) throw new Error(`no test venv at ${PYTHON}: run \`node scripts/ensure-python-tools.mjs\``);
  const out = execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(ops), encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as unknown[];
}

/** Signs every request in one python run (a start costs ~100 ms). */
export function pythonSign(requests: readonly SignRequest[]): Signed[] {
  return run(requests.map(({ body, ...r }) => ({ op: 'sign' as const, ...r, body_b64: body.toString('base64') }))) as Signed[];
}

export interface VerifyRequest {
  readonly lib: PythonLibrary;
  readonly secret: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** The library's own verdict on each delivery (true: it verifies), in one python run. */
export function pythonVerifies(requests: readonly VerifyRequest[]): boolean[] {
  const ops = requests.map(({ body, ...r }) => ({ op: 'verify' as const, ...r, body_b64: body.toString('base64') }));
  return (run(ops) as { ok: boolean }[]).map((r) => r.ok === true);
}
