import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureVerificationError } from './errors.js';
import type { SigningKey } from './ports.js';

/** Delivery headers with lowercase names. */
type Headers = Readonly<Record<string, string | undefined>>;

/**
 * How a provider signs its deliveries; the ingress calls it with the live keys. A provider brings its
 * own (ProviderIngress.signature); `hmacHexBody` is the default (HeyGen, JoggAI).
 */
export interface SignatureScheme {
  /**
   * Throws SignatureVerificationError when no key can match the delivery: `missing_signature` when
   * the signature is absent, `invalid_signature` when it is malformed. Such a delivery never costs a
   * re-read of the secrets.
   */
  precheck(body: Uint8Array, headers: Headers): void;
  /** The first key that signed the delivery (its label is loggable), or undefined. */
  match(keys: readonly SigningKey[], body: Uint8Array, headers: Headers): SigningKey | undefined;
}

const hexSchemes = new Map<string, SignatureScheme>();

/** Lowercase hex HMAC-SHA256 of the raw body in one header (HeyGen, JoggAI). */
export function hmacHexBody(header: string): SignatureScheme {
  let scheme = hexSchemes.get(header);
  if (!scheme) {
    scheme = {
      precheck(_body, headers) {
        const signature = headers[header]?.trim();
        if (!signature) throw new SignatureVerificationError('missing_signature', 'Signature header is missing');
        // Not 64 hex digits: no secret can match it, so it never costs a Secrets Manager read.
        if (!isWellFormedSignature(signature))
          throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
      },
      match: (keys, body, headers) => verifyWithFallback(keys, body, headers[header]?.trim() ?? ''),
    };
    hexSchemes.set(header, scheme);
  }
  return scheme;
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** A signature that could be an HMAC-SHA256 at all (64 hex digits). Only such a miss justifies re-reading the secrets. */
export function isWellFormedSignature(signature: string): boolean {
  return HEX_SHA256.test(signature);
}

/** Lowercase hex HMAC-SHA256 of the raw body, keyed with the secret string as UTF-8. */
export function sign(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Constant-time check of one hex signature against one secret. Bad input (wrong length, not hex)
 * is simply `false`: the caller answers 401 either way.
 */
export function verify(secret: string, body: Uint8Array, signature: string): boolean {
  if (!HEX_SHA256.test(signature)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Tries every live key in order; returns the one that matched (its label is loggable), or undefined. */
export function verifyWithFallback(keys: readonly SigningKey[], body: Uint8Array, signature: string): SigningKey | undefined {
  if (!HEX_SHA256.test(signature)) return undefined;
  const given = Buffer.from(signature, 'hex');
  for (const key of keys) {
    const expected = createHmac('sha256', key.secret).update(body).digest();
    if (timingSafeEqual(given, expected)) return key;
  }
  return undefined;
}
