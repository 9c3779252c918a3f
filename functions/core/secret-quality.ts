/**
 * What a signing secret must look like before the relay uses it as an HMAC key, or the registrar,
 * the rotation or the CLI stores it. A weak or placeholder value (`whsec_...`, `REPLACE_ME`,
 * whitespace, `null`) would let anyone who read the docs forge deliveries, so it is refused.
 *
 * Providers' real secrets: HeyGen `whsec_` + a random token (the v1 docs show 30 characters),
 * JoggAI "16-character" (v1 docs) or `whsec_...` (v2). Hence: 16 to 1024 characters, printable
 * ASCII without whitespace, not a placeholder shape, and at least 8 distinct characters.
 */

/** Shortest secret the relay accepts (JoggAI's v1 secrets are 16 characters). */
export const MIN_SIGNING_SECRET_LENGTH = 16;
export const MAX_SIGNING_SECRET_LENGTH = 1024;

const PLACEHOLDER_PATTERNS: readonly RegExp[] = [
  /\.\.\.|…/, // an elided example: whsec_...
  /[<>{}[\]"'`]/, // <your secret>, {{secret}}, JSON fragments, quoting leftovers
  /(replace|change|update|insert|put|set|fill)[-_ ]?(me|this|here|it)/i,
  /placeholder|example|dummy|changeit|your[-_ ]?(secret|key)|secret[-_ ]?here|todo|tbd|fixme/i,
  /^(null|undefined|none|nil|true|false|nan|test|secret|password)$/i,
  /x{4,}|X{4,}/, // whsec_xxxxxxxx
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
  for (const p of PLACEHOLDER_PATTERNS) if (p.test(value)) return 'looks like a placeholder, not an issued secret';
  if (new Set(value).size < 8) return 'too few distinct characters to be a random secret';
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
