/**
 * A child process that archives one event and is killed mid-upload by test/integration/archive-kill.test.ts
 * (a Lambda killed by its timeout or a crash: no code runs after the kill, nothing aborts the upload).
 * Input by environment: MOTO_ENDPOINT, BUCKET, EVENT (JSON), CA_PEM.
 */
import { Agent } from 'node:https';
import { S3ArchiveStore } from '../../functions/adapters/aws/s3-archive-store.js';
import { archiveEvent } from '../../functions/archive/archive.js';
import { MediaFetcher } from '../../functions/archive/fetch-media.js';
import { configured } from '../../functions/archive/media.js';
import { HEYGEN_MEDIA } from '../../providers/heygen/runtime/media.js';
import { MiB, motoS3, SETTINGS } from './archive-harness.js';

const env = (name: string) => process.env[name] ?? '';
const fetcher = new MediaFetcher({
  agent: new Agent({ ca: env('CA_PEM') }),
  resolve: async () => [{ address: '127.0.0.1', family: 4 }],
  unscreenedHosts: ['files.media.test'],
});
const store = new S3ArchiveStore(motoS3(env('MOTO_ENDPOINT')), env('BUCKET'), { partSize: 5 * MiB, queueSize: 1 });
archiveEvent(
  JSON.parse(env('EVENT')),
  Date.now(),
  { store, fetcher, media: configured(HEYGEN_MEDIA, { hosts: ['*.media.test'] }), now: Date.now },
  SETTINGS,
).then(
  (o) => process.stdout.write(`${o.status}\n`),
  (e: unknown) => process.stdout.write(`error ${String(e)}\n`),
);
