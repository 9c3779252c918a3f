/** The media each provider plug-in declares (functions/providers/<name>/media.ts). Adding a provider: one line. */
import { HEYGEN_MEDIA } from '../providers/heygen/media.js';
import { JOGGAI_MEDIA } from '../providers/joggai/media.js';
import { STANDARD_WEBHOOKS_MEDIA } from '../providers/standard-webhooks/media.js';
import type { MediaDeclaration } from './media.js';

export const MEDIA: Readonly<Record<string, MediaDeclaration>> = {
  heygen: HEYGEN_MEDIA,
  joggai: JOGGAI_MEDIA,
  'standard-webhooks': STANDARD_WEBHOOKS_MEDIA,
};

export function mediaOf(provider: string): MediaDeclaration | undefined {
  return MEDIA[provider];
}
