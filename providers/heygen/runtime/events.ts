/**
 * HeyGen v3 webhook event types (the `WebhookEventType` enum of HeyGen's v3 OpenAPI,
 * providers/heygen/runtime/api/openapi.yaml) and what each is about.
 */
export const HEYGEN_EVENT_TYPES = [
  'avatar_video.success',
  'avatar_video.fail',
  'avatar_video_gif.success',
  'avatar_video_gif.fail',
  'video_translate.success',
  'video_translate.fail',
  'video_translate.preflight.validation_failed',
  'video_translate.preflight.download_failed',
  'personalized_video',
  'instant_avatar.success',
  'instant_avatar.fail',
  'photo_avatar_generation.success',
  'photo_avatar_generation.fail',
  'photo_avatar_train.success',
  'photo_avatar_train.fail',
  'photo_avatar_add_motion.success',
  'photo_avatar_add_motion.fail',
  'proofread_creation.success',
  'proofread_creation.fail',
  'live_avatar.success',
  'live_avatar.fail',
  'avatar_video_caption.success',
  'avatar_video_caption.fail',
  'video_agent.success',
  'video_agent.fail',
  'hyperframes_video.success',
  'hyperframes_video.fail',
  'ai_clipping.success',
  'ai_clipping.fail',
  'batch.finished',
] as const;

export type HeyGenEventType = (typeof HEYGEN_EVENT_TYPES)[number];

interface SubjectRule {
  readonly kind: string;
  /** `event_data` keys holding the subject id, tried in order. */
  readonly idKeys: readonly string[];
}

/** Subject by event family (the part before the first dot). Unknown families fall back to generic keys. */
export const SUBJECT_RULES: Readonly<Record<string, SubjectRule>> = {
  avatar_video: { kind: 'video', idKeys: ['video_id'] },
  avatar_video_gif: { kind: 'video', idKeys: ['video_id'] },
  avatar_video_caption: { kind: 'video', idKeys: ['video_id'] },
  hyperframes_video: { kind: 'video', idKeys: ['video_id', 'id'] },
  video_agent: { kind: 'video', idKeys: ['video_id', 'session_id', 'id'] },
  personalized_video: { kind: 'video', idKeys: ['video_id', 'project_id'] },
  video_translate: { kind: 'video_translate', idKeys: ['video_translate_id', 'id'] },
  instant_avatar: { kind: 'avatar', idKeys: ['avatar_id', 'instant_avatar_id', 'id'] },
  photo_avatar_generation: { kind: 'photo_avatar', idKeys: ['generation_id', 'group_id', 'id'] },
  photo_avatar_train: { kind: 'photo_avatar', idKeys: ['group_id', 'id'] },
  photo_avatar_add_motion: { kind: 'photo_avatar', idKeys: ['id', 'photo_avatar_id', 'group_id'] },
  proofread_creation: { kind: 'proofread', idKeys: ['proofread_id', 'id'] },
  live_avatar: { kind: 'live_avatar', idKeys: ['session_id', 'id'] },
  ai_clipping: { kind: 'ai_clipping', idKeys: ['id', 'job_id'] },
  batch: { kind: 'batch', idKeys: ['batch_id', 'id'] },
};
