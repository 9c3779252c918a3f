/**
 * Secrets never leak into logs: every line the test run writes is captured and scanned.
 *
 * Two roles in one module:
 * - setupFiles entry (runs in every test worker): patches `process.stdout.write`,
 *   `process.stderr.write` and the global `console` so every line (Powertools Logger writes its JSON
 *   through a `Console` bound to process.stdout; metrics EMF likewise) is appended to a per-worker
 *   file in the capture directory. Powertools JSON lines are swallowed (not echoed) to keep the
 *   output readable; anything else is passed through. Tests register the sensitive values they
 *   create (signing secrets, API keys, signatures) with `registerSensitive()`.
 * - globalSetup entry (main process, default export): creates the capture directory, hands it to
 *   the workers, and on teardown scans every captured line against every registered value; it
 *   throws (failing the run) on a leak, and writes its figures to .reliability/log-scan.json.
 *
 * vitest.config.ts:
 *   setupFiles: ['./test/support/log-capture.ts'],
 *   globalSetup: ['./test/support/moto-global-setup.ts', './test/support/log-capture.ts'],
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    logCaptureDir: string;
  }
}

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const RELIABILITY_DIR = join(REPO_ROOT, '.reliability');
const ENV_DIR = 'HEYGEN_RELAY_LOG_CAPTURE_DIR';
const STATE = Symbol.for('heygen-relay.log-capture');

export type SensitiveKind = 'secret' | 'api_key' | 'signature';

interface CaptureState {
  dir: string;
  file: string;
  buffer: string[];
  sensitive: string[];
  lines: number;
  partial: { out: string; err: string };
}

function defaultDir(): string {
  return process.env[ENV_DIR] ?? join(tmpdir(), 'heygen-relay-log-capture');
}

function state(): CaptureState | undefined {
  return (globalThis as Record<symbol, CaptureState | undefined>)[STATE];
}

function flush(): void {
  const s = state();
  if (!s) return;
  if (s.buffer.length > 0) {
    appendFileSync(s.file, s.buffer.join(''));
    s.buffer.length = 0;
  }
  if (s.sensitive.length > 0) {
    appendFileSync(s.file.replace(/\.log$/, '.sensitive'), s.sensitive.join(''));
    s.sensitive.length = 0;
  }
}

/** Registers a value that must never appear in any log line (kept in the capture dir until teardown). */
export function registerSensitive(value: string | undefined | null, kind: SensitiveKind): void {
  const s = state();
  if (!s || !value) return;
  s.sensitive.push(`${JSON.stringify({ kind, value })}\n`);
  if (s.sensitive.length > 5_000) flush();
}

/** Registers the signature header of a Function URL event. */
export function registerEventSignature(event: { headers?: Record<string, string | undefined> }): void {
  const sig = event.headers?.['heygen-signature'];
  if (sig && /^[0-9a-fA-F]{64}$/.test(sig)) registerSensitive(sig, 'signature');
}

/** Lines captured by this worker so far (including lines still buffered). */
export function capturedLines(): string[] {
  const s = state();
  if (!s) return [];
  flush();
  return existsSync(s.file)
    ? readFileSync(s.file, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
    : [];
}

function isPowertoolsLine(line: string): boolean {
  return line.startsWith('{') && (line.includes('"service":') || line.includes('"_aws":'));
}

function record(s: CaptureState, which: 'out' | 'err', chunk: unknown): boolean {
  const text =
    typeof chunk === 'string'
      ? chunk
      : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array
        ? Buffer.from(chunk).toString('utf8')
        : String(chunk);
  const all = s.partial[which] + text;
  const parts = all.split('\n');
  s.partial[which] = parts.pop() ?? '';
  let echo = false;
  for (const line of parts) {
    s.buffer.push(`${line}\n`);
    s.lines++;
    if (!isPowertoolsLine(line)) echo = true;
  }
  if (s.buffer.length > 2_000) flush();
  return echo || (parts.length === 0 && !isPowertoolsLine(s.partial[which]));
}

/** Installs the capture in this process (idempotent). */
export function installLogCapture(dir = defaultDir()): void {
  if (state()) return;
  mkdirSync(dir, { recursive: true });
  const s: CaptureState = {
    dir,
    file: join(dir, `worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}.log`),
    buffer: [],
    sensitive: [],
    lines: 0,
    partial: { out: '', err: '' },
  };
  (globalThis as Record<symbol, CaptureState | undefined>)[STATE] = s;
  for (const which of ['out', 'err'] as const) {
    const stream = which === 'out' ? process.stdout : process.stderr;
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const echo = record(s, which, chunk);
      if (echo) return original(chunk, ...rest);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof stream.write;
  }
  // vitest replaces the global console with one that reports to the main process without going
  // through process.stdout of the worker: capture it too.
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  for (const m of methods) {
    const original = console[m].bind(console) as (...args: unknown[]) => void;
    console[m] = (...args: unknown[]) => {
      const line = args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ');
      for (const l of line.split('\n')) {
        s.buffer.push(`${l}\n`);
        s.lines++;
      }
      if (!isPowertoolsLine(line)) original(...args);
    };
  }
  process.on('exit', flush);
}

function safeJson(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}\n${v.stack ?? ''}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export interface LeakReport {
  files: number;
  linesScanned: number;
  sensitiveValues: { secret: number; api_key: number; signature: number };
  leaks: { kind: SensitiveKind; file: string; line: string }[];
}

/** Scans every captured line in `dir` against every registered sensitive value. */
export function scanForLeaks(dir = defaultDir()): LeakReport {
  const report: LeakReport = { files: 0, linesScanned: 0, sensitiveValues: { secret: 0, api_key: 0, signature: 0 }, leaks: [] };
  if (!existsSync(dir)) return report;
  const names = readdirSync(dir);
  const signatures = new Set<string>();
  const strings: { kind: SensitiveKind; value: string }[] = [];
  for (const f of names.filter((n) => n.endsWith('.sensitive'))) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!l) continue;
      const { kind, value } = JSON.parse(l) as { kind: SensitiveKind; value: string };
      if (kind === 'signature') signatures.add(value.toLowerCase());
      else strings.push({ kind, value });
    }
  }
  // Fixture values other suites use without registering them: the fake HeyGen API key.
  const fake = join(REPO_ROOT, 'test', 'fakes', 'heygen-api.ts');
  const fakeKey = existsSync(fake) ? /FAKE_API_KEY\s*=\s*'([^']+)'/.exec(readFileSync(fake, 'utf8'))?.[1] : undefined;
  if (fakeKey) strings.push({ kind: 'api_key', value: fakeKey });
  const uniqueStrings = [...new Map(strings.map((s) => [s.value, s])).values()];
  report.sensitiveValues = {
    secret: uniqueStrings.filter((s) => s.kind === 'secret').length,
    api_key: uniqueStrings.filter((s) => s.kind === 'api_key').length,
    signature: signatures.size,
  };
  const hex = /[0-9a-fA-F]{64}/g;
  // Whatever was or wasn't registered: anything shaped like a HeyGen signing secret.
  const secretShaped = /whsec_[A-Za-z0-9]{16,}/;
  for (const f of names.filter((n) => n.endsWith('.log'))) {
    report.files++;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      report.linesScanned++;
      for (const m of line.match(hex) ?? [])
        if (signatures.has(m.toLowerCase())) report.leaks.push({ kind: 'signature', file: f, line: line.slice(0, 300) });
      let found = false;
      for (const s of uniqueStrings)
        if (line.includes(s.value)) {
          report.leaks.push({ kind: s.kind, file: f, line: line.slice(0, 300) });
          found = true;
        }
      if (!found && secretShaped.test(line)) report.leaks.push({ kind: 'secret', file: f, line: line.slice(0, 300) });
    }
  }
  return report;
}

/** For test files: flushes this worker's capture so a scan sees it. */
export function flushLogCapture(): void {
  flush();
}

// ---- setupFiles role (test workers) --------------------------------------------------------------
if (process.env.VITEST_WORKER_ID !== undefined || process.env.VITEST_POOL_ID !== undefined) {
  let dir: string | undefined;
  try {
    dir = inject('logCaptureDir');
  } catch {
    dir = undefined;
  }
  installLogCapture(dir ?? defaultDir());
  try {
    afterAll(() => flush());
  } catch {
    // not inside a test file's collection: the exit hook flushes
  }
}

// ---- globalSetup role (main process) ---------------------------------------------------------------
export default function setup(project: { provide(key: 'logCaptureDir', value: string): void }): () => void {
  const dir = join(tmpdir(), `heygen-relay-logs-${process.pid}-${Date.now()}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.env[ENV_DIR] = dir;
  project.provide('logCaptureDir', dir);
  return () => {
    const report = scanForLeaks(dir);
    mkdirSync(RELIABILITY_DIR, { recursive: true });
    writeFileSync(
      join(RELIABILITY_DIR, 'log-scan.json'),
      `${JSON.stringify({ ...report, leaks: report.leaks.length, leakSamples: report.leaks.slice(0, 5).map((l) => ({ kind: l.kind, file: l.file })) }, null, 2)}\n`,
    );
    if (!process.env.KEEP_LOG_CAPTURE) rmSync(dir, { recursive: true, force: true });
    if (report.leaks.length > 0) {
      // Throwing here would skip the other teardowns (the moto server) and vitest 4 still exits 0,
      // so fail the process explicitly instead.
      process.exitCode = 1;
      process.stderr.write(
        `\n\u001b[41m SECRET LEAK \u001b[0m ${report.leaks.length} captured log line(s) contain a signing secret, API key or signature ` +
          `(kinds: ${[...new Set(report.leaks.map((l) => l.kind))].join(', ')}; files: ${[...new Set(report.leaks.map((l) => l.file))].join(', ')}). ` +
          'See .reliability/log-scan.json; rerun with KEEP_LOG_CAPTURE=1 to keep the captured lines.\n',
      );
    }
  };
}

/** Writes one test file's figures for scripts/reliability.ts (.reliability/<name>.json). */
export function writeFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(RELIABILITY_DIR, { recursive: true });
  writeFileSync(
    join(RELIABILITY_DIR, `${name}.json`),
    `${JSON.stringify({ ...figures, writtenAt: new Date().toISOString() }, null, 2)}\n`,
  );
}
