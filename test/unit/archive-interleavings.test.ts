/**
 * Copies of one file racing (the same event delivered to several archivers, a replay next to a
 * redelivery): every interleaving of their HeadObject, download and conditional completion, explored
 * with fast-check's scheduler over an in-memory bucket whose conditional write is atomic (as S3's is).
 * Property: one object, stored once, every copy reports it with the same checksum. The run counts the
 * paths it exercised (a copy skipped by HeadObject, a completion refused by If-None-Match) and fails
 * when one stayed at 0; a seeded bug (completion without the condition) is caught.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { archiveEvent } from '../../functions/archive/archive.js';
import type { FetchRequest, MediaDownload } from '../../functions/archive/fetch-media.js';
import type { ArchiveStore, ObjectInfo } from '../../functions/archive/ports.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { mediaOf } from '../../providers/media.js';

const FILE = Buffer.from('the finished video, byte for byte');
const SHA = createHash('sha256').update(FILE).digest('hex');

class MemoryBucket implements ArchiveStore {
  readonly bucket = 'mem';
  readonly objects = new Map<string, { bytes: Buffer; contentType: string; sha256: string | null }>();
  readonly completions: ('stored' | 'exists')[] = [];
  constructor(
    private readonly s: fc.Scheduler,
    private readonly conditional: boolean,
  ) {}
  async head(key: string): Promise<ObjectInfo | null> {
    await this.s.schedule(Promise.resolve(), `head ${key}`);
    const o = this.objects.get(key);
    return o ? { size: o.bytes.length, contentType: o.contentType, sha256: o.sha256 } : null;
  }
  async upload(key: string, body: Readable, contentType: string): Promise<'stored' | 'exists'> {
    // The bytes are the file (reading the stream would take ticks the scheduler does not control).
    body.destroy();
    await this.s.schedule(Promise.resolve(), `complete ${key}`);
    // The check and the write happen in one step, as S3 decides a conditional write.
    const outcome = this.conditional && this.objects.has(key) ? 'exists' : 'stored';
    if (outcome === 'stored') this.objects.set(key, { bytes: FILE, contentType, sha256: null });
    this.completions.push(outcome);
    return outcome;
  }
  async recordChecksum(key: string, sha256: string): Promise<void> {
    await this.s.schedule(Promise.resolve(), `tag ${key}`);
    const o = this.objects.get(key);
    if (o) o.sha256 = sha256;
  }
  async computeChecksum(key: string): Promise<string> {
    return createHash('sha256')
      .update(this.objects.get(key)?.bytes ?? Buffer.alloc(0))
      .digest('hex');
  }
  async abortStale(): Promise<number> {
    return 0;
  }
}

function fetcherOn(s: fc.Scheduler) {
  return {
    fetches: 0,
    async fetch(_req: FetchRequest): Promise<MediaDownload> {
      this.fetches++;
      await s.schedule(Promise.resolve(), 'fetch');
      const body = new PassThrough();
      body.end(FILE);
      return { body, contentType: 'video/mp4', contentLength: FILE.length, result: () => ({ bytes: FILE.length, sha256: SHA }) };
    },
  };
}

const event: RelayEvent = {
  version: '1',
  id: `heygen:evt:${'e'.repeat(64)}`,
  provider: 'heygen',
  type: 'avatar_video.success',
  subject: { kind: 'video', id: 'race' },
  callbackId: null,
  deliveryId: null,
  receivedAt: '2026-12-07T00:00:00.000Z',
  data: { url: 'https://files.heygen.ai/race.mp4' },
};
const settings = { maxBytes: 1 << 20, retryForMs: 60_000, staleUploadMs: 0 };

function property(conditional: boolean, seen: { skipped: number; refused: number }) {
  return fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 4 }), async (s, copies) => {
    const store = new MemoryBucket(s, conditional);
    const fetcher = fetcherOn(s);
    const media = mediaOf('heygen');
    if (!media) throw new Error('no heygen media');
    // Each copy starts at a scheduled moment too: before, during or after the others.
    const runs = Array.from({ length: copies }, (_, i) =>
      s
        .schedule(Promise.resolve(), `start ${i}`)
        .then(() => archiveEvent(event, 0, { store, fetcher, media, now: () => 0 }, settings)),
    );
    const outcomes = await s.waitFor(Promise.all(runs));
    const stored = store.completions.filter((c) => c === 'stored').length;
    seen.skipped += copies - fetcher.fetches;
    seen.refused += store.completions.filter((c) => c === 'exists').length;
    return (
      stored === 1 &&
      store.objects.size === 1 &&
      store.objects.get('archive/heygen/race/video')?.bytes.equals(FILE) === true &&
      outcomes.every((o) => o.status === 'archived' && o.files[0]?.sha256 === SHA)
    );
  });
}

describe('Archive: copies of one file racing, every interleaving', () => {
  it('stores one object once, and every copy reports it (paths: skipped by HeadObject, refused completion)', async () => {
    const seen = { skipped: 0, refused: 0 };
    await fc.assert(property(true, seen), { numRuns: 300, seed: 2312 });
    expect(seen.skipped).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('catches the seeded bug: a completion without If-None-Match stores a second time', async () => {
    const result = await fc.check(property(false, { skipped: 0, refused: 0 }), { numRuns: 300, seed: 2312 });
    expect(result.failed).toBe(true);
  });
});
