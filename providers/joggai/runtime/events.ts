/**
 * JoggAI v2 webhook event types (WebhookIntegration.mdx / AddWebhookEndpoint.mdx list 22; the
 * OpenAPI example of GET /v2/events lists only 18, image and motion missing) and what each is about.
 */
export const JOGGAI_EVENT_TYPES = [
  'generated_video_success',
  'generated_video_failed',
  'generated_avatar_video_success',
  'generated_avatar_video_failed',
  'generated_product_video_success',
  'generated_product_video_failed',
  'generated_template_video_success',
  'generated_template_video_failed',
  'generated_translate_video_success',
  'generated_translate_video_failed',
  'create_avatar_success',
  'create_avatar_failed',
  'generated_photo_avatar_success',
  'generated_photo_avatar_failed',
  'generated_product_avatar_success',
  'generated_product_avatar_failed',
  'generated_script_success',
  'generated_script_failed',
  'generated_image_success',
  'generated_image_failed',
  'generated_motion_success',
  'generated_motion_failed',
] as const;

export type JoggAiEventType = (typeof JOGGAI_EVENT_TYPES)[number];

export interface SubjectRule {
  readonly kind: string;
  /** `data` keys holding the subject id, tried in order. */
  readonly idKeys: readonly string[];
}

const VIDEO: SubjectRule = { kind: 'video', idKeys: ['video_id', 'project_id'] };
const AVATAR: SubjectRule = { kind: 'avatar', idKeys: ['avatar_id'] };

/** Subject by event family (the event name without `_success` / `_failed`). */
export const SUBJECT_RULES: Readonly<Record<string, SubjectRule>> = {
  generated_video: VIDEO,
  generated_avatar_video: VIDEO,
  generated_product_video: VIDEO,
  generated_template_video: VIDEO,
  generated_translate_video: VIDEO,
  create_avatar: AVATAR,
  generated_photo_avatar: AVATAR,
  generated_product_avatar: AVATAR,
  generated_script: { kind: 'script', idKeys: ['script_id', 'id'] },
  generated_image: { kind: 'photo', idKeys: ['photo_id'] },
  generated_motion: { kind: 'motion', idKeys: ['motion_id'] },
};

/** For event names not (yet) listed: the first of these keys present decides the kind. */
export const FALLBACK_RULES: readonly SubjectRule[] = [
  { kind: 'video', idKeys: ['video_id'] },
  { kind: 'avatar', idKeys: ['avatar_id'] },
  { kind: 'photo', idKeys: ['photo_id'] },
  { kind: 'motion', idKeys: ['motion_id'] },
];

/** `generated_video_success` → `generated_video`. */
export function eventFamily(type: string): string {
  return type.replace(/_(success|failed)$/, '');
}
