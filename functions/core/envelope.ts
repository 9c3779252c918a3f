/**
 * The versioned event shape every provider's delivery is turned into. This file is the single
 * source of the envelope's TypeScript types; `schemas/relay-event.schema.json` is its JSON Schema
 * (a test keeps the two in step). Consumers import `parseRelayEvent` to read an SQS message.
 */
export const ENVELOPE_VERSION = '1' as const;

export interface RelaySubject {
  /** What the event is about, e.g. `video`, `video_translate`, `avatar`. */
  readonly kind: string;
  /** The provider's id of that resource; null when the payload names none. */
  readonly id: string | null;
}

export interface RelayEvent<TData = Record<string, unknown>> {
  /** Envelope version; changes only on breaking changes. */
  readonly version: typeof ENVELOPE_VERSION;
  /**
   * Stable id, the relay's dedup key, per source (functions/core/event-key.ts): `<source>:<rest>`
   * with `<source>` the source's id (the provider's name for its default source). For HeyGen
   * `heygen:evt:<sha256 of the canonical {event_type, event_data}>` (the same for a live delivery and
   * its backfill from HeyGen's history), for Standard Webhooks `<source>:<sha256 of webhook-id>`, for
   * other providers `<source>:<sha256 of the raw body>`. Two sources never share an id.
   */
  readonly id: string;
  /** The provider that sent it: `heygen`, `joggai`, ... (the EventBridge `source`). */
  readonly provider: string;
  /**
   * The relay source (provider account) it came through: the source's id, by default the provider's
   * name; tells two accounts of one provider apart (EventBridge rules match `detail.source`).
   * Absent on events published before this field existed: read absent as `provider`.
   */
  readonly source?: string;
  /** The provider's event type, e.g. `avatar_video.success`. */
  readonly type: string;
  readonly subject: RelaySubject;
  /** The caller's correlation id echoed by the provider (HeyGen `callback_id`), or null. */
  readonly callbackId: string | null;
  /** The provider's delivery id (HeyGen `Heygen-Event-Id`), or null when absent. */
  readonly deliveryId: string | null;
  /** When the relay received it, ISO-8601 UTC. */
  readonly receivedAt: string;
  /** The provider's event payload exactly as sent (HeyGen `event_data`). */
  readonly data: TData;
  /**
   * How it reached the relay: `delivery` (the provider's webhook) or `backfill` (recovered from the
   * provider's event history after live delivery failed). Absent on events published before this
   * field existed: read absent as `delivery`.
   */
  readonly origin?: RelayOrigin;
}

export type RelayOrigin = 'delivery' | 'backfill';

export class RelayEventParseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RelayEventParseError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nullableString(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

// What schemas/relay-event.schema.json enforces, checked by hand to keep the consumer bundle small
// (test/unit/envelope-schema-parity.test.ts holds the two to the same verdicts).
const ID = /^[a-z0-9_-]+:(evt:)?[0-9a-f]{64}$/;
const PROVIDER = /^[a-z0-9][a-z0-9_-]*$/;
const SOURCE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const FIELDS = [
  'version',
  'id',
  'provider',
  'source',
  'type',
  'subject',
  'callbackId',
  'deliveryId',
  'receivedAt',
  'data',
  'origin',
];
const DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
const TIME = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)$/i;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** RFC 3339 date-time, read exactly as the schema's `format: date-time` is (ajv-formats: real dates, a time zone, leap seconds at 23:59:60 UTC). */
function isDateTime(text: string): boolean {
  const parts = text.split(/t|\s/i);
  const d = DATE.exec(parts[0] ?? '');
  const t = TIME.exec(parts[1] ?? '');
  if (parts.length !== 2 || !d || !t) return false;
  const [year, month, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && leap ? 29 : (DAYS[month] as number))) return false;
  const [hr, min, sec, tzH, tzM] = [Number(t[1]), Number(t[2]), Number(t[3]), Number(t[6] ?? 0), Number(t[7] ?? 0)];
  const sign = t[5] === '-' ? -1 : 1;
  if (tzH > 23 || tzM > 59) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  const utcMin = min - tzM * sign;
  const utcHr = hr - tzH * sign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
}

function fail(message: string): never {
  throw new RelayEventParseError(message);
}

/** `field` breaks the schema: `what` it must be, and what it was. */
function wrong(field: string, what: string, got: unknown): never {
  return fail(`Envelope ${field} must be ${what}, got ${JSON.stringify(got) ?? String(got)}`);
}

/** Checks that `value` is a relay envelope (what its JSON Schema allows) and returns it typed; throws RelayEventParseError naming the field. */
export function assertRelayEvent(value: unknown): RelayEvent {
  if (!isObject(value)) fail('Envelope is not an object');
  if (Array.isArray(value.Records))
    fail('This is a whole SQS event: pass each of its records, for (const r of event.Records) parseRelayEvent(r)');
  const { version, id, provider, source, type, subject, callbackId, deliveryId, receivedAt, data, origin } = value;
  if (version !== ENVELOPE_VERSION) wrong('version', `"${ENVELOPE_VERSION}" (this reader's envelope version)`, version);
  for (const f of FIELDS.slice(1)) if (!(f in value) && f !== 'source' && f !== 'origin') fail(`Envelope lacks ${f}`);
  const extra = Object.keys(value).find((k) => !FIELDS.includes(k));
  if (extra !== undefined) fail(`Envelope has a field its schema does not allow: ${extra}`);
  if (typeof id !== 'string' || !ID.test(id)) wrong('id', 'a relay event id (<provider>:<64 hex digits>)', id);
  if (typeof provider !== 'string' || !PROVIDER.test(provider)) wrong('provider', 'a provider name (a-z, 0-9, _ or -)', provider);
  if (source !== undefined && (typeof source !== 'string' || !SOURCE.test(source)))
    wrong('source', 'a source id (a-z, 0-9, _ or -, at most 40)', source);
  if (typeof type !== 'string' || [...type].length < 1 || [...type].length > 128)
    wrong('type', 'a string of 1 to 128 characters', type);
  if (!isObject(subject) || typeof subject.kind !== 'string' || !nullableString(subject.id) || !('id' in subject))
    wrong('subject', 'an object { kind: string, id: string | null }', subject);
  const subjectExtra = Object.keys(subject).find((k) => k !== 'kind' && k !== 'id');
  if (subjectExtra !== undefined) fail(`Envelope subject has a field its schema does not allow: ${subjectExtra}`);
  if (!nullableString(callbackId)) wrong('callbackId', 'a string or null', callbackId);
  if (!nullableString(deliveryId)) wrong('deliveryId', 'a string or null', deliveryId);
  if (typeof receivedAt !== 'string' || !isDateTime(receivedAt)) wrong('receivedAt', 'an RFC 3339 date-time', receivedAt);
  if (!isObject(data)) wrong('data', 'an object', data);
  if (origin !== undefined && origin !== 'delivery' && origin !== 'backfill') wrong('origin', '"delivery" or "backfill"', origin);
  return value as unknown as RelayEvent;
}

/**
 * Reads a relay event from what a consumer holds: an SQS record (`{ body }`), an SQS message body
 * string, an EventBridge event (`{ detail }`), or the envelope itself.
 *
 * ```ts
 * for (const record of sqsEvent.Records) { const event = parseRelayEvent(record); ... }
 * ```
 */
export function parseRelayEvent(input: string | { body: string } | Record<string, unknown>): RelayEvent {
  let value: unknown = input;
  if (typeof value === 'string') value = parseJson(value);
  if (isObject(value) && typeof value.body === 'string' && !('version' in value && 'provider' in value))
    value = parseJson(value.body);
  if (isObject(value) && isObject(value.detail) && 'detail-type' in value) value = value.detail;
  return assertRelayEvent(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RelayEventParseError('Message is not JSON', { cause: err });
  }
}
