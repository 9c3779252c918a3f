/**
 * URL identity as the relay's ingress sees it: two endpoint URLs are the same when HeyGen's deliveries
 * to both reach the same route of ours. The Lambda Function URL hands the router the path without the
 * query string (and a client never sends the fragment or, as such, the userinfo); the router
 * (core/ingress.ts `normalizePath`) drops one trailing slash and ignores letter case. So
 * `…/heygen`, `…/heygen/`, `…/HEYGEN` and `…/heygen?app=b` are one URL here: an endpoint at any of them
 * delivers to our route, and its copies, signed with its own secret, are refused there.
 * Scheme, host and port still tell URLs apart (another host is another Lambda).
 */
import { normalizePath } from '../../../functions/core/ingress.js';

/** The route `url` reaches: scheme, host (lower case, default port dropped) and the router's path; `url` itself when unparsable. */
export function normalizeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${normalizePath(u.pathname)}`;
  } catch {
    return url;
  }
}
