/**
 * HeyGen's event identity, shared by a live delivery and its entry in the event history (whose bytes
 * differ): `heygen:evt:<sha256 of the canonical JSON of {event_data, event_type}>` (core/canonical-json.ts:
 * sorted keys, no whitespace, numbers kept to the digit). `Heygen-Event-Id` is left out: whether it
 * equals the history's `event_id` is not documented. Two deliveries of one event carry the same type
 * and data. Decided (docs/lifecycle.md, "Event identity"): two history entries with different `event_id`s and
 * the very same type and data (same video id, same URL) within one dedup window ARE one event,
 * published once: only the body is signed, `event_id` may name a delivery attempt rather than an
 * event (keying on it could publish each retry), and such entries carry the same fact. The backfill
 * counts them (`sameContent`).
 */
import * as crypto from 'node:crypto';
import { bodyFacts } from '../../../functions/core/body-facts.js';
import { bodyText, bodyTree, isAsciiBody } from '../../../functions/core/body-text.js';
import {
  CanonicalJsonError,
  canonicalize,
  canonicalPieces,
  type JsonNode,
  member,
  parseLossless,
} from '../../../functions/core/canonical-json.js';

const EMPTY: JsonNode = { t: 'object', entries: [], start: 0, end: 0 };

/** SHA-256 hex of a text: the one-shot `crypto.hash` (Node >= 20.12; no Hash object), else a Hash. */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** The key from the event's type and data as parsed losslessly (from `source`, when given: faster, same key). */
export function heygenEventKeyOf(eventType: string, eventData: JsonNode | undefined, source?: string): string {
  const canonical = `{"event_data":${canonicalize(eventData ?? EMPTY, source)},"event_type":${JSON.stringify(eventType)}}`;
  return `heygen:evt:${sha256Hex(canonical)}`;
}

/** Bodies from this size on hash their long plain strings from the bytes (core/canonical-json.ts `canonicalPieces`). */
const PIECES_FROM_BYTES = 16 * 1024;

/** `heygenEventKeyOf(...)` of an ASCII body, its long strings hashed straight from its bytes (same key). */
function keyFromAsciiBytes(body: Buffer, text: string, eventType: string, eventData: JsonNode | undefined): string {
  const hash = crypto.createHash('sha256').update('{"event_data":');
  for (const piece of canonicalPieces(eventData ?? EMPTY, text)) {
    if (typeof piece === 'string') hash.update(piece, 'utf8');
    else hash.update(body.subarray(piece[0], piece[1]));
  }
  return `heygen:evt:${hash.update(`,"event_type":${JSON.stringify(eventType)}}`, 'utf8').digest('hex')}`;
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
    // Parsed once per body (normalize has usually done it; then as valid JSON).
    root = typeof body === 'string' ? parseLossless(text) : bodyTree(body);
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    return `heygen:${crypto
      .createHash('sha256')
      .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
      .digest('hex')}`;
  }
  const type = member(root, 'event_type');
  if (type?.t !== 'string') throw new TypeError('HeyGen body has no event_type string');
  const data = member(root, 'event_data');
  if (typeof body === 'string') return heygenEventKeyOf(type.value, data, text);
  if (body.length >= PIECES_FROM_BYTES && isAsciiBody(body)) return keyFromAsciiBytes(body, text, type.value, data);
  // The canonical text from the body's one walk (core/body-facts.ts), shared with the Detail and the fidelity check.
  const canonical = bodyFacts(body, 'event_data')?.memberCanonical ?? canonicalize(data ?? EMPTY, text);
  return `heygen:evt:${sha256Hex(`{"event_data":${canonical},"event_type":${JSON.stringify(type.value)}}`)}`;
}

/**
 * `JSON.stringify` of a delivered body's `event_data` (what normalize gives as `data`), copied from
 * the body when its text is exactly that (core/canonical-json.ts `stringifiedSource`), else
 * undefined. Spares serializing the data again for the envelope.
 */
export function heygenDataJson(body: Buffer): string | undefined {
  return bodyFacts(body, 'event_data')?.memberStringified;
}
