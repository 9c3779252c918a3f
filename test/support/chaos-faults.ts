/**
 * Faults on every call, for the lifecycle model (test/support/lifecycle-chaos.ts). A {@link Process}
 * is one Lambda invocation or CLI run: every call it makes to a dependency (DynamoDB, PutEvents,
 * Secrets Manager, HeyGen, the lease) goes through {@link Process.call}, which
 * - waits for fast-check's scheduler (which orders the calls of all processes),
 * - may kill the process before or after the call (a crash: nothing more runs, leases stay held),
 * - may fail the call (the process goes on and handles the error):
 *   `before` (no effect, an error), `after` (the effect happens, the answer is lost: an error), or
 *   `hang` (no answer until the caller gives up: its AbortSignal fires when the model's clock reaches
 *   its deadline, or, for a caller without one, the SDK's own request timeout passes).
 * {@link Process.port} wraps a whole port (every method) the same way; {@link Process.fetch} wraps
 * HeyGen's API as the HTTP client sees it (a lost answer is a dropped connection, a hang a timeout).
 * Every fault that fires is logged with the event it touched, so a duplicate on the bus can be
 * traced to the named fault that caused it.
 */
import type fc from 'fast-check';
import type { ModelClock } from './model-clock.js';

export type FaultKind = 'before' | 'after' | 'hang';

/** The dependencies a process calls (see {@link dependencyOf}). */
export const DEPENDENCIES = ['dynamodb', 'eventbridge', 'secrets', 'heygen', 'lease'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** A fault on a process's `at`-th call to dependency `on`. */
export interface CallFault {
  readonly on: Dependency;
  readonly at: number;
  readonly kind: FaultKind;
}

export interface ProcessSpec {
  /** Dies at this call (1-based), before it or, with `crashAfter`, after it. */
  readonly crashAt?: number | null;
  readonly crashAfter?: boolean;
  /** At `crashAt`, stall past every lease's expiry and go on, instead of dying (a suspended laptop). */
  readonly stall?: boolean;
  readonly faults?: readonly CallFault[];
}

/** A fault that fired: which process, which call, and the event it concerned (if any). */
export interface FiredFault {
  readonly role: string;
  readonly label: string;
  readonly kind: FaultKind | 'crash-before' | 'crash-after' | 'deadline';
  readonly subject: string | undefined;
  readonly at: number;
}

export interface FaultWorld {
  readonly s: fc.Scheduler;
  readonly clock: ModelClock;
  readonly fired: FiredFault[];
  /** Counters (see ChaosStats.coverage). */
  readonly count: (name: string, n?: number) => void;
}

export class Crash extends Error {
  constructor() {
    super('crash (injected)');
    this.name = 'Crash';
  }
}

/** An error a dependency answers (a 5xx, a reset connection): the AWS SDK's shape, `$fault: 'server'`. */
export class InjectedFault extends Error {
  readonly $fault = 'server';
  readonly $metadata = { httpStatusCode: 503 };
  constructor(label: string, kind: FaultKind) {
    super(`injected fault (${kind}) on ${label}`);
    this.name = kind === 'hang' ? 'TimeoutError' : 'ServiceUnavailable';
  }
}

/** How long a call without a caller's signal hangs before the SDK's per-attempt timeout gives up. */
export const SDK_REQUEST_TIMEOUT_MS = 6_000;
/** HeyGen's client: per-request timeout as the fetch sees it. */
export const HEYGEN_REQUEST_TIMEOUT_MS = 10_000;

/** An event key (or a RelayEvent's id) among a call's arguments: what a fault there touched. */
function subjectOf(args: readonly unknown[]): string | undefined {
  for (const a of args) {
    if (typeof a === 'string' && a.startsWith('heygen:')) return a;
    if (a && typeof a === 'object' && typeof (a as { id?: unknown }).id === 'string') {
      const id = (a as { id: string }).id;
      if (id.startsWith('heygen:')) return id;
    }
  }
  return undefined;
}

/** The dependency a call label names: dynamodb, eventbridge, secrets, heygen, lease. */
export function dependencyOf(label: string): string {
  if (/^(GET|POST|PATCH|DELETE|PUT) /.test(label)) return 'heygen';
  return /^[a-z]+/.exec(label)?.[0] ?? label;
}

const signalOf = (args: readonly unknown[]): AbortSignal | undefined =>
  args.find((a): a is AbortSignal => a instanceof AbortSignal);

/** Port methods whose contract says they never throw (the adapter swallows its errors). */
const NEVER_THROWS = new Set(['release']);

export class Process {
  private calls = 0;
  private readonly callsTo = new Map<string, number>();
  crashed = false;
  /** The event this process handles (a delivery attempt), for fault attribution. */
  subject: string | undefined;

  constructor(
    private readonly world: FaultWorld,
    /** Unique name (labels in the schedule's report). */
    readonly name: string,
    /** What it is: ingress, backfill, registrar, cli, rotation, second-stack… (fault names, coverage). */
    readonly role: string,
    private readonly spec: ProcessSpec = {},
  ) {}

  private log(label: string, kind: FiredFault['kind'], subject: string | undefined): void {
    this.world.fired.push({ role: this.role, label, kind, subject: subject ?? this.subject, at: this.world.clock.t });
    this.world.count(kind === 'after' ? 'fault:lost-answer' : `fault:${kind}`);
    this.world.count(`fault:${this.role}:${dependencyOf(label)}:${kind}`);
  }

  private die(label: string, kind: 'crash-before' | 'crash-after', subject: string | undefined): never {
    this.crashed = true;
    this.log(label, kind, subject);
    throw new Crash();
  }

  /**
   * Waits until the caller gives up on a hung call: its signal fires (a deadline on the model's
   * clock), or, for a caller without one, the SDK's per-attempt timeout passes.
   */
  private async hang(label: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<never> {
    if (signal) {
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      throw signal.reason;
    }
    await this.world.clock.sleep(timeoutMs);
    throw new InjectedFault(label, 'hang');
  }

  /**
   * One call of this process: scheduled, and subject to its crash and fault plan. `fn` is the effect
   * (the call reaching the dependency).
   */
  async call<T>(
    label: string,
    fn: () => Promise<T>,
    options: { signal?: AbortSignal; subject?: string; timeoutMs?: number; neverThrows?: boolean } = {},
  ): Promise<T> {
    if (this.crashed) throw new Crash();
    this.world.count('calls');
    await this.world.s.schedule(Promise.resolve(label), `${this.name}:${label}`);
    if (this.crashed) throw new Crash();
    // An SDK call whose caller gave up already does not go out.
    if (options.signal?.aborted) throw options.signal.reason;
    const n = ++this.calls;
    const { crashAt = null, crashAfter = false, stall = false } = this.spec;
    if (n === crashAt && stall) {
      this.world.count('stalls');
      await this.world.clock.sleep(5 * 60_000); // meanwhile others may take the expired lease
      await this.world.s.schedule(Promise.resolve('wakes up'), `${this.name}:wakes up`);
    } else if (n === crashAt && !crashAfter) this.die(label, 'crash-before', options.subject);
    const dep = dependencyOf(label);
    const nth = (this.callsTo.get(dep) ?? 0) + 1;
    this.callsTo.set(dep, nth);
    const fault = this.spec.faults?.find((f) => f.on === dep && f.at === nth);
    const quiet = options.neverThrows === true;
    if (fault?.kind === 'before') {
      this.log(label, 'before', options.subject);
      if (quiet) return undefined as T;
      throw new InjectedFault(label, 'before');
    }
    if (fault?.kind === 'hang') {
      this.log(label, 'hang', options.subject);
      if (quiet) return undefined as T;
      return this.hang(label, options.signal, options.timeoutMs ?? SDK_REQUEST_TIMEOUT_MS);
    }
    const result = await fn();
    if (n === crashAt && crashAfter && !stall) this.die(label, 'crash-after', options.subject);
    if (fault?.kind === 'after') {
      this.log(label, 'after', options.subject);
      if (!quiet) throw new InjectedFault(label, 'after');
    }
    return result;
  }

  /** `target` with every method going through {@link call} (labelled `<prefix>.<method>`). */
  port<T extends object>(target: T, prefix: string): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return (...args: unknown[]) =>
          this.call(`${prefix}.${prop}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args), {
            signal: signalOf(args),
            subject: subjectOf(args),
            neverThrows: NEVER_THROWS.has(prop),
          });
      },
    });
  }

  /**
   * HeyGen's API as the HTTP client sees it through this process: a fault `before` is a refused
   * connection, `after` a dropped answer (HeyGen did it), `hang` a request timeout.
   */
  fetch(
    inner: typeof fetch,
    hooks: { before?: (method: string, path: string, headers: Headers) => (() => void) | undefined } = {},
  ): typeof fetch {
    return (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      const method = init?.method ?? 'GET';
      const label = `${method} ${url.pathname.replace(/\/ep_[^/]+/, '/{id}')}`;
      return this.call(
        label,
        async () => {
          const after = hooks.before?.(method, url.pathname, new Headers(init?.headers));
          const res = await inner(input, init);
          after?.();
          return res;
        },
        { timeoutMs: HEYGEN_REQUEST_TIMEOUT_MS },
      ).catch((err: unknown) => {
        if (err instanceof InjectedFault) {
          // What fetch throws: a TypeError for a connection problem, a TimeoutError for a timeout.
          if (err.name === 'TimeoutError') throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
          throw new TypeError(`fetch failed (${err.message})`);
        }
        throw err;
      });
    };
  }
}
