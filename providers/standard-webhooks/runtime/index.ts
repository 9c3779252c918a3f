/**
 * The Standard Webhooks contract (github.com/standard-webhooks/standard-webhooks,
 * spec/standard-webhooks.md; senders: Svix-powered services, Replicate):
 * - `webhook-id`: the message id, the same on every retry of it: the dedup key;
 * - `webhook-timestamp`: unix seconds, SIGNED (part of the signed content), so the staleness check
 *   is a real replay defence;
 * - `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` entries (a sender rotating its
 *   secret signs with both); other versions (`v1a,` ed25519) are ignored; one match suffices;
 * - Svix senders send the same three as `svix-id`, `svix-timestamp`, `svix-signature`;
 * - signed content `${webhook-id}.${webhook-timestamp}.` then the raw body BYTES, keyed with the
 *   base64-decoded part of a `whsec_` secret (read by the spec's own library, `standardwebhooks`),
 *   compared in constant time against every entry and every live key (AWSCURRENT, AWSPENDING):
 *   ./signature.ts, which says why the library does not compute the HMAC itself;
 * - body: the spec's recommended `{ "type", "timestamp", "data" }` by default; senders that sign
 *   this way but post another shape (Replicate posts the prediction object itself: `id`, `status`,
 *   `output`, ...) are read through the route's body rule (`StandardWebhooksBodyRule`, RELAY_PROVIDERS
 *   `options`, written by the source at synth): which field is the type, which the data, which the
 *   subject's id. Plain field names, no sender named here.
 * No management API: the secret is put into Secrets Manager by the operator.
 */
import { createHash } from 'node:crypto';
import { BadRequestError } from '../../../functions/core/errors.js';
import { ownEntry, pickSubject, readJsonObject } from '../../normalize.js';
import type { Headers, NormalizedDelivery, ProviderIngress } from '../../types.js';
import { isUnixSeconds, signedHeaders, standardWebhooksSecretProblem, standardWebhooksSignature } from './signature.js';

export { MAX_ENTRIES, MAX_ID, standardWebhooksSecretProblem, standardWebhooksSignature } from './signature.js';

/**
 * How a body maps to the envelope (the source's props of the same names; RELAY_PROVIDERS `options`).
 * Field names are top-level keys of the body (no paths).
 */
export interface StandardWebhooksBodyRule {
  /** The field holding the event type (a non-empty string). @default 'type' */
  readonly typeField?: string;
  /** Put before the type field's value with a dot: `prediction` makes `succeeded` `prediction.succeeded`. @default none */
  readonly typePrefix?: string;
  /** The field holding the event data (an object; absent or null: `{}`); null: the whole body is the data. @default 'data' */
  readonly dataField?: string | null;
  /** The data's field holding the subject's id (string or number). @default 'id', then `<subjectKind>_id` */
  readonly subjectIdField?: string;
  /** The subject's kind. @default the event type up to its first dot (`prediction.succeeded`: `prediction`) */
  readonly subjectKind?: string;
}

const RULE_KEYS = ['typeField', 'typePrefix', 'dataField', 'subjectIdField', 'subjectKind'] as const;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const TYPE_PREFIX = /^[A-Za-z0-9_-]{1,32}(?:\.[A-Za-z0-9_-]{1,32}){0,3}$/;
const SUBJECT_KIND = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TYPE = 128;

/**
 * Checks a body rule (from the source's props at synth, from RELAY_PROVIDERS at the ingress's start)
 * and returns it; throws a TypeError naming the option, e.g. `typeField must be ...`.
 */
export function standardWebhooksBodyRule(value: unknown): StandardWebhooksBodyRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('the body rule must be an object');
  const rule = value as Record<string, unknown>;
  for (const key of Object.keys(rule))
    if (!(RULE_KEYS as readonly string[]).includes(key))
      throw new TypeError(`unknown option "${key}" (known: ${RULE_KEYS.join(', ')})`);
  const field = (key: 'typeField' | 'subjectIdField', v: unknown) => {
    if (v !== undefined && (typeof v !== 'string' || !FIELD_NAME.test(v)))
      throw new TypeError(
        `${key} must be a top-level field name (a letter or "_", then letters, digits, "_" or "-"; at most 64), got ${JSON.stringify(v)}`,
      );
  };
  field('typeField', rule.typeField);
  field('subjectIdField', rule.subjectIdField);
  if (
    rule.dataField !== undefined &&
    rule.dataField !== null &&
    (typeof rule.dataField !== 'string' || !FIELD_NAME.test(rule.dataField))
  )
    throw new TypeError(
      `dataField must be a top-level field name, or null for the whole body, got ${JSON.stringify(rule.dataField)}`,
    );
  const typeField = rule.typeField ?? 'type';
  if (typeField === (rule.dataField === undefined ? 'data' : rule.dataField))
    throw new TypeError(`typeField and dataField name the same field "${typeField}" (a type is a string, data an object)`);
  if (rule.typePrefix !== undefined && (typeof rule.typePrefix !== 'string' || !TYPE_PREFIX.test(rule.typePrefix)))
    throw new TypeError(
      `typePrefix must be 1-4 dot-separated words of letters, digits, "_" or "-" (e.g. "prediction"), got ${JSON.stringify(rule.typePrefix)}`,
    );
  if (rule.subjectKind !== undefined && (typeof rule.subjectKind !== 'string' || !SUBJECT_KIND.test(rule.subjectKind)))
    throw new TypeError(`subjectKind must be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(rule.subjectKind)}`);
  return Object.freeze({ ...rule }) as StandardWebhooksBodyRule;
}

export function normalizeStandardWebhooks(
  body: Buffer,
  headers: Headers,
  rule: StandardWebhooksBodyRule = {},
): NormalizedDelivery {
  const payload = readJsonObject(body);
  const typeField = rule.typeField ?? 'type';
  // Own fields only (never an inherited one such as `constructor`).
  const value = ownEntry(payload, typeField);
  if (typeof value !== 'string' || value.length === 0)
    throw new BadRequestError('missing_event_type', `Body has no "${typeField}" string (the event type)`);
  const type = rule.typePrefix === undefined ? value : `${rule.typePrefix}.${value}`;
  if (type.length > MAX_TYPE)
    throw new BadRequestError('missing_event_type', `The event type (from "${typeField}") is longer than ${MAX_TYPE} characters`);
  const dataField = rule.dataField === undefined ? 'data' : rule.dataField;
  const rawData = dataField === null ? payload : (ownEntry(payload, dataField) ?? {});
  if (typeof rawData !== 'object' || rawData === null || Array.isArray(rawData))
    throw new BadRequestError('invalid_event_data', `${dataField ?? 'the body'} must be an object`);
  const data = rawData as Record<string, unknown>;
  const { id, timestamp } = signedHeaders(headers);
  const kind = rule.subjectKind ?? type.split('.', 1)[0] ?? type;
  return {
    type,
    // `video.completed` is about a `video`: its id is `data.id` or `data.video_id`.
    subject: pickSubject(data, { kind, idKeys: rule.subjectIdField ? [rule.subjectIdField] : ['id', `${kind}_id`] }),
    callbackId: null,
    deliveryId: id ?? null,
    data,
    ...(timestamp === undefined ? {} : isUnixSeconds(timestamp) ? { sentAt: Number(timestamp) } : { timestampInvalid: true }),
  };
}

/** `standard-webhooks:<sha256 of webhook-id>` (or svix-id): every retry of a message carries its id; the bytes may differ. */
export function standardWebhooksEventKey(_body: Buffer, headers: Headers): string {
  const id = signedHeaders(headers).id ?? '';
  return `standard-webhooks:${createHash('sha256').update(id).digest('hex')}`;
}

export const standardWebhooks: ProviderIngress = {
  name: 'standard-webhooks',
  signatureHeader: 'webhook-signature',
  signature: standardWebhooksSignature,
  // A secret the library cannot decode, or a published example or degenerate key, is never a key.
  secretProblem: standardWebhooksSecretProblem,
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
  normalize: (body, headers) => normalizeStandardWebhooks(body, headers),
  eventKey: standardWebhooksEventKey,
  /** This plug-in reading bodies by `options` (a `StandardWebhooksBodyRule`); throws a TypeError on a bad one. */
  withOptions(options) {
    const rule = standardWebhooksBodyRule(options);
    return { ...standardWebhooks, normalize: (body, headers) => normalizeStandardWebhooks(body, headers, rule) };
  },
};
