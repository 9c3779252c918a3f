/** The archive's pure parts: which files each provider's result events have, keys, hosts, addresses, retries. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it, vi } from 'vitest';
import { isPublicAddress } from '../../functions/archive/address.js';
import { ArchiveError } from '../../functions/archive/errors.js';
import { archiveKey, jobIdOf } from '../../functions/archive/keys.js';
import { configured, contentTypeAccepted, filesOf, hostAllowed } from '../../functions/archive/media.js';
import { isOutcomeType } from '../../functions/archive/outcome.js';
import { backoffSeconds, handleArchiveMessage } from '../../functions/archive/queue.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { joggai } from '../../providers/joggai/runtime/index.js';
import { mediaOf } from '../../providers/media.js';

const sample = (provider: string, file: string) => readFileSync(join(__dirname, '..', 'events', provider, file));

describe("Media declarations: the files of each provider's result events", () => {
  it('HeyGen avatar_video.success: the video (`url`), no GIF when gif_download_url is null', () => {
    const n = heygen.normalize(sample('heygen', 'avatar_video.success.json'), {});
    expect(filesOf(n, mediaOf('heygen') ?? { eventTypes: [], files: [], hosts: [] })).toEqual([
      expect.objectContaining({ kind: 'video', url: 'https://files.heygen.ai/video/8f7c2b1e0d5a4c3b9e6f1a2d3c4b5a69.mp4' }),
    ]);
  });

  it('HeyGen: every kind when present; failures carry none', () => {
    const heygenMedia = mediaOf('heygen');
    if (!heygenMedia) throw new Error('no heygen media');
    const data = {
      video_url: 'https://a.heygen.ai/v',
      captioned_video_url: 'https://a.heygen.ai/c',
      subtitle_url: 'https://a.heygen.ai/s',
      thumbnail_url: 'https://a.heygen.ai/t',
      gif_url: 'https://a.heygen.ai/g',
    };
    expect(filesOf({ type: 'avatar_video.success', data }, heygenMedia).map((f) => f.kind)).toEqual([
      'video',
      'captioned_video',
      'subtitles',
      'thumbnail',
      'gif',
    ]);
    expect(filesOf({ type: 'avatar_video_gif.success', data: { url: 'https://a.heygen.ai/x.gif' } }, heygenMedia)).toEqual([
      expect.objectContaining({ kind: 'gif', url: 'https://a.heygen.ai/x.gif' }),
    ]);
    expect(filesOf({ type: 'avatar_video.fail', data }, heygenMedia)).toEqual([]);
    const pv = heygen.normalize(sample('heygen', 'personalized_video.json'), {});
    expect(filesOf(pv, heygenMedia).map((f) => f.kind)).toEqual(['video']);
  });

  it('JoggAI: video and cover', () => {
    const n = joggai.normalize(sample('joggai', 'generated_avatar_video_success.json'), {});
    expect(filesOf(n, mediaOf('joggai') ?? { eventTypes: [], files: [], hosts: [] }).map((f) => [f.kind, f.url])).toEqual([
      ['video', 'https://res.jogg.ai/videos/a1b2c3d4e5f6.mp4'],
      ['cover', 'https://res.jogg.ai/covers/a1b2c3d4e5f6.jpg'],
    ]);
  });

  it('Standard Webhooks: nothing by default, configured JSON paths when given', () => {
    const sw = mediaOf('standard-webhooks');
    if (!sw) throw new Error('no standard-webhooks media');
    const data = JSON.parse(sample('standard-webhooks', 'replicate-prediction.json').toString()) as Record<string, unknown>;
    expect(filesOf({ type: 'prediction.succeeded', data }, sw)).toEqual([]);
    const conf = configured(sw, {
      eventTypes: ['prediction.succeeded'],
      files: [{ kind: 'output', paths: ['output.0', 'output'] }],
      hosts: ['replicate.delivery'],
    });
    expect(filesOf({ type: 'prediction.succeeded', data }, conf)).toEqual([
      { kind: 'output', url: 'https://replicate.delivery/pbxt/marker-replicate-0.mp4' },
    ]);
    expect(filesOf({ type: 'prediction.succeeded', data: { output: ['https://r/x.png'] } }, conf)[0]?.url).toBe(
      'https://r/x.png',
    );
  });
});

describe('Configuration over a declaration', () => {
  it('keeps only the kinds asked for, per-type files included', () => {
    const heygenMedia = mediaOf('heygen');
    if (!heygenMedia) throw new Error('no heygen media');
    const onlyGif = configured(heygenMedia, { kinds: ['gif'] });
    expect(
      filesOf(
        { type: 'avatar_video.success', data: { url: 'https://a.heygen.ai/v', gif_url: 'https://a.heygen.ai/g' } },
        onlyGif,
      ).map((f) => f.kind),
    ).toEqual(['gif']);
    expect(
      filesOf({ type: 'avatar_video_gif.success', data: { url: 'https://a.heygen.ai/g' } }, onlyGif).map((f) => f.kind),
    ).toEqual(['gif']);
    const onlyVideo = configured(heygenMedia, { kinds: ['video'] });
    expect(filesOf({ type: 'avatar_video_gif.success', data: { url: 'https://a.heygen.ai/g' } }, onlyVideo)).toEqual([]);
  });
});

describe('Keys, hosts, content types, addresses', () => {
  const ev = (id: string | null, source?: string) =>
    ({ id: 'heygen:evt:1', provider: 'heygen', subject: { kind: 'video', id }, ...(source ? { source } : {}) }) as RelayEvent;

  it('names the source, the job and the kind, and never leaves its prefix', () => {
    expect(archiveKey(ev('abc'), 'video')).toBe('archive/heygen/abc/video');
    expect(archiveKey(ev('abc', 'heygen-staging'), 'gif')).toBe('archive/heygen-staging/abc/gif');
    expect(archiveKey(ev('..'), 'video')).toBe('archive/heygen/_/video');
    expect(archiveKey(ev('../../etc/x'), 'video')).toBe('archive/heygen/.._.._etc_x/video');
    expect(jobIdOf(ev(null))).toMatch(/^event-[0-9a-f]{32}$/);
  });

  it('matches hosts exactly or by *. suffix', () => {
    expect(hostAllowed('files.heygen.ai', ['*.heygen.ai'])).toBe(true);
    expect(hostAllowed('FILES.HEYGEN.AI.', ['*.heygen.ai'])).toBe(true);
    expect(hostAllowed('heygen.ai', ['*.heygen.ai'])).toBe(false);
    expect(hostAllowed('evilheygen.ai', ['*.heygen.ai'])).toBe(false);
    expect(hostAllowed('heygen.ai.evil.com', ['*.heygen.ai'])).toBe(false);
    expect(hostAllowed('res.jogg.ai', ['res.jogg.ai'])).toBe(true);
  });

  it('refuses HTML whatever the list, and types off a declared list', () => {
    expect(contentTypeAccepted('text/html; charset=utf-8', undefined)).toBe(false);
    expect(contentTypeAccepted('video/mp4', ['video/'])).toBe(true);
    expect(contentTypeAccepted('image/png', ['video/'])).toBe(false);
    expect(contentTypeAccepted('text/vtt;charset=utf-8', ['text/vtt'])).toBe(true);
  });

  it.each([
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.20.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:a9fe:a9fe', false],
    ['64:ff9b::7f00:1', false],
    ['not-an-ip', false],
  ])('address %s public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('never archives an outcome event', () => {
    expect(isOutcomeType('avatar_video.success.archived')).toBe(true);
    expect(isOutcomeType('avatar_video.success.archive_failed')).toBe(true);
    expect(isOutcomeType('avatar_video.success')).toBe(false);
  });
});

describe('Queue: one message from receipt to outcome', () => {
  const envelope = (data: Record<string, unknown>): RelayEvent => ({
    version: '1',
    id: `heygen:evt:${'b'.repeat(64)}`,
    provider: 'heygen',
    type: 'avatar_video.success',
    subject: { kind: 'video', id: 'v1' },
    callbackId: 'cb',
    deliveryId: null,
    receivedAt: '2026-12-07T10:00:00.000Z',
    data,
  });
  const record = (event: RelayEvent, receives: number, sentAt: number) => ({
    body: JSON.stringify({ 'detail-type': event.type, source: 'heygen', detail: event }),
    receiptHandle: 'rh',
    attributes: { SentTimestamp: String(sentAt), ApproximateReceiveCount: String(receives) } as never,
  });
  const failingFetcher = (reason: string, retry: 'later' | 'never') => ({
    fetch: async () => {
      throw new ArchiveError(reason, reason, retry);
    },
  });
  const store = { bucket: 'b', head: async () => null, abortStale: async () => 0 } as never;
  /** The queue's ports on a clock stopped at `now`, the file not ready yet at the provider. */
  const notReadyPorts = (now: number) => ({
    depsFor: async () => ({
      store,
      fetcher: failingFetcher('not_ready', 'later'),
      media: mediaOf('heygen') ?? ({} as never),
      now: () => now,
    }),
    publish: vi.fn(),
    delay: vi.fn(),
    now: () => now,
  });
  const settings = { maxBytes: 1, retryForMs: 3_600_000, staleUploadMs: 0, backoffCapSeconds: 900 };

  it('backs off 30 s doubling up to the cap', () => {
    expect([1, 2, 3, 6, 7, 30].map((n) => backoffSeconds(n, 900, () => 1))).toEqual([30, 60, 120, 900, 900, 900]);
    expect(backoffSeconds(1, 900, () => 0)).toBe(24);
  });

  it('delays a not-ready file by the backoff of its receive count and publishes nothing', async () => {
    const now = 1_000_000_000;
    const ports = { ...notReadyPorts(now), random: () => 1 };
    const result = await handleArchiveMessage(record(envelope({ url: 'https://x.heygen.ai/v' }), 3, now - 1000), ports, settings);
    expect(result.status).toBe('retry');
    expect(ports.delay).toHaveBeenCalledWith('rh', 120);
    expect(ports.publish).not.toHaveBeenCalled();
  });

  it('publishes archive_failed with the original id after the retry period', async () => {
    const now = 1_000_000_000;
    const ports = notReadyPorts(now);
    const event = envelope({ url: 'https://x.heygen.ai/v' });
    await handleArchiveMessage(record(event, 40, now - 3_600_001), ports, settings);
    expect(ports.delay).not.toHaveBeenCalled();
    const published = ports.publish.mock.calls[0]?.[0] as RelayEvent;
    expect(published.type).toBe('avatar_video.success.archive_failed');
    expect(published.data).toMatchObject({
      eventId: event.id,
      reason: 'not_ready',
      failures: [{ kind: 'video', reason: 'not_ready' }],
    });
    expect(published.id).toMatch(/^archive:[0-9a-f]{64}$/);
  });

  it('keeps retrying a file not ready while another file of the event failed for good', async () => {
    const now = 1_000_000_000;
    const fetcher = {
      fetch: async (req: { url: string }) => {
        throw req.url.endsWith('/v')
          ? new ArchiveError('not_ready', 'not yet', 'later')
          : new ArchiveError('host_not_allowed', 'off the list', 'never');
      },
    };
    const ports = {
      depsFor: async () => ({ store, fetcher, media: mediaOf('heygen') ?? ({} as never), now: () => now }),
      publish: vi.fn(),
      delay: vi.fn(),
      now: () => now,
    };
    const data = { url: 'https://x.heygen.ai/v', thumbnail_url: 'https://x.heygen.ai/t' };
    expect((await handleArchiveMessage(record(envelope(data), 1, now), ports, settings)).status).toBe('retry');
    const late = await handleArchiveMessage(record(envelope(data), 50, now - 3_600_001), ports, settings);
    expect(late.status).toBe('failed');
    const published = ports.publish.mock.calls[0]?.[0] as RelayEvent;
    expect(published.data).toMatchObject({
      failures: [
        { kind: 'video', reason: 'not_ready' },
        { kind: 'thumbnail', reason: 'host_not_allowed' },
      ],
    });
  });

  it('publishes archived (no files) for a result without links', async () => {
    const ports = {
      depsFor: async () => ({
        store,
        fetcher: failingFetcher('x', 'never'),
        media: mediaOf('heygen') ?? ({} as never),
        now: Date.now,
      }),
      publish: vi.fn(),
      delay: vi.fn(),
      now: Date.now,
    };
    const result = await handleArchiveMessage(record(envelope({}), 1, Date.now()), ports, settings);
    expect(result.status).toBe('archived');
    const published = ports.publish.mock.calls[0]?.[0] as RelayEvent;
    expect(published.data).toMatchObject({ files: [] });
  });
});

describe('Outcome events: envelope and data schemas (heygen-relay/events)', () => {
  it('archived and archive_failed validate against relay-event.schema.json and archive-event.schema.json', async () => {
    const { RELAY_EVENT_SCHEMA } = await import('../../events.js');
    const { isOutcomeType: exported } = await import('../../index.js');
    const { default: ARCHIVE_EVENT_DATA_SCHEMA } = await import('../../schemas/archive-event.schema.json');
    const { archivedEvent, archiveFailedEvent } = await import('../../functions/archive/outcome.js');
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    const envelope = ajv.compile(RELAY_EVENT_SCHEMA);
    const data = ajv.compile(ARCHIVE_EVENT_DATA_SCHEMA);
    const original = heygen.normalize(sample('heygen', 'avatar_video.success.json'), {});
    const event: RelayEvent = {
      version: '1',
      id: `heygen:evt:${'c'.repeat(64)}`,
      provider: 'heygen',
      receivedAt: new Date().toISOString(),
      ...original,
    };
    const file = {
      kind: 'video',
      bucket: 'b',
      key: 'archive/heygen/x/video',
      size: 3,
      contentType: 'video/mp4',
      sha256: 'd'.repeat(64),
    };
    const ok = archivedEvent(event, [file], new Date());
    const failed = archiveFailedEvent(event, [], [{ kind: 'video', reason: 'not_ready', message: 'm' }], new Date());
    for (const e of [ok, failed]) {
      expect(envelope(e), JSON.stringify(envelope.errors)).toBe(true);
      expect(data(e.data), JSON.stringify(data.errors)).toBe(true);
      expect(exported(e.type)).toBe(true);
    }
    expect(ok.id).toBe(archivedEvent(event, [file], new Date(0)).id);
    expect(ok.id).not.toBe(failed.id);
    expect(data({ ...ok.data, files: [{ ...file, sha256: 'xyz' }] })).toBe(false);
  });
});

describe('Queue: the receive count outlasts the retry period', () => {
  it('136 receives at the shortest jittered backoff span 24 h (the construct default: retryFor 24 h, maxBackoff 15 min)', () => {
    let waited = 0;
    for (let n = 1; n < 136; n++) waited += backoffSeconds(n, 900, () => 0);
    expect(waited).toBeGreaterThan(24 * 3600);
  });
});
