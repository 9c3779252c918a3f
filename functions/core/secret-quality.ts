/**
 * What a signing secret must look like before the relay uses it as an HMAC key, or the registrar,
 * the rotation or the CLI stores it. A weak or placeholder value (`whsec_...`, `REPLACE_ME`,
 * whitespace, `null`) would let anyone who read the docs forge deliveries, so it is refused.
 *
 * Providers' real secrets: HeyGen `whsec_` + a random token (the v1 docs show 30 characters),
 * JoggAI "16-character" (v1 docs) or `whsec_...` (v2). Hence: 16 to 1024 characters, printable
 * ASCII without whitespace, not a placeholder shape, and at least 4 distinct characters (a 16-character hex secret has fewer than 4 about once in 10^9 draws).
 */

/** Shortest secret the relay accepts (JoggAI's v1 secrets are 16 characters). */
export const MIN_SIGNING_SECRET_LENGTH = 16;
export const MAX_SIGNING_SECRET_LENGTH = 1024;

/**
 * Placeholder shapes. They look at the whole value (after a `whsec_` prefix), never at a substring
 * alone: a random secret may well contain `tbd` or `Todo` (a 32-character base64 token does in about
 * 1 of 300 draws), and refusing a real secret would lock the relay out.
 */
const PLACEHOLDER_ANYWHERE: readonly RegExp[] = [
  /\.\.\.|…/, // an elided example: whsec_...
  /[<>{}[\]"'`]/, // <your secret>, {{secret}}, JSON fragments, quoting leftovers
];
const PLACEHOLDER_BODY: readonly RegExp[] = [
  // The rest of the value words (and a number) too: a random token may start with `setit-` or `mykey`.
  /^(replace|change|insert|put|set|fill|add)[-_ ]?(me|this|here|it|the)([-_ ][a-z_ -]*\d*)?$/i,
  /^(your|my|the)[-_ ]?(webhook[-_ ]?)?(signing[-_ ]?)?(secret|key|token)([-_ ]?[a-z_ -]*\d*)?$/i,
  /^(placeholder|example|sample|dummy|changeit|secret|password|todo|tbd|fixme|test|testing|null|undefined|none|nil|true|false|nan)([-_ ]?\d*)$/i,
  /^(x+|0+|\*+|-+|_+)$/i, // whsec_xxxxxxxx
];

/**
 * Why `value` is not usable as a signing secret, or null when it is. The reason never contains the
 * value (it may be logged).
 */
export function signingSecretProblem(value: unknown): string | null {
  if (typeof value !== 'string')
    return `not a string (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
  if (value.length === 0) return 'empty';
  if (/\s/.test(value)) return 'contains whitespace';
  if (value.length < MIN_SIGNING_SECRET_LENGTH) return `shorter than ${MIN_SIGNING_SECRET_LENGTH} characters`;
  if (value.length > MAX_SIGNING_SECRET_LENGTH) return `longer than ${MAX_SIGNING_SECRET_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(value)) return 'contains characters outside printable ASCII';
  const body = value.replace(/^whsec_/i, '');
  if (PLACEHOLDER_ANYWHERE.some((p) => p.test(value)) || PLACEHOLDER_BODY.some((p) => p.test(body)))
    return 'looks like a placeholder, not an issued secret';
  if (new Set(value).size < 4) return 'too few distinct characters to be a random secret';
  return null;
}

/** True when the relay may use `value` as a signing secret. */
export function isUsableSigningSecret(value: unknown): value is string {
  return signingSecretProblem(value) === null;
}

/** Refused to store a signing secret that fails {@link signingSecretProblem}. */
export class WeakSigningSecretError extends Error {
  constructor(
    readonly reason: string,
    where: string,
  ) {
    super(`refusing to store a signing secret in ${where}: ${reason}`);
    this.name = 'WeakSigningSecretError';
  }
}

/**
 * HMAC keys whose bytes were published as examples (so anyone can sign with them), as lowercase hex
 * of the decoded key. A provider whose secrets are an encoding of key bytes (Standard Webhooks:
 * `whsec_` + base64) checks the decoded bytes here, so a re-encoding of the same key (prefix or
 * not, padding or not) is caught too.
 * - `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`: the Standard Webhooks libraries' test secret (the
 *   JavaScript, Python, Go... tests of github.com/standard-webhooks/standard-webhooks) and the
 *   example of Svix's verification docs and of many Svix-powered senders' pages.
 */
export const PUBLISHED_EXAMPLE_KEYS: ReadonlySet<string> = new Set([
  Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64').toString('hex'),
]);

/** Fewest key bytes accepted: 128 bits (the Standard Webhooks spec asks senders for at least 24 bytes). */
export const MIN_HMAC_KEY_BYTES = 16;

/**
 * Why decoded HMAC key bytes can never be a sender's random key, or null when they may be: too
 * short, a published example, all one byte (an all-zero key), or fewer than 4 distinct bytes (a
 * random 16-byte key has fewer about once in 10^22 draws). The reason never contains the key.
 */
export function hmacKeyProblem(key: Uint8Array): string | null {
  if (key.length < MIN_HMAC_KEY_BYTES) return `the key is ${key.length} bytes once decoded, shorter than ${MIN_HMAC_KEY_BYTES}`;
  if (PUBLISHED_EXAMPLE_KEYS.has(Buffer.from(key).toString('hex'))) return 'a published example key: anyone can sign with it';
  const distinct = new Set(key).size;
  if (distinct === 1) return 'every byte of the key is the same (an all-zero key, say): not a random key';
  if (distinct < 4) return 'too few distinct bytes in the key to be random';
  return null;
}
