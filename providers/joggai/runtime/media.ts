/**
 * JoggAI's media (../../archive/media.ts): a finished video's `video_url` and `cover_url`
 * (provider-facts.md, JoggAI section: video success data `{video_id, status, video_url, cover_url, duration}`).
 * JoggAI's API has no documented call that renews a link: an expired one fails the archive with its reason.
 */
import type { MediaDeclaration } from '../../../functions/archive/media.js';

const OCTET = ['application/octet-stream', 'binary/octet-stream'];

export const JOGGAI_MEDIA: MediaDeclaration = {
  eventTypes: [
    'generated_video_success',
    'generated_avatar_video_success',
    'generated_product_video_success',
    'generated_template_video_success',
    'generated_translate_video_success',
  ],
  files: [
    { kind: 'video', paths: ['video_url'], contentTypes: ['video/', ...OCTET] },
    { kind: 'cover', paths: ['cover_url'], contentTypes: ['image/', ...OCTET] },
  ],
  // [UNKNOWN] JoggAI documents no list of file hosts; its examples use res.jogg.ai.
  hosts: ['*.jogg.ai'],
};
