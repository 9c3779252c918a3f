/** The provider plug-ins the ingress knows. Adding a provider: a folder plus one line here. */

import { sourceEventKey } from '../functions/core/event-key.js';
import { dedupKey } from '../functions/core/ingress.js';
import { heygen } from './heygen/runtime/index.js';
import { joggai } from './joggai/runtime/index.js';
import { standardWebhooks } from './standard-webhooks/runtime/index.js';
import type { Headers, ProviderIngress } from './types.js';

export const PROVIDERS: Readonly<Record<string, ProviderIngress>> = {
  heygen,
  joggai,
  [standardWebhooks.name]: standardWebhooks,
};

export function getProvider(name: string): ProviderIngress {
  const provider = PROVIDERS[name];
  if (!provider) throw new Error(`Unknown provider "${name}"; known: ${Object.keys(PROVIDERS).join(', ')}`);
  return provider;
}

/**
 * The envelope id and dedup key of a body delivered to `source` (@default the provider's default
 * source): the provider's event key, else sha256 of the body, per source (core/event-key.ts).
 */
export function eventId(name: string, body: Uint8Array, headers: Headers = {}, source: string = name): string {
  return sourceEventKey(source, getProvider(name).eventKey?.(Buffer.from(body), headers) ?? dedupKey(name, body));
}

/** Time budget for one request: the provider's deadline less a margin for the network and cold start. */
export function answerBudgetMs(provider: ProviderIngress): number {
  return Math.max(1_000, Math.floor(provider.answerWithinMs * 0.8));
}
