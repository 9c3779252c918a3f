/**
 * The HeyGen v3 video detail (`GET /v3/videos/{id}`, not in openapi.yaml: heygen-videos.md) through
 * HeyGenWebhookClient.getVideo against the fake HeyGen API, and the link refresher built on it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { HeyGenNotFoundError } from '../../providers/heygen/runtime/api/errors.js';
import { heygenLinkRefresher } from '../../providers/heygen/runtime/media.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';

let fake: FakeHeyGenApi;
beforeAll(async () => {
  fake = await FakeHeyGenApi.start();
});
afterAll(async () => fake?.close());
beforeEach(() => fake.reset());

const client = () => new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, maxAttempts: 2, backoffBaseMs: 1 });

describe('HeyGen client: getVideo (v3 video detail)', () => {
  it('reads the detail with the API key and gives fresh links by kind', async () => {
    fake.videos.set('v1', {
      id: 'v1',
      status: 'completed',
      video_url: 'https://files.heygen.ai/new.mp4',
      captioned_video_url: null,
      subtitle_url: 'https://files.heygen.ai/new.srt',
      thumbnail_url: 'https://files.heygen.ai/new.jpg',
      gif_url: null,
    });
    expect((await client().getVideo('v1')).status).toBe('completed');
    const links = await heygenLinkRefresher(client())({ data: { video_id: 'v1' } });
    expect(links).toEqual({
      video: 'https://files.heygen.ai/new.mp4',
      captioned_video: null,
      subtitles: 'https://files.heygen.ai/new.srt',
      thumbnail: 'https://files.heygen.ai/new.jpg',
      gif: null,
    });
    expect(fake.requestsTo('GET', /^\/v3\/videos\/v1$/).every((r) => r.status === 200)).toBe(true);
  });

  it('asks a translation by its video_translate_id; a video not completed has no links to give', async () => {
    fake.videos.set('tr1', { id: 'tr1', status: 'processing' });
    await expect(heygenLinkRefresher(client())({ data: { video_translate_id: 'tr1' } })).rejects.toThrow(
      /processing, not completed/,
    );
    await expect(heygenLinkRefresher(client())({ data: {} })).rejects.toThrow(/no video_id/);
  });

  it('an unknown video is a HeyGenNotFoundError; a 5xx is retried', async () => {
    await expect(client().getVideo('nope')).rejects.toBeInstanceOf(HeyGenNotFoundError);
    fake.videos.set('v2', { id: 'v2', status: 'completed', video_url: 'https://files.heygen.ai/v2.mp4' });
    fake.inject({ method: 'GET', path: /^\/v3\/videos\//, status: 503 });
    expect((await client().getVideo('v2')).id).toBe('v2');
  });
});
