/**
 * What EventBridge Scheduler and Secrets Manager's rotation schedule do for the relay in AWS, for the
 * sandbox: the template's schedules (the registrar's and the backfill's `rate(1 hour)`, the temporary
 * route sweeper's `rate(15 minutes)`, the signing secret's rotation every N days) run their functions
 * on a timer, at the template's rate or, with `npm run sandbox -- --every 30s`, all at that period;
 * and any of them runs now on request (`npm run sandbox -- run backfill`, or
 * `POST $AWS_ENDPOINT_URL/_sandbox/schedules/backfill/run`).
 *
 * Runs of one schedule never overlap (a run asked for while one is going waits for it); each run is a
 * fresh process of the real entry (a cold start), its result kept as the schedule's last run.
 */
import { parseDuration } from '../../bin/commands/backfill-run.js';

export interface Schedule {
  /** Short name: `registrar`, `backfill`, `temp-route-sweeper`, `rotation`, ... */
  readonly name: string;
  /** As the template has it: `rate(1 hour)`, `cron(...)`. */
  readonly expression: string;
  /** What it runs (the function's logical id, or the secret's rotation). */
  readonly target: string;
  /** Runs it once; resolves with the function's result. */
  readonly run: () => Promise<unknown>;
}

export interface RunRecord {
  readonly name: string;
  readonly trigger: 'timer' | 'request';
  readonly startedAt: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

export interface ScheduleView {
  readonly name: string;
  readonly expression: string;
  readonly target: string;
  /** The timer's period in the sandbox (ms), or null when it has none (a cron expression). */
  readonly everyMs: number | null;
  readonly nextRunAt: string | null;
  readonly lastRun: RunRecord | null;
}

/** Node's longest timeout (about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The period of a `rate(N unit)` expression in ms; undefined for anything else (cron). */
export function ratePeriodMs(expression: string): number | undefined {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : undefined;
}

/** `--every`: a duration with its unit (30s, 5m, 1h), at least 1 s; a bare number is refused, not read as seconds. */
export function parseEvery(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) throw new RangeError(`--every needs a unit, like ${text.trim()}s or ${text.trim()}m`);
  const ms = parseDuration(text, '--every');
  if (ms < 1000) throw new RangeError('--every is at least 1s');
  return ms;
}

export interface SchedulerOptions {
  /** Every schedule runs at this period instead of its own (`--every`). */
  readonly everyMs?: number;
  readonly now?: () => number;
  /** One line per finished run, for the sandbox's own output. */
  readonly log?: (line: string) => void;
}

/** Short text of a run's result for the sandbox's log line. */
function brief(r: RunRecord): string {
  if (!r.ok) return `failed: ${r.error}`;
  const outcome = (r.result as { outcome?: unknown } | undefined)?.outcome;
  return typeof outcome === 'string' ? outcome : 'done';
}

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly next = new Map<string, number>();
  private readonly last = new Map<string, RunRecord>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private stopped = false;

  constructor(
    readonly schedules: readonly Schedule[],
    private readonly options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The timer's period of a schedule, or undefined (cron: run on request only). */
  periodOf(s: Schedule): number | undefined {
    return this.options.everyMs ?? ratePeriodMs(s.expression);
  }

  /** Starts one timer per schedule with a period; the first run comes one period from now, as with EventBridge's rate(). */
  start(): void {
    for (const s of this.schedules) {
      const period = this.periodOf(s);
      if (period === undefined) continue;
      this.next.set(s.name, this.now() + period);
      this.arm(s.name, period);
    }
  }

  /** A timeout to the next run (at most MAX_TIMEOUT_MS at a time: a 30-day rotation outlasts a Node timer). */
  private arm(name: string, period: number): void {
    if (this.stopped) return;
    const due = this.next.get(name) as number;
    const timer = setTimeout(
      () => {
        if (this.now() >= due) {
          this.next.set(name, due + period);
          void this.run(name, 'timer');
        }
        this.arm(name, period);
      },
      Math.min(Math.max(0, due - this.now()), MAX_TIMEOUT_MS),
    );
    timer.unref();
    this.timers.set(name, timer);
  }

  /** Runs `name` now, after any run of it still going. */
  run(name: string, trigger: RunRecord['trigger'] = 'request'): Promise<RunRecord> {
    const s = this.schedules.find((x) => x.name === name);
    if (!s) return Promise.reject(new RangeError(`no schedule ${name}: ${this.schedules.map((x) => x.name).join(', ')}`));
    const go = async (): Promise<RunRecord> => {
      const started = this.now();
      const base = { name, trigger, startedAt: new Date(started).toISOString() };
      let record: RunRecord;
      try {
        record = { ...base, ms: 0, ok: true, result: await s.run() };
      } catch (err) {
        record = { ...base, ms: 0, ok: false, error: (err as Error).message };
      }
      record = { ...record, ms: this.now() - started };
      this.last.set(name, record);
      if (!this.stopped) this.options.log?.(`schedule ${name} (${trigger}) ${brief(record)} in ${record.ms} ms`);
      return record;
    };
    const p = (this.chains.get(name) ?? Promise.resolve()).then(go, go);
    this.chains.set(
      name,
      p.catch(() => undefined),
    );
    return p;
  }

  list(): ScheduleView[] {
    return this.schedules.map((s) => {
      const next = this.next.get(s.name);
      return {
        name: s.name,
        expression: s.expression,
        target: s.target,
        everyMs: this.periodOf(s) ?? null,
        nextRunAt: next === undefined ? null : new Date(next).toISOString(),
        lastRun: this.last.get(s.name) ?? null,
      };
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** The sandbox's control routes for the schedules, served on its AWS endpoint (scripts/sandbox/aws-gateway.ts). */
export async function scheduleRoute(
  scheduler: Scheduler,
  method: string,
  path: string,
): Promise<{ status: number; body: unknown } | undefined> {
  if (method === 'GET' && path === '/_sandbox/schedules') return { status: 200, body: { schedules: scheduler.list() } };
  const m = /^\/_sandbox\/schedules\/([^/]+)\/run$/.exec(path);
  if (method !== 'POST' || !m) return undefined;
  const name = decodeURIComponent(m[1] as string);
  const names = name === 'all' ? scheduler.schedules.map((s) => s.name) : [name];
  if (!names.every((n) => scheduler.schedules.some((s) => s.name === n)))
    return {
      status: 404,
      body: { error: `no schedule ${name}: ${[...scheduler.schedules.map((s) => s.name), 'all'].join(', ')}` },
    };
  const runs: RunRecord[] = [];
  for (const n of names) runs.push(await scheduler.run(n));
  return { status: 200, body: { runs } };
}
