/**
 * Standard Webhooks signatures, verified over the exact bytes received.
 *
 * The spec's JavaScript library (`standardwebhooks` 1.1.1) signs a Buffer payload after
 * `payload.toString()`: bytes that are not UTF-8 become U+FFFD before the HMAC, so a genuine body
 * that is not UTF-8 never verifies, and a genuine signature over a body holding U+FFFD verifies
 * for other bytes too (0xFF, 0xC0 ... in its place). Its `sign` takes only strings and Buffers it
 * decodes that way, and it keeps the decoded key private. So the library is used for what it does
 * on strings (reading the secret: `whsec_` + base64, checked once per secret against a probe
 * signature) and the HMAC is node:crypto's over `${id}.${timestamp}.` and the raw body bytes, with
 * the library's rules (and the Python `standardwebhooks` 1.3 and `svix` libraries', which sign
 * bytes as they are):
 * - headers `webhook-id`, `webhook-timestamp`, `webhook-signature`, or the `svix-` ones Svix senders
 *   send by default; per header, `svix-` first (the `svix` library's order);
 * - the signed timestamp is the header's integer value (the libraries parse it, then sign the number);
 * - `webhook-signature`: space-separated entries; `v1,<base64 of 32 bytes>` are compared in constant
 *   time against each live key's HMAC, other versions (`v1a,` ed25519) are skipped; one match suffices.
 *
 * Bounds (the libraries set none; a header line is bounded by the transport): an id of at most
 * MAX_ID characters, at most MAX_ENTRIES entries. Svix's ids are 31 characters and a sender signs with
 * one or two secrets (two during a rotation), so both bounds are far above what senders send.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SignatureVerificationError } from '../../../functions/core/errors.js';
import type { SigningKey } from '../../../functions/core/ports.js';
import { hmacKeyProblem } from '../../../functions/core/secret-quality.js';
import type { SignatureScheme } from '../../../functions/core/verify.js';
import type { Headers } from '../../types.js';

/** Longest `webhook-id` accepted (characters): the spec sets no size; ids are idempotency keys, hashed for dedup. */
export const MAX_ID = 4096;
/** Most `webhook-signature` entries read (any versions): one per secret a sender signs with. */
export const MAX_ENTRIES = 128;
/** A v1 entry: base64 of a 32-byte HMAC-SHA256. */
const V1_ENTRY = /^v1,[A-Za-z0-9+/]{43}=$/;
const UNIX_SECONDS = /^\d{1,12}$/;

/** The three signed values of a delivery, from `svix-*` or `webhook-*` headers (trimmed; undefined when absent). */
export interface SignedHeaders {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
}

/** Per header, `svix-<name>` when present, else `webhook-<name>`, as the `svix` library reads them. */
export function signedHeaders(headers: Headers): SignedHeaders {
  return {
    id: (headers['svix-id'] ?? headers['webhook-id'])?.trim(),
    timestamp: (headers['svix-timestamp'] ?? headers['webhook-timestamp'])?.trim(),
    signature: (headers['svix-signature'] ?? headers['webhook-signature'])?.trim(),
  };
}

/** True when `timestamp` is unix seconds as the scheme signs them (digits). */
export function isUnixSeconds(timestamp: string): boolean {
  return UNIX_SECONDS.test(timestamp);
}

/** The v1 signatures of a `webhook-signature` header, decoded (32 bytes each). */
function v1Signatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const entry of header.split(' ')) if (V1_ENTRY.test(entry)) out.push(Buffer.from(entry.slice(3), 'base64'));
  return out;
}

/** The v1 HMAC-SHA256 of a delivery: over `${id}.${timestamp as an integer}.` then the body's bytes as they are. */
export function hmacV1(key: Uint8Array, id: string, timestamp: string | number, body: Uint8Array | string): Buffer {
  // The libraries sign the timestamp's integer value (`0123` signs as `123`).
  return createHmac('sha256', key)
    .update(`${id}.${Number(timestamp)}.`)
    .update(body)
    .digest();
}

/** A secret's HMAC key as the library reads it, or why it has none that can ever match. */
export type KeyReading = { readonly key: Buffer } | { readonly problem: string };

const PROBE = { id: 'msg_probe', seconds: 1_700_000_000, body: '{"probe":true}' };

/**
 * Reads a `whsec_` secret with the library (its base64 rules), then takes the same bytes for
 * node:crypto, checked on a probe: the library's signature of a probe message must equal
 * node:crypto's with those bytes. Then the key's own quality (functions/core/secret-quality.ts).
 */
export function readSecret(secret: string): KeyReading {
  let library: Webhook;
  try {
    library = new Webhook(secret);
  } catch {
    return { problem: 'not a Standard Webhooks secret: whsec_ followed by base64 (the library cannot decode it)' };
  }
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = library.sign(PROBE.id, new Date(PROBE.seconds * 1000), PROBE.body);
  const ours = `v1,${hmacV1(key, PROBE.id, PROBE.seconds, PROBE.body).toString('base64')}`;
  if (expected !== ours) return { problem: 'its base64 decodes to different bytes in the library and in node:crypto' };
  const problem = hmacKeyProblem(key);
  return problem === null ? { key } : { problem };
}

/** Readings by secret: a few live keys at a time, bounded however often they rotate. */
const readings = new Map<string, KeyReading>();
function readingOf(secret: string): KeyReading {
  let reading = readings.get(secret);
  if (reading === undefined) {
    reading = readSecret(secret);
    if (readings.size >= 16) readings.clear();
    readings.set(secret, reading);
  }
  return reading;
}

/** Why `secret` can never verify a Standard Webhooks delivery, or null (ProviderIngress.secretProblem). */
export function standardWebhooksSecretProblem(secret: string): string | null {
  const reading = readingOf(secret);
  return 'problem' in reading ? reading.problem : null;
}

export const standardWebhooksSignature: SignatureScheme = {
  precheck(_body, headers) {
    const { id, timestamp, signature } = signedHeaders(headers);
    if (!id || !timestamp || !signature)
      throw new SignatureVerificationError(
        'missing_signature',
        'webhook-id, webhook-timestamp or webhook-signature (or svix-id, svix-timestamp, svix-signature) is missing (all three are signed)',
      );
    // No key can match these: they never cost a re-read of the secrets.
    if (id.length > MAX_ID)
      throw new SignatureVerificationError('invalid_signature', `The id is longer than ${MAX_ID} characters`);
    if (!UNIX_SECONDS.test(timestamp)) throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
    const entries = signature.split(' ').length;
    if (entries > MAX_ENTRIES)
      throw new SignatureVerificationError('invalid_signature', `The signature header has more than ${MAX_ENTRIES} entries`);
    if (v1Signatures(signature).length === 0)
      throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
  },
  match(keys: readonly SigningKey[], body, headers) {
    const { id = '', timestamp = '', signature = '' } = signedHeaders(headers);
    const given = v1Signatures(signature);
    for (const key of keys) {
      // A secret that can never match (functions/core/secret-quality.ts) is skipped here too.
      const reading = readingOf(key.secret);
      if (!('key' in reading)) continue;
      const expected = hmacV1(reading.key, id, timestamp, body);
      if (given.some((g) => timingSafeEqual(g, expected))) return key;
    }
    return undefined;
  },
};
