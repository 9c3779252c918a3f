/**
 * One clock for a whole model run (test/support/lifecycle-chaos.ts): every fake (Secrets Manager's
 * CreatedDate, HeyGen's created_at, idempotency expiry and history retention), every store (dedup
 * TTLs, leases, evidence, the backfill checkpoint) and every timer the code under test sets reads it.
 * Time moves only when the model says so (someone sleeps, a call hangs until its caller gives up).
 *
 * While a run is on, {@link installModelRuntime} also
 * - replaces the global `setTimeout`/`clearTimeout` and `AbortSignal.timeout` with timers on this
 *   clock (the ingress's deadline fires when the model's time passes it, never by the machine's), and
 * - puts a tripwire on the wall clock (`Date.now()`, `new Date()`): it still answers the machine's
 *   time (so a fake that reads it is wrong in the model, as it would be), and records where each
 *   read came from. The model test fails on any read from test/ (a fake or the model itself off the
 *   shared clock); reads from functions/ are reported by `npm run chaos` (code that takes no clock).
 */

/** The model's clock: virtual epoch ms, and timers that fire when it passes them. */
export class ModelClock {
  t: number;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();
  private seq = 0;

  constructor(start: number) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  /** Resolves when the clock reaches now + `ms` (the model advances it when everyone waits). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  /** Whether a timer is pending. */
  get pending(): number {
    return this.timers.size;
  }

  setTimer(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(id: number | undefined): void {
    if (id !== undefined) this.timers.delete(id);
  }

  /** Moves time forward by `ms`, firing the timers it passes, in order. */
  advance(ms: number): void {
    const end = this.t + Math.max(0, ms);
    for (let next = this.nextTimer(end); next; next = this.nextTimer(end)) {
      this.timers.delete(next.id);
      this.t = Math.max(this.t, next.due);
      next.fn();
    }
    this.t = end;
  }

  /**
   * Moves time to the next timer (at most `maxMs` ahead) and fires it, with every other timer due at
   * that same moment (so processes waking together interleave); false when there is none.
   */
  advanceToNextTimer(maxMs: number): boolean {
    const next = this.nextTimer(this.t + maxMs);
    if (!next) {
      this.t += maxMs;
      return false;
    }
    this.t = Math.max(this.t, next.due);
    const due = [...this.timers].filter(([, t]) => t.due === next.due).sort(([a], [b]) => a - b);
    for (const [id] of due) this.timers.delete(id);
    for (const [, t] of due) t.fn();
    return true;
  }

  private nextTimer(until: number): { id: number; due: number; fn: () => void } | undefined {
    let best: { id: number; due: number; fn: () => void } | undefined;
    for (const [id, t] of this.timers) if (t.due <= until && (!best || t.due < best.due)) best = { id, ...t };
    return best;
  }
}

/** Where wall-clock reads came from during model runs: `file:line` → count. */
export type WallClockReads = Map<string, number>;

const RealDate = Date;
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realAbortTimeout = AbortSignal.timeout;

/** The first stack frame outside this file, as a path relative to the repository (or `node:…`). */
function callerSite(): string {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  for (const line of lines) {
    if (line.includes('model-clock.ts')) continue;
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!m?.[1]) continue;
    const file = m[1].replace(/^file:\/\//, '');
    const i = file.lastIndexOf('/test/') >= 0 ? file.lastIndexOf('/test/') : file.lastIndexOf('/functions/');
    return i >= 0 ? `${file.slice(i + 1)}:${m[2]}` : `${file}:${m[2]}`;
  }
  return 'unknown';
}

/**
 * Installs the model's runtime (timers on `clock`, the wall-clock tripwire) until the returned
 * `restore` is called. Reads are added to `reads`.
 */
export function installModelRuntime(clock: ModelClock, reads: WallClockReads): () => void {
  const record = () => {
    const site = callerSite();
    reads.set(site, (reads.get(site) ?? 0) + 1);
  };
  class TripwireDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) {
        record();
        super();
      } else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      record();
      return RealDate.now();
    }
  }
  const g = globalThis as unknown as Record<string, unknown>;
  g.Date = TripwireDate;
  g.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const id = clock.setTimer(() => fn(...args), ms ?? 0);
    // Node's timers have methods some code calls (unref); a number is what clearTimeout gets back.
    return Object.assign(Object(id) as object, { unref() {}, ref() {}, hasRef: () => false, [Symbol.toPrimitive]: () => id });
  }) as unknown;
  g.clearTimeout = ((h: unknown) => clock.clearTimer(h === undefined || h === null ? undefined : Number(h))) as unknown;
  // AbortSignal.timeout (the HeyGen client's per-request timeout, the evidence write's) on the model's clock too.
  AbortSignal.timeout = (ms: number) => {
    const controller = new AbortController();
    clock.setTimer(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return controller.signal;
  };
  return () => {
    g.Date = RealDate;
    g.setTimeout = realSetTimeout;
    g.clearTimeout = realClearTimeout;
    AbortSignal.timeout = realAbortTimeout;
  };
}

/** Wall-clock reads from the test tree (fakes, the model): each one is a bug of the model. */
export function testTreeReads(reads: WallClockReads): string[] {
  return [...reads.keys()].filter((site) => site.startsWith('test/'));
}
