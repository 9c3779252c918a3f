/**
 * A copy killed mid-upload (SIGKILL: like a Lambda that hit its timeout, no code runs after it)
 * leaves a multipart upload behind; the retry (the queue's redelivery, after the visibility timeout
 * which is at least the function's timeout) aborts that stale upload, copies the file and leaves no
 * multipart upload open. The bucket's lifecycle rule (abort incomplete uploads after 1 day,
 * test/infra/archive.test.ts) covers a key that is never retried.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ListMultipartUploadsCommand, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { archiveEvent } from '../../functions/archive/archive.js';
import { HEYGEN_MEDIA } from '../../providers/heygen/runtime/media.js';
import {
  archiveDeps,
  fileOf,
  heygenEvent,
  MiB,
  objectBytes,
  openUploads,
  SETTINGS,
  startArchiveWorld,
  stopArchiveWorld,
} from '../support/archive-harness.js';
import { type MediaServer, sha256 } from '../support/media-server.js';

let s3: S3Client;
let media: MediaServer;
let bucket: string;
const motoEndpoint = inject('motoEndpoint');

beforeAll(async () => {
  ({ s3, bucket, media } = await startArchiveWorld(motoEndpoint, 'archive-kill'));
});
afterAll(() => stopArchiveWorld({ s3, media }));

async function partsUploaded(key: string): Promise<number> {
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const id = uploads.Uploads?.[0]?.UploadId;
  if (!id) return 0;
  const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }));
  return parts.Parts?.length ?? 0;
}

describe('Archive: a copy killed mid-upload', () => {
  it('is completed by the retry, with no orphaned multipart upload left', async () => {
    const bytes = fileOf(16 * MiB, 21);
    // ~8 MiB/s: the child is mid-file when its first part is in S3.
    media.route('/kill/v.mp4', { file: bytes, chunkDelayMs: 8, chunkBytes: 64 * 1024 });
    const event = heygenEvent('vid-kill', { url: `${media.origin}/kill/v.mp4` });
    const key = 'archive/heygen/vid-kill/video';
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'support', 'archive-child.ts')], {
      env: { ...process.env, MOTO_ENDPOINT: motoEndpoint, BUCKET: bucket, EVENT: JSON.stringify(event), CA_PEM: media.caPem },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const deadline = Date.now() + 30_000;
    while ((await partsUploaded(key)) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    expect(out).toBe('');
    expect(await openUploads(s3, bucket)).toBe(1);

    // The redelivery: the killed writer's upload is older than the function's timeout (0 here).
    media.route('/kill/v.mp4', { file: bytes });
    const retry = await archiveEvent(event, Date.now(), archiveDeps(s3, bucket, media, HEYGEN_MEDIA), {
      ...SETTINGS,
      staleUploadMs: 0,
    });

    expect(retry.status).toBe('archived');
    expect(sha256(await objectBytes(s3, bucket, key))).toBe(sha256(bytes));
    expect(await openUploads(s3, bucket)).toBe(0);
  });
});
