/**
 * `npm run sandbox -- run [<schedule>... | all]`, in a second terminal while the sandbox runs: runs
 * scheduled functions now, as their schedule would, and prints what each returned. Without a name it
 * lists the schedules. Finds the sandbox by $AWS_ENDPOINT_URL, else by .relay/sandbox/env (what the
 * sandbox wrote at start). Exit codes as the CLI's: 0 done, 1 a run failed, 64 usage (no such
 * schedule, or no sandbox running).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord, ScheduleView } from './schedules.js';

const EXIT = { ok: 0, failed: 1, usage: 64 } as const;

/** The sandbox's AWS endpoint: the environment's, else the one its env file names. */
export function sandboxEndpoint(stateDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_ENDPOINT_URL?.startsWith('http://127.0.0.1:')) return env.AWS_ENDPOINT_URL;
  try {
    return /^export AWS_ENDPOINT_URL=(\S+)$/m.exec(readFileSync(join(stateDir, 'env'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

const line = (s: string) => process.stdout.write(`${s}\n`);
const fail = (s: string) => process.stderr.write(`sandbox: ${s}\n`);

function printList(schedules: ScheduleView[]): void {
  for (const s of schedules) {
    const every = s.everyMs === null ? 'on request only' : `every ${Math.round(s.everyMs / 1000)} s`;
    const last = s.lastRun ? `last ${s.lastRun.ok ? 'ok' : 'failed'} at ${s.lastRun.startedAt}` : 'not run yet';
    line(`${s.name.padEnd(20)} ${s.expression.padEnd(18)} ${every}, next ${s.nextRunAt ?? '-'}; ${last}`);
  }
  line('run one now: npm run sandbox -- run <name> (or all)');
}

function printRun(r: RunRecord): void {
  if (r.ok) line(`${r.name}: ran in ${(r.ms / 1000).toFixed(1)} s: ${JSON.stringify(r.result)}`);
  else fail(`${r.name}: failed after ${(r.ms / 1000).toFixed(1)} s: ${r.error}`);
}

async function call(endpoint: string, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${endpoint}${path}`, { method });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function runCommand(names: string[], stateDir: string): Promise<number> {
  const endpoint = sandboxEndpoint(stateDir);
  if (!endpoint) {
    fail('no sandbox found: start one with npm run sandbox (or export its AWS_ENDPOINT_URL)');
    return EXIT.usage;
  }
  try {
    if (names.length === 0) {
      const r = await call(endpoint, 'GET', '/_sandbox/schedules');
      printList(r.body.schedules as ScheduleView[]);
      return EXIT.ok;
    }
    let code: number = EXIT.ok;
    for (const name of names) {
      const r = await call(endpoint, 'POST', `/_sandbox/schedules/${encodeURIComponent(name)}/run`);
      if (r.status !== 200) {
        fail(String(r.body.error));
        return EXIT.usage;
      }
      for (const run of r.body.runs as RunRecord[]) {
        printRun(run);
        if (!run.ok) code = EXIT.failed;
      }
    }
    return code;
  } catch (err) {
    fail(`no sandbox answers at ${endpoint} (${(err as Error).message}): is npm run sandbox still running?`);
    return EXIT.usage;
  }
}
