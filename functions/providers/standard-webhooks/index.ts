/**
 * The Standard Webhooks contract (github.com/standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md; senders: Svix-powered services, Replicate):
 * - `webhook-id`: the message id, the same on every retry of it: the dedup key;
 * - `webhook-timestamp`: unix seconds, SIGNED (part of the signed content), so the staleness check
 *   is a real replay defence;
 * - `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` entries (a sender rotating its
 *   secret signs with both); other versions (`v1a,` ed25519) are ignored; one match suffices;
 * - signed content `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the base64-decoded
 *   part of a `whsec_` secret; computed by the spec's own library (`standardwebhooks`), compared
 *   here in constant time against every entry and every live key (AWSCURRENT, AWSPENDING);
 * - body: the spec's recommended `{ "type", "timestamp", "data" }`.
 * No management API: the secret is put into Secrets Manager by the operator.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { BadRequestError, SignatureVerificationError } from '../../core/errors.js';
import type { SigningKey } from '../../core/ports.js';
import type { SignatureScheme } from '../../core/verify.js';
import { pickSubject, readJsonObject } from '../normalize.js';
import type { Headers, NormalizedDelivery, ProviderIngress } from '../types.js';

const MAX_ID = 256;
const MAX_ENTRIES = 16;
/** A v1 entry: base64 of a 32-byte HMAC-SHA256. */
const V1_ENTRY = /^v1,[A-Za-z0-9+/]{43}=$/;
const UNIX_SECONDS = /^\d{1,12}$/;

/** The `webhook-signature` header's v1 signatures (base64), at most MAX_ENTRIES. */
function v1Signatures(header: string): string[] {
  return header
    .split(' ')
    .slice(0, MAX_ENTRIES)
    .filter((e) => V1_ENTRY.test(e))
    .map((e) => e.slice(3));
}

/** The library's signer of a secret, or null when the secret is not `whsec_` + base64 (never a match). */
const signers = new Map<string, Webhook | null>();
function signerOf(secret: string): Webhook | null {
  let signer = signers.get(secret);
  if (signer === undefined) {
    try {
      signer = new Webhook(secret);
    } catch {
      signer = null;
    }
    if (signers.size >= 16) signers.clear(); // a few live keys at a time: bounded however often they rotate
    signers.set(secret, signer);
  }
  return signer;
}

export const standardWebhooksSignature: SignatureScheme = {
  precheck(_body, headers) {
    const id = headers['webhook-id']?.trim();
    const timestamp = headers['webhook-timestamp']?.trim();
    const signature = headers['webhook-signature']?.trim();
    if (!id || !timestamp || !signature)
      throw new SignatureVerificationError(
        'missing_signature',
        'webhook-id, webhook-timestamp or webhook-signature is missing (all three are signed)',
      );
    if (id.length > MAX_ID || !UNIX_SECONDS.test(timestamp) || v1Signatures(signature).length === 0)
      throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
  },
  match(keys: readonly SigningKey[], body, headers) {
    const id = headers['webhook-id']?.trim() ?? '';
    const timestamp = new Date(Number(headers['webhook-timestamp']?.trim()) * 1000);
    const given = v1Signatures(headers['webhook-signature']?.trim() ?? '').map((s) => Buffer.from(s, 'base64'));
    const payload = Buffer.from(body);
    for (const key of keys) {
      const signer = signerOf(key.secret);
      if (!signer) continue;
      const expected = Buffer.from(signer.sign(id, timestamp, payload).slice(3), 'base64');
      if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) return key;
    }
    return undefined;
  },
};

export function normalizeStandardWebhooks(body: Buffer, headers: Headers): NormalizedDelivery {
  const payload = readJsonObject(body);
  const type = payload.type;
  if (typeof type !== 'string' || type.length === 0 || type.length > 128)
    throw new BadRequestError('missing_event_type', 'Body has no type string');
  const rawData = payload.data ?? {};
  if (typeof rawData !== 'object' || rawData === null || Array.isArray(rawData))
    throw new BadRequestError('invalid_event_data', 'data must be an object');
  const data = rawData as Record<string, unknown>;
  const timestamp = headers['webhook-timestamp']?.trim();
  const family = type.split('.', 1)[0] ?? type;
  return {
    type,
    // `video.completed` is about a `video`: its id is `data.id` or `data.video_id`.
    subject: pickSubject(data, { kind: family, idKeys: ['id', `${family}_id`] }),
    callbackId: null,
    deliveryId: headers['webhook-id']?.trim().slice(0, MAX_ID) ?? null,
    data,
    ...(timestamp === undefined ? {} : UNIX_SECONDS.test(timestamp) ? { sentAt: Number(timestamp) } : { timestampInvalid: true }),
  };
}

/** `standard-webhooks:<sha256 of webhook-id>`: every retry of a message carries its id; the bytes may differ. */
export function standardWebhooksEventKey(_body: Buffer, headers: Headers): string {
  const id = headers['webhook-id']?.trim() ?? '';
  return `standard-webhooks:${createHash('sha256').update(id).digest('hex')}`;
}

export const standardWebhooks: ProviderIngress = {
  name: 'standard-webhooks',
  signatureHeader: 'webhook-signature',
  signature: standardWebhooksSignature,
  // The spec leaves the deadline to the sender; Svix times out after 15 s. Answer well inside.
  answerWithinMs: 10_000,
  // The library's own tolerance (5 minutes).
  defaultTimestampToleranceSeconds: 300,
  // The timestamp is signed and always sent: without it nothing can be verified.
  requiresTimestamp: true,
  // Senders retry with backoff after a failure or timeout; a sender rotating secrets signs one
  // delivery with both, it does not send two. A claim still costs little and keeps copies of one
  // message id off the bus if a sender ever overlaps them.
  defaultDedupMode: 'claim',
  normalize: normalizeStandardWebhooks,
  eventKey: standardWebhooksEventKey,
};
