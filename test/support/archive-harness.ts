/** Shared set-up of the archive tests: moto S3, the media server, the fetcher that trusts it, events. */
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveStore } from '../../functions/adapters/aws/s3-archive-store.js';
import type { ArchiveDeps, ArchiveSettings } from '../../functions/archive/archive.js';
import { MediaFetcher } from '../../functions/archive/fetch-media.js';
import { configured, type MediaDeclaration } from '../../functions/archive/media.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { type MediaServer, startMediaServer } from './media-server.js';
import { awsClientConfig } from './moto.js';

export const MiB = 1024 * 1024;

export function motoS3(endpoint: string): S3Client {
  return new S3Client({ ...awsClientConfig(endpoint), forcePathStyle: true });
}

export async function newBucket(s3: S3Client, name: string): Promise<string> {
  const bucket = `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** The fetcher of the tests: trusts the test CA, resolves *.media.test to 127.0.0.1, exempts only files.media.test. */
export function testFetcher(media: MediaServer): MediaFetcher {
  return new MediaFetcher({ agent: media.agent, resolve: media.resolve, unscreenedHosts: ['files.media.test'] });
}

export function archiveDeps(
  s3: S3Client,
  bucket: string,
  media: MediaServer,
  declaration: MediaDeclaration,
  extra: Partial<ArchiveDeps> = {},
): ArchiveDeps {
  return {
    store: new S3ArchiveStore(s3, bucket, { partSize: 5 * MiB, queueSize: 2 }),
    fetcher: testFetcher(media),
    media: configured(declaration, { hosts: ['*.media.test'] }),
    now: Date.now,
    ...extra,
  };
}

export const SETTINGS: ArchiveSettings = { maxBytes: 64 * MiB, retryForMs: 60 * 60_000, staleUploadMs: 15 * 60_000 };

export function heygenEvent(videoId: string, data: Record<string, unknown>, type = 'avatar_video.success'): RelayEvent {
  const body = JSON.stringify({ type, videoId, data });
  return {
    version: '1',
    id: `heygen:evt:${createHash('sha256').update(body).digest('hex')}`,
    provider: 'heygen',
    type,
    subject: { kind: 'video', id: videoId },
    callbackId: null,
    deliveryId: null,
    receivedAt: new Date().toISOString(),
    data: { video_id: videoId, ...data },
  };
}

export async function objectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export async function openUploads(s3: S3Client, bucket: string): Promise<number> {
  const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return res.Uploads?.length ?? 0;
}

/** Deterministic bytes (not all zero: a truncation or reordering shows in the hash). */
export function fileOf(bytes: number, seed = 1): Buffer {
  const buf = Buffer.alloc(bytes);
  let x = seed * 2654435761;
  for (let i = 0; i < bytes; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf.writeUInt32LE(x, Math.min(i, bytes - 4));
  }
  return buf;
}

/** What the archive tests run against: moto's S3 with a fresh bucket, and the local HTTPS media server. */
export interface ArchiveWorld {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly media: MediaServer;
}

/** moto's S3 (at `motoEndpoint`) with a fresh bucket named after `name`, and a started media server. */
export async function startArchiveWorld(motoEndpoint: string, name: string): Promise<ArchiveWorld> {
  const s3 = motoS3(motoEndpoint);
  const bucket = await newBucket(s3, name);
  return { s3, bucket, media: await startMediaServer() };
}

/** Closes what startArchiveWorld opened (any part may be unset if the set-up failed). */
export async function stopArchiveWorld(world: Partial<ArchiveWorld>): Promise<void> {
  await world.media?.close();
  world.s3?.destroy();
}
