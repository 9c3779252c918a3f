import { readFile, rename, writeFile } from 'node:fs/promises';
import { type LeaseBusy, type LeaseGrant, type LeaseIntent, LeaseLostError, type LeaseStore } from '../../core/lease.js';
import { withFileMutex } from './file-mutex.js';

interface Record {
  owner: string | null;
  fence: number;
  expiresAt: number;
  intent: LeaseIntent | null;
}

/**
 * Leases in a JSON file next to what they guard (`<path>.lease.json`), for the CLI's
 * `--secret-file`: two `heygen-relay` processes on one machine take turns. Each read-modify-write
 * of the lease file happens inside a mutex directory (`mkdir` is atomic); a mutex left by a process
 * that died inside those few milliseconds is broken after `staleMutexMs`.
 */
export class FileLeaseStore implements LeaseStore {
  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
    private readonly staleMutexMs = 10_000,
  ) {}

  get name(): string {
    return this.path;
  }

  private locked<T>(fn: (r: Record) => Promise<{ result: T; write?: Record }>): Promise<T> {
    return withFileMutex(
      this.path,
      async () => {
        const { result, write } = await fn(await this.read());
        if (write) {
          const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
          await writeFile(tmp, JSON.stringify(write), { mode: 0o600 });
          await rename(tmp, this.path);
        }
        return result;
      },
      this.staleMutexMs,
    );
  }

  private async read(): Promise<Record> {
    try {
      const v = JSON.parse(await readFile(this.path, 'utf8')) as Partial<Record>;
      return {
        owner: typeof v.owner === 'string' ? v.owner : null,
        fence: typeof v.fence === 'number' ? v.fence : 0,
        expiresAt: typeof v.expiresAt === 'number' ? v.expiresAt : 0,
        intent: v.intent ?? null,
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { owner: null, fence: 0, expiresAt: 0, intent: null };
      throw err;
    }
  }

  tryAcquire(name: string, owner: string, ttlMs: number): Promise<LeaseGrant | LeaseBusy> {
    return this.locked<LeaseGrant | LeaseBusy>(async (r) => {
      const t = this.now();
      if (r.owner !== null && r.owner !== owner && r.expiresAt > t) {
        return { result: { busy: true, holder: r.owner, expiresAt: r.expiresAt } as LeaseBusy };
      }
      const next: Record = { owner, fence: r.fence + 1, expiresAt: t + ttlMs, intent: r.intent };
      return {
        result: { name, owner, fence: next.fence, expiresAt: next.expiresAt, intent: next.intent },
        write: next,
      };
    });
  }

  setIntent(grant: LeaseGrant, intent: LeaseIntent | null): Promise<void> {
    return this.locked(async (r) => {
      if (r.owner !== grant.owner || r.fence !== grant.fence || r.expiresAt <= this.now()) throw new LeaseLostError(grant.name);
      return { result: undefined, write: { ...r, intent } };
    });
  }

  async release(grant: LeaseGrant): Promise<void> {
    await this.locked(async (r) => {
      if (r.owner !== grant.owner || r.fence !== grant.fence) return { result: undefined };
      return { result: undefined, write: { ...r, owner: null, expiresAt: 0 } };
    }).catch(() => undefined);
  }
}
