/** The media each provider plug-in declares (providers/<name>/runtime/media.ts). Adding a provider: one line. */
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { HEYGEN_MEDIA, heygenLinkRefresher } from '../../providers/heygen/runtime/media.js';
import { JOGGAI_MEDIA } from '../../providers/joggai/runtime/media.js';
import { STANDARD_WEBHOOKS_MEDIA } from '../../providers/standard-webhooks/runtime/media.js';
import type { MediaDeclaration } from './media.js';
import type { LinkRefresher } from './ports.js';

export const MEDIA: Readonly<Record<string, MediaDeclaration>> = {
  heygen: HEYGEN_MEDIA,
  joggai: JOGGAI_MEDIA,
  'standard-webhooks': STANDARD_WEBHOOKS_MEDIA,
};

export function mediaOf(provider: string): MediaDeclaration | undefined {
  return MEDIA[provider];
}

/**
 * Providers whose API renews expired links, given the source's API key (its secret) and API URL.
 * JoggAI documents no such call; Standard Webhooks senders have no API.
 */
export const LINK_RENEWERS: Readonly<Record<string, (apiKey: string, apiUrl?: string) => LinkRefresher>> = {
  heygen: (apiKey, apiUrl) =>
    heygenLinkRefresher(new HeyGenWebhookClient({ apiKey, baseUrl: apiUrl ?? DEFAULT_HEYGEN_API_URL, maxAttempts: 3 })),
};
