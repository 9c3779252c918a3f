/**
 * Evidence of how live delivery goes, for the checks that must not rest on belief: the registrar's
 * "is the stored secret the one the provider signs with" (`secret_mismatch`) and the backfill's "is
 * there anything to recover". The ingress records, per provider, when it last refused a delivery's
 * signature (401) and when it last answered one with anything the provider retries (401, 5xx). Cheap
 * and bounded: nothing is written for a delivery that succeeds, and at most one write per provider
 * per `intervalMs` per execution environment, however many deliveries are refused.
 *
 * It also records WHICH deliveries it refused: the refused body's event key (as the provider computes
 * it; core/event-key.ts), one small record per key ({@link EvidenceStore.refusedAt}: in DynamoDB an item
 * `evidence#<source>#refused#<key>` that expires {@link REFUSED_KEY_TTL_MS} after its refusal). The
 * registrar's proof (providers/heygen/runtime/proof.ts) looks up the missed history entry's own key: a
 * stranger cannot send the body of an event HeyGen created for us (he would have to know its type and
 * data), so his refusals never match, and since each key is kept on its own, his keys cannot crowd
 * ours out either (review3-slow-flood-blocks-heal: a shared bounded list kept full by one bad POST a
 * minute used to keep a dead secret unhealed). The bounded list ({@link addRefusedKey}) is what older
 * items hold and what the memory store still shows (`refusedKeys`); the proof reads both.
 *
 * And which deliveries were signed with a secret we hold but refused as STALE (their timestamp outside
 * the ingress's tolerance: HeyGen's clock off ours): their event keys, one record per key
 * ({@link EvidenceStore.staleAt}). Such a delivery proves its entry's miss was the clock's, not the
 * secret's (proof.ts rule 5: a rotation cannot help, the backfill recovers it and alarms).
 */

/** One refused delivery's event key and when (epoch ms) it was last refused. */
export interface RefusedKey {
  readonly key: string;
  readonly at: number;
}

export interface DeliveryEvidence {
  /** Last time (epoch ms) the ingress refused a delivery's signature (401), or null. */
  readonly lastSignatureRejectionAt: number | null;
  /** Last time (epoch ms) a delivery was answered 401 or 5xx (the provider retries it, or drops it after its horizon), or null. */
  readonly lastTroubleAt: number | null;
  /** Creation time (epoch ms) of the newest event the backfill had to recover (live delivery failed), or null. */
  readonly lastMissedAt: number | null;
  /** Last time (epoch ms) a delivery was answered 5xx (our fault; a stranger cannot cause it), or null. Absent in older items. */
  readonly lastFailureAt?: number | null;
  /** The event keys of refused deliveries (at most {@link REFUSED_KEYS_CAPACITY}, distinct; see {@link addRefusedKey}). Absent in older items. */
  readonly refusedKeys?: readonly RefusedKey[];
}

/** `missed`: recorded by the backfill, with the recovered event's creation time. */
export type TroubleKind = 'signature' | 'failure' | 'missed';

export interface EvidenceStore {
  /** Records that a delivery of `provider` was refused (`signature`) or failed (`failure`) at `at`. */
  record(provider: string, kind: TroubleKind, at: number, signal?: AbortSignal): Promise<void>;
  /**
   * Records that a delivery whose event key is `key` was refused at `at` ({@link addRefusedKey}'s
   * rule). Optional: a store without it keeps no keys (and the registrar then never proves a mismatch).
   */
  recordRefusedKey?(provider: string, key: string, at: number, signal?: AbortSignal): Promise<void>;
  /**
   * When a delivery whose event key is `key` was last refused (epoch ms; kept at least
   * {@link REFUSED_KEY_TTL_MS}), or null. Optional: without it the proof reads `refusedKeys` only.
   */
  refusedAt?(provider: string, key: string, signal?: AbortSignal): Promise<number | null>;
  /**
   * Records that a delivery whose event key is `key` was signed with a secret we hold but refused as
   * stale at `at`. Optional, as {@link EvidenceStore.staleAt}.
   */
  recordStaleKey?(provider: string, key: string, at: number, signal?: AbortSignal): Promise<void>;
  /**
   * When a delivery whose event key is `key` was last refused as stale with a valid signature (epoch
   * ms; kept at least {@link REFUSED_KEY_TTL_MS}), or null. Optional: without it no miss is put down
   * to the clock (proof.ts rule 5 never holds).
   */
  staleAt?(provider: string, key: string, signal?: AbortSignal): Promise<number | null>;
  read(provider: string, signal?: AbortSignal): Promise<DeliveryEvidence>;
}

/**
 * How long a refused key is kept on its own: longer than any entry can stay the newest missed one
 * awaiting an hourly registrar run that may judge it (a day; the store may keep it longer).
 */
export const REFUSED_KEY_TTL_MS = 24 * 3_600_000;

/**
 * How long a stale key (signed with a live key, refused as stale: proof rule 5) is kept: as long as
 * its entry can stand in the registrar's proof window, which ends inside the dedup window, and never
 * less than a refused key. Shorter, a neighbour re-POSTing the entry's body after the record expired
 * (the backfill down or the entry unsure, so never recovered) would make the proof hold over a live
 * secret (review4-stale-outlives-window).
 */
export function staleKeyTtlMs(dedupWindowMs: number): number {
  return Math.max(REFUSED_KEY_TTL_MS, dedupWindowMs);
}

export const NO_EVIDENCE: DeliveryEvidence = { lastSignatureRejectionAt: null, lastTroubleAt: null, lastMissedAt: null };

/** How many distinct refused keys the evidence item keeps. */
export const REFUSED_KEYS_CAPACITY = 16;
/**
 * A full list gives up a key only once it is this old: a flood of refusals (anyone can send them,
 * each with a key of his own) cannot push out a key refused less than this long ago. Several hourly
 * registrar runs see a refused entry (it is proof once 10 minutes old) before its key may go.
 */
export const REFUSED_KEY_KEEP_MS = 6 * 3_600_000;

/**
 * The list after `key` was refused at `at`, or null when it stays as it is. Keys are distinct (a key
 * refused again moves its time forward); a full list takes a new key only in place of its oldest one,
 * and only when that one is older than {@link REFUSED_KEY_KEEP_MS}. So a flood fills the list and
 * then is dropped: it can keep a later key out (delay a heal) but never evict one it found there.
 */
export function addRefusedKey(list: readonly RefusedKey[], key: string, at: number): RefusedKey[] | null {
  const same = list.findIndex((r) => r.key === key);
  if (same >= 0) return (list[same] as RefusedKey).at >= at ? null : list.map((r, i) => (i === same ? { key, at } : r));
  if (list.length < REFUSED_KEYS_CAPACITY) return [...list, { key, at }];
  const oldest = oldestRefusal(list);
  if (oldest.at >= at - REFUSED_KEY_KEEP_MS) return null; // full of recent refusals: a flood; dropped
  return [...list.filter((r) => r !== oldest), { key, at }];
}

/** The entry refused longest ago (of a non-empty list). */
export function oldestRefusal(list: readonly RefusedKey[]): RefusedKey {
  return list.reduce((a, b) => (b.at < a.at ? b : a));
}

export class MemoryEvidenceStore implements EvidenceStore {
  /** `staleKeyTtlMs`: how long stale keys are kept ({@link staleKeyTtlMs}; default the 48 h dedup window). */
  constructor(private readonly options: { readonly staleKeyTtlMs?: number } = {}) {}
  readonly items = new Map<string, DeliveryEvidence>();
  /** One record per refused key (`<provider>\n<key>` -> last refusal), pruned past REFUSED_KEY_TTL_MS. */
  readonly refusals = new Map<string, number>();
  /** One record per key refused as stale with a valid signature (as `refusals`). */
  readonly stales = new Map<string, number>();
  async record(provider: string, kind: TroubleKind, at: number): Promise<void> {
    const old = this.items.get(provider) ?? NO_EVIDENCE;
    const max = (a: number | null) => Math.max(a ?? 0, at);
    this.items.set(provider, {
      ...old,
      lastTroubleAt: kind === 'missed' ? old.lastTroubleAt : max(old.lastTroubleAt),
      lastSignatureRejectionAt: kind === 'signature' ? max(old.lastSignatureRejectionAt) : old.lastSignatureRejectionAt,
      lastMissedAt: kind === 'missed' ? max(old.lastMissedAt) : old.lastMissedAt,
      lastFailureAt: kind === 'failure' ? max(old.lastFailureAt ?? null) : (old.lastFailureAt ?? null),
    });
  }
  async recordRefusedKey(provider: string, key: string, at: number): Promise<void> {
    const old = this.items.get(provider) ?? NO_EVIDENCE;
    const next = addRefusedKey(old.refusedKeys ?? [], key, at);
    if (next) this.items.set(provider, { ...old, refusedKeys: next });
    const id = `${provider}\n${key}`;
    if ((this.refusals.get(id) ?? Number.NEGATIVE_INFINITY) < at) this.refusals.set(id, at);
    if (this.refusals.size % 1024 === 0) this.prune(at);
  }
  async refusedAt(provider: string, key: string): Promise<number | null> {
    return this.refusals.get(`${provider}\n${key}`) ?? null;
  }
  async recordStaleKey(provider: string, key: string, at: number): Promise<void> {
    const id = `${provider}\n${key}`;
    if ((this.stales.get(id) ?? Number.NEGATIVE_INFINITY) < at) this.stales.set(id, at);
    if (this.stales.size % 1024 === 0) this.prune(at);
  }
  async staleAt(provider: string, key: string): Promise<number | null> {
    return this.stales.get(`${provider}\n${key}`) ?? null;
  }
  /** Drops refused keys older than REFUSED_KEY_TTL_MS and stale ones past their TTL (as a table's TTL would). */
  private prune(now: number): void {
    const staleTtl = this.options.staleKeyTtlMs ?? staleKeyTtlMs(48 * 3_600_000);
    for (const [records, ttl] of [
      [this.refusals, REFUSED_KEY_TTL_MS],
      [this.stales, staleTtl],
    ] as const)
      for (const [id, at] of records) if (at < now - ttl) records.delete(id);
  }
  async read(provider: string): Promise<DeliveryEvidence> {
    return this.items.get(provider) ?? NO_EVIDENCE;
  }
}

/** At most this many refused keys are written per provider per interval per execution environment. */
export const REFUSED_KEYS_PER_INTERVAL = 4;

/**
 * Why a 401 was answered: `signature` (no live key matched) or `stale` (a live key matched, the
 * timestamp is outside the tolerance).
 */
export type Refusal = 'signature' | 'stale';

/**
 * The ingress's hook: a routed answer's provider, status and, for a 401, the body's event key and why
 * it was refused (a key without a reason is a refused signature's).
 */
export type TroubleHook = (provider: string, status: number, refusedKey?: string, refusal?: Refusal) => Promise<void>;

/**
 * The ingress's hook (`IngressOptions.onTrouble`): maps an answer's status to evidence and writes it,
 * rate-limited per provider and kind, bounded in time, never throwing (evidence must not fail a
 * delivery's answer). A refused key is written besides (the store's `recordRefusedKey`, or for a stale
 * delivery `recordStaleKey`): each key at most once per interval, and at most
 * {@link REFUSED_KEYS_PER_INTERVAL} refused signatures' keys per interval, per environment.
 */
export function evidenceRecorder(
  store: EvidenceStore,
  options: { readonly intervalMs?: number; readonly timeoutMs?: number; readonly now?: () => number } = {},
): TroubleHook {
  const intervalMs = options.intervalMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 500;
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();
  const stamp = async (provider: string, kind: TroubleKind, t: number) => {
    const slot = `${provider}:${kind}`;
    if (t - (last.get(slot) ?? Number.NEGATIVE_INFINITY) < intervalMs) return;
    last.set(slot, t);
    try {
      await store.record(provider, kind, t, AbortSignal.timeout(timeoutMs));
    } catch {
      last.delete(slot); // try again on the next refusal
    }
  };
  // Stale keys have a limiter of their own, without a count budget: only a delivery signed with a
  // secret we hold (HeyGen's) makes one, so they grow with HeyGen's deliveries, not with strangers, and
  // rule 5 needs every one (a burst's fifth left out let a neighbour's re-POST rotate a live secret:
  // test review4-stale-burst-rotates). Each key still at most once per interval.
  const limiters = {
    signature: refusedKeyLimiter(intervalMs),
    stale: refusedKeyLimiter(intervalMs, Number.POSITIVE_INFINITY),
  };
  const refused = async (provider: string, key: string, t: number, refusal: Refusal) => {
    const write = refusal === 'stale' ? store.recordStaleKey : store.recordRefusedKey;
    const limiter = limiters[refusal];
    if (!write || !limiter.take(provider, key, t)) return;
    try {
      await write.call(store, provider, key, t, AbortSignal.timeout(timeoutMs));
    } catch {
      limiter.forget(provider, key); // try again on its next refusal
    }
  };
  return async (provider, status, refusedKey, refusal = 'signature') => {
    const kind: TroubleKind | null = status === 401 ? 'signature' : status >= 500 ? 'failure' : null;
    if (kind === null) return;
    const t = now();
    if (kind !== 'signature' || refusedKey === undefined) return stamp(provider, kind, t);
    await Promise.all([stamp(provider, kind, t), refused(provider, refusedKey, t, refusal)]);
  };
}

/**
 * The recorder's bound on refused-key writes, per provider: a key again only once its last write is
 * `intervalMs` old (the last 64 keys remembered), at most `perInterval` keys per interval.
 */
function refusedKeyLimiter(intervalMs: number, perInterval = REFUSED_KEYS_PER_INTERVAL) {
  const written = new Map<string, Map<string, number>>();
  const spent = new Map<string, { since: number; count: number }>();
  return {
    take(provider: string, key: string, t: number): boolean {
      const seen = written.get(provider) ?? new Map<string, number>();
      written.set(provider, seen);
      if (t - (seen.get(key) ?? Number.NEGATIVE_INFINITY) < intervalMs) return false;
      const budget = spent.get(provider);
      if (budget && t - budget.since < intervalMs && budget.count >= perInterval) return false;
      if (!budget || t - budget.since >= intervalMs) spent.set(provider, { since: t, count: 1 });
      else budget.count++;
      seen.delete(key); // re-inserted last: the map's order is the order of writes
      seen.set(key, t);
      if (seen.size > 64) seen.delete(seen.keys().next().value as string);
      return true;
    },
    forget(provider: string, key: string): void {
      written.get(provider)?.delete(key);
    },
  };
}
