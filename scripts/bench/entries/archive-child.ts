/**
 * One measured transfer in its own process (so its peak RSS is its own), for scripts/bench/archive.ts:
 * - `disk`: the baseline, a plain https GET piped into a file (node:https + fs.createWriteStream);
 * - `archive`: the archiver's own path: MediaFetcher (checks, SHA-256) into S3ArchiveStore
 *   (lib-storage multipart, 16 MiB parts, 4 in flight, the SDK's CRC32 part checksums) against a
 *   local S3 endpoint that discards what it receives.
 * Input by environment: MODE, URL, CA_PEM, S3_ENDPOINT. Prints one JSON line.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveStore } from '../../../functions/adapters/aws/s3-archive-store.js';
import { archiveEvent } from '../../../functions/archive/archive.js';
import { MediaFetcher } from '../../../functions/archive/fetch-media.js';
import { configured } from '../../../functions/archive/media.js';
import { HEYGEN_MEDIA } from '../../../providers/heygen/runtime/media.js';

const env = (name: string) => process.env[name] ?? '';
const agent = new Agent({ ca: env('CA_PEM') });

async function disk(url: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-disk-'));
  try {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      // The certificate also names 127.0.0.1: the baseline connects to it without a resolver.
      get(url.replace('files.media.test', '127.0.0.1'), { agent }, resolve).on('error', reject);
    });
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    await pipeline(res, createWriteStream(join(dir, 'file')));
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function archive(url: string): Promise<number> {
  const s3 = new S3Client({
    endpoint: env('S3_ENDPOINT'),
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const store = new S3ArchiveStore(s3, 'bench');
  const fetcher = new MediaFetcher({
    agent,
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    unscreenedHosts: ['files.media.test'],
  });
  const event = {
    version: '1' as const,
    id: `heygen:evt:${'0'.repeat(64)}`,
    provider: 'heygen',
    type: 'avatar_video.success',
    subject: { kind: 'video', id: `bench-${Date.now()}` },
    callbackId: null,
    deliveryId: null,
    receivedAt: new Date().toISOString(),
    data: { url },
  };
  const media = configured(HEYGEN_MEDIA, { hosts: ['*.media.test'] });
  const outcome = await archiveEvent(
    event,
    Date.now(),
    { store, fetcher, media, now: Date.now },
    {
      maxBytes: 8 * 1024 ** 3,
      retryForMs: 0,
      staleUploadMs: 900_000,
    },
  );
  if (outcome.status !== 'archived')
    throw new Error(`archive ${outcome.status}: ${JSON.stringify(outcome.failures.map((f) => f.error.message))}`);
  return outcome.files[0]?.size ?? 0;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const bytes = env('MODE') === 'disk' ? await disk(env('URL')) : await archive(env('URL'));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ mode: env('MODE'), bytes, ms, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
