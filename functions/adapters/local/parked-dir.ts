/**
 * Parked deliveries in a local directory (`npm start`: `.relay/parked/`), same record format and
 * layout as the S3 bucket (`parked/<provider>/<sha256>.json` under the directory). Written
 * atomically (temp file + rename).
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parkedKey, parseParkedRecord, toParkedRecord } from '../../core/parked.js';
import type { ParkedDelivery, ParkedStore } from '../../core/ports.js';
import type { ParkedArchive, ParkedSummary } from '../aws/parked-store.js';

export class DirectoryParkedStore implements ParkedStore, ParkedArchive {
  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  async park(delivery: ParkedDelivery): Promise<void> {
    const file = join(this.dir, parkedKey(delivery.id));
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(toParkedRecord(delivery, new Date(this.now()).toISOString())), { mode: 0o600 });
    await rename(tmp, file);
  }

  async list(options: { provider?: string; limit?: number } = {}): Promise<ParkedSummary[]> {
    const root = join(this.dir, 'parked');
    const providers = options.provider ? [options.provider] : await readdir(root).catch(() => [] as string[]);
    const out: ParkedSummary[] = [];
    for (const provider of providers) {
      const files = await readdir(join(root, provider)).catch(() => [] as string[]);
      for (const f of files.filter((n) => n.endsWith('.json'))) {
        if (out.length >= (options.limit ?? 1000)) return out;
        const key = `parked/${provider}/${f}`;
        const text = await this.read(key);
        if (text === null) continue;
        const record = parseParkedRecord(text);
        out.push({
          key,
          provider,
          reason: record.reason,
          bytes: (await stat(join(this.dir, key))).size,
          parkedAt: record.parkedAt,
        });
      }
    }
    return out;
  }

  async read(key: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(join(this.dir, key), { force: true });
  }
}
