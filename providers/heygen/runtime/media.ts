/**
 * HeyGen's media (../../archive/media.ts): the files of its result events and where they are
 * (../../../../shared/reference/heygen-videos.md, provider-facts.md § per-type event_data), and how
 * expired links are renewed: the v3 video detail (`GET /v3/videos/{video_id}`) returns fresh
 * presigned links (api/client.ts `getVideo`).
 */

import type { MediaDeclaration, MediaFileSpec } from '../../../functions/archive/media.js';
import type { RelayEvent } from '../../../functions/core/envelope.js';
import type { HeyGenVideo } from './api/client.js';

const VIDEO_TYPES = ['video/', 'application/octet-stream', 'binary/octet-stream'];
const IMAGE_TYPES = ['image/', 'application/octet-stream', 'binary/octet-stream'];
const SUBTITLE_TYPES = [
  'text/vtt',
  'text/plain',
  'application/x-subrip',
  'text/srt',
  'application/octet-stream',
  'binary/octet-stream',
];

/** Kinds and the event_data fields holding them (`url` is the video of avatar_video and video_translate). */
const FILES: readonly MediaFileSpec[] = [
  { kind: 'video', paths: ['video_url', 'url'], contentTypes: VIDEO_TYPES },
  { kind: 'captioned_video', paths: ['captioned_video_url'], contentTypes: VIDEO_TYPES },
  { kind: 'subtitles', paths: ['subtitle_url'], contentTypes: SUBTITLE_TYPES },
  { kind: 'thumbnail', paths: ['thumbnail_url'], contentTypes: IMAGE_TYPES },
  { kind: 'gif', paths: ['gif_download_url', 'gif_url'], contentTypes: ['image/gif', ...IMAGE_TYPES] },
];

export const HEYGEN_MEDIA: MediaDeclaration = {
  eventTypes: ['avatar_video.success', 'video_translate.success', 'personalized_video', 'avatar_video_gif.success'],
  files: FILES,
  // avatar_video_gif's payload "is the same as avatar_video": its `url` is the GIF.
  filesByType: {
    'avatar_video_gif.success': [
      { kind: 'gif', paths: ['gif_download_url', 'gif_url', 'url'], contentTypes: ['image/gif', ...IMAGE_TYPES] },
    ],
  },
  // [UNKNOWN] HeyGen documents no list of file hosts; its links are on heygen.ai / heygen.com names.
  hosts: ['*.heygen.ai', '*.heygen.com'],
};

/** The v3 video detail's field of each kind. */
const DETAIL_FIELD: Readonly<Record<string, keyof HeyGenVideo>> = {
  video: 'video_url',
  captioned_video: 'captioned_video_url',
  subtitles: 'subtitle_url',
  thumbnail: 'thumbnail_url',
  gif: 'gif_url',
};

/** The video id the detail is asked for: `video_id`, else (translations) `video_translate_id` [INFERENCE: heygen-videos.md]. */
export function heygenVideoId(event: Pick<RelayEvent, 'data'>): string | undefined {
  const { video_id: videoId, video_translate_id: translateId } = event.data;
  if (typeof videoId === 'string' && videoId !== '') return videoId;
  return typeof translateId === 'string' && translateId !== '' ? translateId : undefined;
}

/** Fresh links by kind from a video detail (null where the detail has none). */
export function linksFromDetail(video: HeyGenVideo): Record<string, string | null> {
  return Object.fromEntries(
    Object.entries(DETAIL_FIELD).map(([kind, field]) => {
      const v = video[field];
      return [kind, typeof v === 'string' && v !== '' ? v : null];
    }),
  );
}

/** The video detail call the refresher needs (api/client.ts HeyGenWebhookClient.getVideo). */
export interface HeyGenVideoApi {
  getVideo(videoId: string): Promise<HeyGenVideo>;
}

/**
 * Renews a HeyGen event's links through the v3 video detail. A video that is not `completed` (or
 * an event without a video id) has no links to give: the caller retries later.
 */
export function heygenLinkRefresher(api: HeyGenVideoApi) {
  return async (event: Pick<RelayEvent, 'data'>): Promise<Record<string, string | null>> => {
    const id = heygenVideoId(event);
    if (id === undefined) throw new Error('the event names no video_id to renew its links with');
    const video = await api.getVideo(id);
    if (video.status !== 'completed') throw new Error(`video ${id} is ${video.status}, not completed`);
    return linksFromDetail(video);
  };
}
