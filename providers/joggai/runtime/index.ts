/**
 * JoggAI's v2 delivery contract (docs.jogg.ai, WebhookIntegration.mdx "Security Requirements"):
 * - `X-Webhook-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the endpoint secret;
 * - `X-Webhook-Event`: the event name (unsigned; must agree with the signed body's `event`);
 * - no timestamp or event-id header; the body `{ event_id?, event, timestamp, data }` is signed,
 *   so its `timestamp` (unix seconds) feeds the staleness check and `event_id` is the delivery id;
 * - answer 2xx within 5 s; non-2xx is retried (v1 docs: 3 attempts, 5 s apart).
 */

import type { RelaySubject } from '../../../functions/core/envelope.js';
import { BadRequestError } from '../../../functions/core/errors.js';
import { ownEntry, pickSubject, readJsonObject } from '../../normalize.js';
import type { Headers, NormalizedDelivery, ProviderIngress } from '../../types.js';
import { eventFamily, FALLBACK_RULES, JOGGAI_EVENT_TYPES, SUBJECT_RULES } from './events.js';

const MAX_ID = 256;
/** Largest plausible unix-seconds value (year 5138); rejects millisecond timestamps instead of misreading them. */
const MAX_UNIX_SECONDS = 99_999_999_999;

/** The body's `timestamp` as unix seconds; `invalid` when present but not that (the core decides what it gets). */
function parseTimestamp(raw: unknown): { sentAt: number } | { timestampInvalid: true } | Record<string, never> {
  if (raw === undefined || raw === null) return {};
  const n = typeof raw === 'string' && /^\d{1,11}$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_UNIX_SECONDS) return { timestampInvalid: true };
  return { sentAt: n };
}

function subjectOf(type: string, data: Record<string, unknown>): RelaySubject {
  const rule = ownEntry(SUBJECT_RULES, eventFamily(type));
  if (rule) return pickSubject(data, rule);
  for (const fallback of FALLBACK_RULES) {
    const subject = pickSubject(data, fallback);
    if (subject.id !== null) return subject;
  }
  return { kind: eventFamily(type), id: null };
}

export function normalizeJoggAi(body: Buffer, headers: Headers): NormalizedDelivery {
  const payload = readJsonObject(body);
  const type = payload.event;
  if (typeof type !== 'string' || type.length === 0 || type.length > 128)
    throw new BadRequestError('missing_event_type', 'Body has no event string');
  const headerEvent = headers['x-webhook-event']?.trim();
  if (headerEvent && headerEvent !== type)
    throw new BadRequestError('event_mismatch', 'X-Webhook-Event does not match the body event');
  const timestamp = parseTimestamp(payload.timestamp);
  const rawData = payload.data ?? {};
  if (typeof rawData !== 'object' || rawData === null || Array.isArray(rawData))
    throw new BadRequestError('invalid_event_data', 'data must be an object');
  const data = rawData as Record<string, unknown>;
  const eventId = payload.event_id;
  return {
    type,
    subject: subjectOf(type, data),
    callbackId: null,
    deliveryId: typeof eventId === 'string' && eventId.length > 0 ? eventId.slice(0, MAX_ID) : null,
    data,
    ...timestamp,
  };
}

export const joggai: ProviderIngress = {
  name: 'joggai',
  signatureHeader: 'x-webhook-signature',
  answerWithinMs: 5_000,
  defaultTimestampToleranceSeconds: 300,
  // The body's `timestamp` is signed and JoggAI documents it on every delivery: with the check on,
  // a body without one is refused, so an old signed body cannot be replayed after the dedup window.
  requiresTimestamp: true,
  // The relay rotates JoggAI's secret by overlapping two endpoints, and JoggAI then delivers every
  // event to both at once: only a claim before publishing keeps one of the two copies off the bus.
  defaultDedupMode: 'claim',
  eventTypes: JOGGAI_EVENT_TYPES,
  normalize: normalizeJoggAi,
};

export { JOGGAI_EVENT_TYPES };
