/**
 * A request body's UTF-8 text, decoded once per body: the provider's normalize, the event key and
 * the fidelity scan all read it (at 64 KB each decoding costs about 10 µs). Also remembers whether
 * that text has parsed with `JSON.parse`, so the event key's lossless scanner may trust the grammar
 * (core/canonical-json.ts `parseLossless(text, { validJson: true })`).
 *
 * Remembered for the last body only (a body is read by those steps one after the other, within one
 * synchronous stretch of the request): no map, no garbage per request. Another body simply decodes
 * again. A body is never changed once received; a Buffer written to after it was read here must
 * not be passed again.
 */
import { isAscii } from 'node:buffer';
import { type JsonNode, parseLossless } from './canonical-json.js';

interface Decoded {
  readonly body: Uint8Array;
  readonly text: string;
  json: boolean;
  ascii: boolean | undefined;
  /** The lossless parse of the text (core/canonical-json.ts), once a step has made it. */
  tree: JsonNode | undefined;
}

let last: Decoded | undefined;

function entry(body: Buffer): Decoded {
  if (last?.body !== body) last = { body, text: body.toString('utf8'), json: false, ascii: undefined, tree: undefined };
  return last;
}

/** The body decoded as UTF-8 (invalid bytes become U+FFFD, as `Buffer#toString`). */
export function bodyText(body: Buffer): string {
  return entry(body).text;
}

/** `JSON.parse` of the body's text; the body is then known to be valid JSON text. Throws as `JSON.parse`. */
export function parseBodyJson(body: Buffer): unknown {
  const d = entry(body);
  const value = JSON.parse(d.text) as unknown;
  d.json = true;
  return value;
}

/** True once `parseBodyJson` has parsed this body's text. */
export function isKnownJson(body: Buffer): boolean {
  return last?.body === body && last.json;
}

/**
 * Whether every byte of the body is below 0x80 (checked once per body). Then the body is valid
 * UTF-8 and its text's character offsets are its byte offsets.
 */
export function isAsciiBody(body: Buffer): boolean {
  const d = entry(body);
  d.ascii ??= isAscii(body);
  return d.ascii;
}

/**
 * The body's text parsed losslessly (core/canonical-json.ts `parseLossless`), once per body: as
 * valid JSON when `parseBodyJson` took it. Throws CanonicalJsonError as `parseLossless`.
 */
export function bodyTree(body: Buffer): JsonNode {
  const d = entry(body);
  d.tree ??= parseLossless(d.text, { validJson: d.json });
  return d.tree;
}
