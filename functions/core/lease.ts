/**
 * One writer at a time per provider secret: a lease with an expiry, fenced by a counter, and an
 * intent journal.
 *
 * Everything that changes a provider endpoint or a signing secret (registrar runs, rotation steps,
 * CLI commands) holds the lease of that secret. Another writer waits briefly and then stops with
 * the outcome `busy`. The lease expires (`ttlMs`, longer than any Lambda timeout that takes it), so a
 * holder that died frees it; the fence grows with every grant, so keys derived from it are never
 * reused by a later holder.
 *
 * The intent journal closes the gap the lease cannot: a holder that called the provider (which then
 * switched to a new secret) and died before storing that secret. It records the call and its
 * Idempotency-Key *before* making it; the next holder finds the intent and replays the same call
 * with the same key (the provider answers with the same secret within its 24 h replay window, or
 * rotates once more after it; either way the answer is the secret the provider signs with now,
 * because no other writer changed the provider since: every holder resolves a leftover intent
 * before anything else).
 *
 * Implementations: MemoryLeaseStore (tests, dry runs), DynamoLeaseStore (adapters/aws), and
 * FileLeaseStore (adapters/local, for `--secret-file`). Their shared contract is tested in
 * test/integration/lease-contract.test.ts.
 */

/** A provider call in progress that changes the provider's secret (recorded before the call). */
export interface LeaseIntent {
  /** What is being done: `rotate` (HeyGen rotate-secret) or `create` (a new endpoint, with its secret). */
  readonly op: string;
  /** The endpoint it applies to (empty for a create: the answer names it). */
  readonly endpointId: string;
  /** For a create: the body sent, so a replay sends the very same request. */
  readonly url?: string;
  readonly events?: readonly string[] | null;
  /** The Idempotency-Key sent with the call; a replay sends the same one. */
  readonly key: string;
  /** The stored secret version the call replaces (null: none stored). */
  readonly base: string | null;
  /** Epoch ms when it was recorded. */
  readonly at: number;
  /**
   * How many times the call failed with a 5xx answer (the first call or a replay with the same key).
   * If the provider processed the call and replays its 5xx answer for the key (24 h), every replay
   * fails; after a few the next holder gives the key up and makes the change under a fresh key.
   */
  readonly replayFailures?: number;
  /**
   * A create made after the run stopped a fight (outcome `second_writer`): whoever replays it reports
   * `second_writer` too, so a holder that dies before its summary does not lose the alarm.
   */
  readonly secondWriter?: true;
}

export interface LeaseGrant {
  readonly name: string;
  readonly owner: string;
  /** Grows with every grant of this lease; never reused. */
  readonly fence: number;
  readonly expiresAt: number;
  /** An intent a previous holder recorded and never cleared (it died mid-call). */
  readonly intent: LeaseIntent | null;
}

export interface LeaseBusy {
  readonly busy: true;
  readonly holder: string;
  readonly expiresAt: number;
}

export interface LeaseStore {
  /** Where the leases live (table name, directory), for messages. */
  readonly name: string;
  /** Takes the lease if it is free, expired, or already `owner`'s. */
  tryAcquire(name: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<LeaseGrant | LeaseBusy>;
  /** Records (or clears, with null) the intent; fails with LeaseLostError if the grant is no longer held. */
  setIntent(grant: LeaseGrant, intent: LeaseIntent | null, signal?: AbortSignal): Promise<void>;
  /** Lets go (keeps the intent, if any, for the next holder). Never throws. */
  release(grant: LeaseGrant): Promise<void>;
}

/** The lease was taken over (it expired) while we held it: stop writing. */
export class LeaseLostError extends Error {
  constructor(name: string, options?: ErrorOptions) {
    super(`lost the lease ${name} (it expired and another writer took it); stopping without further writes`, options);
    this.name = 'LeaseLostError';
  }
}

/** Another writer holds the lease and did not let go within the wait. */
export class LeaseBusyError extends Error {
  constructor(
    readonly lease: string,
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super(`another writer (${holder}) holds the lease ${lease} until ${new Date(expiresAt).toISOString()}; try again later`);
    this.name = 'LeaseBusyError';
  }
}

export function isBusy(r: LeaseGrant | LeaseBusy): r is LeaseBusy {
  return (r as LeaseBusy).busy === true;
}

export interface LeaseOptions {
  readonly owner: string;
  /** How long the lease is held if never released. Longer than the holder's own timeout. */
  readonly ttlMs: number;
  /** How long to wait for a busy lease before giving up. @default 0 */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `fn` holding the lease; throws LeaseBusyError if it stays busy for `waitMs`. The lease is
 * released afterwards, also when `fn` throws.
 */
export async function withLease<T>(
  store: LeaseStore,
  name: string,
  options: LeaseOptions,
  fn: (grant: LeaseGrant) => Promise<T>,
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const giveUpAt = now() + (options.waitMs ?? 0);
  let delay = 100;
  for (;;) {
    const r = await acquire(store, name, options);
    if (!isBusy(r)) {
      try {
        return await fn(r);
      } finally {
        await store.release(r);
      }
    }
    if (now() + delay > giveUpAt) throw new LeaseBusyError(name, r.holder, r.expiresAt);
    await sleep(delay);
    delay = Math.min(delay * 2, 2_000);
  }
}

/**
 * `tryAcquire`, asked once more when it fails: a failed acquire may have taken the lease (the write
 * landed, its answer was lost). Left so, the lease would block every other writer (a rotation's
 * steps, whose retries give up sooner) until it expires, held by a process that does not know it.
 * Asked again as the same owner, the store hands that grant back (a lease that is `owner`'s is
 * taken again), so the run goes on and lets go as usual; if the second ask fails too, the first error stands.
 */
async function acquire(store: LeaseStore, name: string, options: LeaseOptions): Promise<LeaseGrant | LeaseBusy> {
  try {
    return await store.tryAcquire(name, options.owner, options.ttlMs, options.signal);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return store.tryAcquire(name, options.owner, options.ttlMs, options.signal).catch(() => {
      throw err;
    });
  }
}

interface LeaseRecord {
  owner: string | null;
  fence: number;
  expiresAt: number;
  intent: LeaseIntent | null;
}

/** In memory: tests, the model-based chaos run, dry runs. `now` is injectable to expire leases. */
export class MemoryLeaseStore implements LeaseStore {
  readonly name = 'memory';
  readonly records = new Map<string, LeaseRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<LeaseGrant | LeaseBusy> {
    const r = this.records.get(name) ?? { owner: null, fence: 0, expiresAt: 0, intent: null };
    const t = this.now();
    if (r.owner !== null && r.owner !== owner && r.expiresAt > t) return { busy: true, holder: r.owner, expiresAt: r.expiresAt };
    const next: LeaseRecord = { owner, fence: r.fence + 1, expiresAt: t + ttlMs, intent: r.intent };
    this.records.set(name, next);
    return { name, owner, fence: next.fence, expiresAt: next.expiresAt, intent: next.intent };
  }

  async setIntent(grant: LeaseGrant, intent: LeaseIntent | null): Promise<void> {
    const r = this.records.get(grant.name);
    if (!r || r.owner !== grant.owner || r.fence !== grant.fence || r.expiresAt <= this.now())
      throw new LeaseLostError(grant.name);
    r.intent = intent;
  }

  async release(grant: LeaseGrant): Promise<void> {
    const r = this.records.get(grant.name);
    if (r && r.owner === grant.owner && r.fence === grant.fence) {
      r.owner = null;
      r.expiresAt = 0;
    }
  }
}
