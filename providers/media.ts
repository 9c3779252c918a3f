/**
 * The media registry: what each provider declares it delivers (providers/<name>/runtime/media.ts) and
 * which providers renew expired links. Runtime code (the archiver bundles it). Adding a provider: one line.
 */

import type { MediaDeclaration } from '../functions/archive/media.js';
import type { LinkRefresher } from '../functions/archive/ports.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from './heygen/runtime/api/client.js';
import { HEYGEN_MEDIA, heygenLinkRefresher } from './heygen/runtime/media.js';
import { JOGGAI_MEDIA } from './joggai/runtime/media.js';
import { STANDARD_WEBHOOKS_MEDIA } from './standard-webhooks/runtime/media.js';

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
