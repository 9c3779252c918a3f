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

/** Checks that `value` is a relay envelope and returns it typed; throws RelayEventParseError. */
export function assertRelayEvent(value: unknown): RelayEvent {
  if (!isObject(value)) throw new RelayEventParseError('Envelope is not an object');
  const { version, id, provider, type, subject, callbackId, deliveryId, receivedAt, data } = value;
  if (version !== ENVELOPE_VERSION) throw new RelayEventParseError(`Unsupported envelope version ${String(version)}`);
  if (typeof id !== 'string' || typeof provider !== 'string' || typeof type !== 'string')
    throw new RelayEventParseError('Envelope lacks id, provider or type');
  if (!isObject(subject) || typeof subject.kind !== 'string' || !nullableString(subject.id))
    throw new RelayEventParseError('Envelope subject is malformed');
  if (!nullableString(callbackId) || !nullableString(deliveryId) || typeof receivedAt !== 'string')
    throw new RelayEventParseError('Envelope metadata is malformed');
  if (!isObject(data)) throw new RelayEventParseError('Envelope data is not an object');
  const { origin, source } = value;
  if (source !== undefined && typeof source !== 'string') throw new RelayEventParseError('Envelope source is malformed');
  if (origin !== undefined && origin !== 'delivery' && origin !== 'backfill')
    throw new RelayEventParseError('Envelope origin is malformed');
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
