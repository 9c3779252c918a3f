/**
 * The archive end to end: result events' files copied from a local HTTPS media server into moto's
 * S3 through the real fetcher and S3 adapter (lib-storage multipart), HeyGen links renewed through
 * the fake HeyGen API's video detail.
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { archiveEvent } from '../../functions/archive/archive.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { HEYGEN_MEDIA, heygenLinkRefresher } from '../../providers/heygen/runtime/media.js';
import { JOGGAI_MEDIA } from '../../providers/joggai/runtime/media.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
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
let fake: FakeHeyGenApi;
let bucket: string;

beforeAll(async () => {
  ({ s3, bucket, media } = await startArchiveWorld(inject('motoEndpoint'), 'archive-e2e'));
  fake = await FakeHeyGenApi.start();
});
afterAll(async () => {
  await fake?.close();
  await stopArchiveWorld({ s3, media });
});

const refresher = () => heygenLinkRefresher(new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, maxAttempts: 1 }));
const deps = (extra = {}) => archiveDeps(s3, bucket, media, HEYGEN_MEDIA, { refresher: refresher(), ...extra });

describe('Archive: files land byte for byte', () => {
  it('copies every declared file of a HeyGen result (video multipart, captioned, subtitles, thumbnail, gif)', async () => {
    const files = {
      video: fileOf(12 * MiB + 123, 1),
      captioned: fileOf(3 * MiB, 2),
      subs: Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n'),
      thumb: fileOf(40_000, 3),
      gif: fileOf(70_000, 4),
    };
    media.route('/v1/video.mp4', { file: files.video });
    media.route('/v1/captioned.mp4', { file: files.captioned, omitLength: true });
    media.route('/v1/subs.vtt', { file: files.subs, contentType: 'text/vtt' });
    media.route('/v1/thumb.jpg', { file: files.thumb, contentType: 'image/jpeg' });
    media.route('/v1/anim.gif', { file: files.gif, contentType: 'image/gif' });
    const event = heygenEvent('vid-bytes', {
      url: `${media.origin}/v1/video.mp4`,
      captioned_video_url: `${media.origin}/v1/captioned.mp4`,
      subtitle_url: `${media.origin}/v1/subs.vtt`,
      thumbnail_url: `${media.origin}/v1/thumb.jpg`,
      gif_download_url: `${media.origin}/v1/anim.gif`,
    });

    const outcome = await archiveEvent(event, Date.now(), deps(), SETTINGS);

    expect(outcome.status).toBe('archived');
    const byKind = Object.fromEntries(outcome.files.map((f) => [f.kind, f]));
    const expected = {
      video: files.video,
      captioned_video: files.captioned,
      subtitles: files.subs,
      thumbnail: files.thumb,
      gif: files.gif,
    };
    for (const [kind, bytes] of Object.entries(expected)) {
      const f = byKind[kind];
      expect(f?.key).toBe(`archive/heygen/vid-bytes/${kind}`);
      expect(f?.size).toBe(bytes.length);
      expect(f?.sha256).toBe(sha256(bytes));
      expect(sha256(await objectBytes(s3, bucket, f?.key ?? ''))).toBe(sha256(bytes));
    }
    expect(byKind.subtitles?.contentType).toBe('text/vtt');
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'archive/heygen/vid-bytes/thumbnail' }));
    expect(head.ContentType).toBe('image/jpeg');
    expect(await openUploads(s3, bucket)).toBe(0);
  });

  it('copies a JoggAI video and its cover', async () => {
    media.route('/j/v.mp4', { file: fileOf(100_000, 5) });
    media.route('/j/c.jpg', { file: fileOf(9_000, 6), contentType: 'image/jpeg' });
    const event = {
      ...heygenEvent(
        'jog-1',
        { video_url: `${media.origin}/j/v.mp4`, cover_url: `${media.origin}/j/c.jpg` },
        'generated_avatar_video_success',
      ),
      provider: 'joggai',
      id: `joggai:${'a'.repeat(64)}`,
    };
    const outcome = await archiveEvent(event, Date.now(), archiveDeps(s3, bucket, media, JOGGAI_MEDIA), SETTINGS);
    expect(outcome.status).toBe('archived');
    expect(outcome.files.map((f) => f.key).sort()).toEqual(['archive/joggai/jog-1/cover', 'archive/joggai/jog-1/video']);
  });
});

describe('Archive: resilience', () => {
  it('retries a link answering "not ready" (404, 425, 503) until the file is there', async () => {
    const bytes = fileOf(50_000, 7);
    media.route('/nr/v.mp4', { status: 404 }, { status: 425 }, { status: 503 }, { file: bytes });
    const event = heygenEvent('vid-notready', { url: `${media.origin}/nr/v.mp4` });
    const reasons: string[] = [];
    for (let i = 0; i < 3; i++) {
      const o = await archiveEvent(event, Date.now(), deps(), SETTINGS);
      expect(o.status).toBe('retry');
      if (o.status !== 'archived') reasons.push(o.failures[0]?.error.reason ?? '');
    }
    expect(reasons).toEqual(['not_ready', 'not_ready', 'transient']);
    const done = await archiveEvent(event, Date.now(), deps(), SETTINGS);
    expect(done.status).toBe('archived');
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/vid-notready/video'))).toBe(sha256(bytes));
  });

  it('gives up with the last reason once the retry period is over', async () => {
    media.route('/nr2/v.mp4', { status: 404 });
    const event = heygenEvent('vid-late', { url: `${media.origin}/nr2/v.mp4` });
    const o = await archiveEvent(event, Date.now() - SETTINGS.retryForMs - 1, deps(), SETTINGS);
    expect(o.status).toBe('failed');
    if (o.status !== 'archived') expect(o.failures[0]?.error.reason).toBe('not_ready');
  });

  it('renews an expired link (403) through the fake HeyGen video detail, then copies the file', async () => {
    const bytes = fileOf(80_000, 8);
    media.route('/old/v.mp4', { status: 403 });
    media.route('/fresh/v.mp4', { file: bytes });
    fake.videos.set('vid-expired', {
      id: 'vid-expired',
      status: 'completed',
      video_url: `${media.origin}/fresh/v.mp4`,
      thumbnail_url: null,
    });
    const event = heygenEvent('vid-expired', { url: `${media.origin}/old/v.mp4` });

    const o = await archiveEvent(event, Date.now(), deps(), SETTINGS);

    expect(o.status).toBe('archived');
    expect(fake.requestsTo('GET', /^\/v3\/videos\/vid-expired$/)).toHaveLength(1);
    expect(media.hits('/fresh/v.mp4')).toBe(1);
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/vid-expired/video'))).toBe(sha256(bytes));
  });

  it('fails an expired link at once when the provider cannot renew it (no refresher)', async () => {
    media.route('/old2/v.mp4', { status: 403 });
    const event = heygenEvent('vid-expired-2', { url: `${media.origin}/old2/v.mp4` });
    const o = await archiveEvent(event, Date.now(), archiveDeps(s3, bucket, media, HEYGEN_MEDIA), SETTINGS);
    expect(o.status).toBe('failed');
    if (o.status !== 'archived') expect(o.failures[0]?.error.reason).toBe('link_refused');
  });

  it('never stores a truncated transfer, leaves no multipart upload, and completes on the retry', async () => {
    const bytes = fileOf(11 * MiB, 9);
    media.route('/trunc/v.mp4', { truncateAfter: 7 * MiB, file: bytes }, { file: bytes });
    const event = heygenEvent('vid-trunc', { url: `${media.origin}/trunc/v.mp4` });

    const first = await archiveEvent(event, Date.now(), deps(), SETTINGS);
    expect(first.status).toBe('retry');
    if (first.status !== 'archived') expect(first.failures[0]?.error.reason).toBe('truncated');
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'archive/heygen/vid-trunc/video' }))).rejects.toThrow();
    expect(await openUploads(s3, bucket)).toBe(0);

    const second = await archiveEvent(event, Date.now(), deps(), SETTINGS);
    expect(second.status).toBe('archived');
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/vid-trunc/video'))).toBe(sha256(bytes));
  });
});

describe('Archive: safety', () => {
  const refused = async (id: string, url: string, hosts?: string[]) => {
    const event = heygenEvent(id, { url });
    const d = archiveDeps(s3, bucket, media, HEYGEN_MEDIA, {});
    const o = await archiveEvent(event, Date.now(), hosts ? { ...d, media: { ...d.media, hosts } } : d, SETTINGS);
    expect(o.status).toBe('failed');
    return o.status === 'archived' ? '' : (o.failures[0]?.error.reason ?? '');
  };

  it('refuses a redirect to 127.0.0.1 even when that host is on the list', async () => {
    media.route('/r/loop', { status: 302, location: `https://127.0.0.1:${media.port}/r/target` });
    media.route('/r/target', { file: fileOf(1000) });
    expect(await refused('vid-r1', `${media.origin}/r/loop`, ['*.media.test', '127.0.0.1'])).toBe('address_not_public');
    expect(media.hits('/r/target')).toBe(0);
  });

  it('refuses a redirect to a listed name that resolves to a loopback address', async () => {
    media.route('/r/rebind', { status: 301, location: `https://rebind.media.test:${media.port}/r/target` });
    expect(await refused('vid-r2', `${media.origin}/r/rebind`)).toBe('address_not_public');
    expect(media.hits('/r/target')).toBe(0);
  });

  it('refuses a redirect to a host off the list, and http links', async () => {
    media.route('/r/off', { status: 307, location: 'https://cdn.example.org/x.mp4' });
    expect(await refused('vid-r3', `${media.origin}/r/off`)).toBe('host_not_allowed');
    media.route('/r/http', { status: 302, location: `http://files.media.test:${media.port}/r/target` });
    expect(await refused('vid-r4', `${media.origin}/r/http`)).toBe('not_https');
    expect(await refused('vid-r5', `http://files.media.test:${media.port}/r/target`)).toBe('not_https');
    expect(media.hits('/r/target')).toBe(0);
  });

  it('refuses a redirect loop after 5 hops and a compressed body', async () => {
    media.route('/r/loop-self', { status: 302, location: '/r/loop-self' });
    expect(await refused('vid-r6', `${media.origin}/r/loop-self`)).toBe('too_many_redirects');
    expect(media.hits('/r/loop-self')).toBe(6);
    media.route('/r/gzip', {
      stream: (res) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'gzip', 'content-length': '4' });
        res.end('abcd');
      },
    });
    expect(await refused('vid-r7', `${media.origin}/r/gzip`)).toBe('content_encoding');
  });

  it('refuses a file over the limit, announced or not, and an HTML error page', async () => {
    const small = { ...SETTINGS, maxBytes: 6 * MiB };
    media.route('/big/announced', { file: fileOf(7 * MiB, 10) });
    media.route('/big/chunked', { file: fileOf(12 * MiB, 11), omitLength: true });
    media.route('/big/html', { file: Buffer.from('<html>expired</html>'), contentType: 'text/html; charset=utf-8' });
    for (const [id, path, reason] of [
      ['vid-big1', '/big/announced', 'too_large'],
      ['vid-big2', '/big/chunked', 'too_large'],
      ['vid-html', '/big/html', 'content_type'],
    ] as const) {
      const o = await archiveEvent(heygenEvent(id, { url: `${media.origin}${path}` }), Date.now(), deps(), small);
      expect(o.status).toBe('failed');
      if (o.status !== 'archived') expect(o.failures[0]?.error.reason).toBe(reason);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'archive/heygen/vid-big' }));
    expect(listed.KeyCount ?? 0).toBe(0);
    expect(await openUploads(s3, bucket)).toBe(0);
  });
});

describe('Archive: idempotent per source, job and kind', () => {
  it('fetches a file once for the same event three times in a row', async () => {
    const bytes = fileOf(30_000, 12);
    media.route('/dup/v.mp4', { file: bytes });
    const event = heygenEvent('vid-dup', { url: `${media.origin}/dup/v.mp4` });
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await archiveEvent(event, Date.now(), deps(), SETTINGS));
    expect(outcomes.map((o) => o.status)).toEqual(['archived', 'archived', 'archived']);
    expect(outcomes.map((o) => o.fetched)).toEqual([1, 0, 0]);
    expect(media.hits('/dup/v.mp4')).toBe(1);
    expect(new Set(outcomes.map((o) => o.files[0]?.sha256))).toEqual(new Set([sha256(bytes)]));
  });

  it('stores one copy when the same event is archived three times at once', async () => {
    const bytes = fileOf(6 * MiB, 13);
    // All three start together (each finds no object and fetches); their completions are spread out
    // because moto checks If-None-Match without a lock (two completions in the same instant can both
    // win there; S3 itself decides conditional writes atomically: a known difference of the emulator).
    const slow = (chunkDelayMs: number) => ({ file: bytes, chunkDelayMs, chunkBytes: 256 * 1024 });
    media.route('/conc/v.mp4', slow(5), slow(40), slow(80));
    const event = heygenEvent('vid-conc', { url: `${media.origin}/conc/v.mp4` });
    const uploads: string[] = [];
    const recording = () => {
      const d = deps();
      const upload = d.store.upload.bind(d.store);
      return {
        ...d,
        store: Object.assign(Object.create(d.store), {
          upload: async (...a: Parameters<typeof upload>) => {
            const r = await upload(...a);
            uploads.push(r);
            return r;
          },
        }),
      };
    };
    const outcomes = await Promise.all([0, 1, 2].map(() => archiveEvent(event, Date.now(), recording(), SETTINGS)));
    expect(outcomes.map((o) => o.status)).toEqual(['archived', 'archived', 'archived']);
    // All three fetched (they overlapped), exactly one completed: the others were refused by If-None-Match.
    expect(uploads.sort()).toEqual(['exists', 'exists', 'stored']);
    expect(media.hits('/conc/v.mp4')).toBe(3);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'archive/heygen/vid-conc/' }));
    expect(listed.KeyCount).toBe(1);
    expect(sha256(await objectBytes(s3, bucket, 'archive/heygen/vid-conc/video'))).toBe(sha256(bytes));
    expect(new Set(outcomes.map((o) => o.files[0]?.sha256))).toEqual(new Set([sha256(bytes)]));
    expect(await openUploads(s3, bucket)).toBe(0);
  });
});
