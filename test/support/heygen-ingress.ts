/** The in-process ingress tests' HeyGen pieces: its route over one static secret, and signed requests to it. */
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { ProviderRoute } from '../../functions/core/ingress.js';
import type { DedupStore } from '../../functions/core/ports.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';

/** HeyGen at /heygen, verified with `secret` alone, no timestamp tolerance, answering within `budgetMs`. */
export function heygenRoute(secret: string, budgetMs: number, dedup: DedupStore): ProviderRoute {
  return {
    provider: heygen,
    path: '/heygen',
    keys: new StaticKeySource([secret]),
    timestampToleranceSeconds: 0,
    budgetMs,
    dedup,
  };
}

/** A HeyGen body no other test sends (a random video id). */
export const randomHeyGenBody = () =>
  Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v${Math.random()}` } }));

/** The ingress request HeyGen would send: `body` at /heygen, signed with `secret`. */
export const signedHeyGenRequest = (secret: string, body: Buffer) => ({
  method: 'POST',
  path: '/heygen',
  headers: { 'heygen-signature': sign(secret, body) },
  body,
  requestId: 'r',
});
