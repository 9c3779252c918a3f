import type { ClaimResult, CompleteResult, DedupMode, DedupStore } from '../../core/ports.js';

interface Entry {
  status: 'IN_PROGRESS' | 'COMPLETED';
  owner: string;
  expiresAt: number;
  lockUntil: number;
  /** It took over another owner's unfinished claim (releasing it must not erase that). */
  overUnfinished?: boolean;
}

export interface MemoryDedupOptions {
  readonly windowSeconds: number;
  readonly lockSeconds: number;
  /** See `DedupMode`. @default 'claim' */
  readonly mode?: DedupMode;
  readonly now?: () => number;
}

/** In-process dedup with the DynamoDB store's semantics (window, in-flight lock, both modes). For `npm start` and tests. */
export class MemoryDedupStore implements DedupStore {
  private readonly entries = new Map<string, Entry>();
  readonly mode: DedupMode;
  constructor(private readonly options: MemoryDedupOptions) {
    this.mode = options.mode ?? 'claim';
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The live entry for `key`, if any. */
  private live(key: string, now: number): Entry | undefined {
    const existing = this.entries.get(key);
    return existing && existing.expiresAt > now ? existing : undefined;
  }

  async claim(key: string, owner: string): Promise<ClaimResult> {
    const now = this.now();
    const existing = this.live(key, now);
    if (existing?.status === 'COMPLETED') return 'duplicate';
    if (existing && existing.lockUntil > now && existing.owner !== owner) return 'in_flight';
    // Another owner's unfinished claim whose lock passed: it may have published (ports.ts `took_over`).
    const result = existing && existing.owner !== owner ? 'took_over' : 'claimed';
    if (this.mode === 'record') return result;
    this.entries.set(key, {
      status: 'IN_PROGRESS',
      owner,
      expiresAt: now + this.options.windowSeconds * 1000,
      lockUntil: now + this.options.lockSeconds * 1000,
      ...(result === 'took_over' ? { overUnfinished: true } : {}),
    });
    return result;
  }

  async complete(key: string, owner: string): Promise<CompleteResult> {
    const now = this.now();
    const entry = this.live(key, now);
    const expiresAt = now + this.options.windowSeconds * 1000;
    if (this.mode === 'record') {
      if (entry?.status === 'COMPLETED' && entry.owner !== owner) return 'raced';
      this.entries.set(key, { status: 'COMPLETED', owner, expiresAt, lockUntil: 0 });
      // Over another owner's live claim (e.g. the backfill's, taken after our read): both may publish.
      return entry && entry.owner !== owner && entry.lockUntil > now ? 'raced' : 'completed';
    }
    if (!entry || entry.owner !== owner) throw new Error('Claim lost before completion');
    entry.status = 'COMPLETED';
    entry.expiresAt = expiresAt;
    return 'completed';
  }

  async release(key: string, owner: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry?.status !== 'IN_PROGRESS' || entry.owner !== owner) return;
    // A claim that took over an unfinished one stays unfinished (its lock ended): the writer before
    // us may have published, and the next reader must know it (ports.ts `took_over`).
    if (entry.overUnfinished) entry.lockUntil = 0;
    else this.entries.delete(key);
  }

  async seenLegacy(key: string): Promise<boolean> {
    return this.live(key, this.now())?.status === 'COMPLETED';
  }

  /** Drops expired entries (the local equivalent of DynamoDB TTL). */
  sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
