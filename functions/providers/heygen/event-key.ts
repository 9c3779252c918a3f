/**
 * HeyGen's event identity, shared by a live delivery and its entry in the event history (whose bytes
 * differ): `heygen:evt:<sha256 of the canonical JSON of {event_data, event_type}>` (core/canonical-json.ts:
 * sorted keys, no whitespace, numbers kept to the digit). `Heygen-Event-Id` is left out: whether it
 * equals the history's `event_id` is not documented. Two deliveries of one event carry the same type
 * and data. Decided (README, "Event identity"): two history entries with different `event_id`s and
 * the very same type and data (same video id, same URL) within one dedup window ARE one event,
 * published once: only the body is signed, `event_id` may name a delivery attempt rather than an
 * event (keying on it could publish each retry), and such entries carry the same fact. The backfill
 * counts them (`sameContent`).
 */
import { createHash } from 'node:crypto';
import { bodyText, isKnownJson } from '../../core/body-text.js';
import { CanonicalJsonError, canonicalize, type JsonNode, member, parseLossless } from '../../core/canonical-json.js';

const EMPTY: JsonNode = { t: 'object', entries: [], start: 0, end: 0 };

/** The key from the event's type and data as parsed losslessly (from `source`, when given: faster, same key). */
export function heygenEventKeyOf(eventType: string, eventData: JsonNode | undefined, source?: string): string {
  const canonical = `{"event_data":${canonicalize(eventData ?? EMPTY, source)},"event_type":${JSON.stringify(eventType)}}`;
  return `heygen:evt:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/**
 * The key of a delivered body (`{"event_type", "event_data", ...}`); other members do not count. A
 * body nested deeper than the canonicalizer goes (MAX_DEPTH, beyond what EventBridge takes: the
 * ingress parks it) keeps its body key.
 */
export function heygenEventKey(body: Buffer | string): string {
  const text = typeof body === 'string' ? body : bodyText(body);
  let root: JsonNode;
  try {
    // A body the provider's normalize has parsed (the ingress's order) is scanned as valid JSON.
    root = parseLossless(text, { validJson: typeof body !== 'string' && isKnownJson(body) });
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    return `heygen:${createHash('sha256')
      .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
      .digest('hex')}`;
  }
  const type = member(root, 'event_type');
  if (type?.t !== 'string') throw new TypeError('HeyGen body has no event_type string');
  return heygenEventKeyOf(type.value, member(root, 'event_data'), text);
}
