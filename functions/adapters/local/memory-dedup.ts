import type { ClaimResult, DedupStore } from '../../core/ports.js';

interface Entry {
  status: 'IN_PROGRESS' | 'COMPLETED';
  owner: string;
  expiresAt: number;
  lockUntil: number;
}

/** In-process dedup with the DynamoDB store's semantics (window, in-flight lock). For `npm start` and tests. */
export class MemoryDedupStore implements DedupStore {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly options: { windowSeconds: number; lockSeconds: number; now?: () => number }) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async claim(key: string, owner: string): Promise<ClaimResult> {
    const now = this.now();
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) {
      if (existing.status === 'COMPLETED') return 'duplicate';
      if (existing.lockUntil > now) return 'in_flight';
    }
    this.entries.set(key, {
      status: 'IN_PROGRESS',
      owner,
      expiresAt: now + this.options.windowSeconds * 1000,
      lockUntil: now + this.options.lockSeconds * 1000,
    });
    return 'claimed';
  }

  async complete(key: string, owner: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry || entry.owner !== owner) throw new Error('Claim lost before completion');
    entry.status = 'COMPLETED';
    entry.expiresAt = this.now() + this.options.windowSeconds * 1000;
  }

  async release(key: string, owner: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry && entry.status === 'IN_PROGRESS' && entry.owner === owner) this.entries.delete(key);
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
