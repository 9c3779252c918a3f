/**
 * HeyGen's delivery contract (developers.heygen.com/docs/webhooks):
 * - `Heygen-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the endpoint secret;
 * - `Heygen-Timestamp`: unix seconds, NOT signed (checked against a tolerance as defense in depth);
 * - `Heygen-Event-Id`: delivery id, carried as metadata (unsigned, so not the dedup key);
 * - body `{ "event_type": "...", "event_data": { ... } }`; answer 2xx within 10 s.
 */
import { BadRequestError } from '../../../functions/core/errors.js';
import { ownEntry, pickSubject, readJsonObject } from '../../normalize.js';
import type { Headers, NormalizedDelivery, ProviderIngress } from '../../types.js';
import { heygenDataJson, heygenEventKey } from './event-key.js';
import { HEYGEN_EVENT_TYPES, SUBJECT_RULES } from './events.js';

const MAX_HEADER_ID = 256;

/** `Heygen-Timestamp` as unix seconds; `invalid` when present but not that (the core decides what it gets). */
function parseTimestamp(raw: string | undefined): { sentAt: number } | { timestampInvalid: true } | Record<string, never> {
  if (raw === undefined) return {};
  const trimmed = raw.trim();
  return /^\d{1,12}$/.test(trimmed) ? { sentAt: Number(trimmed) } : { timestampInvalid: true };
}

export function normalizeHeyGen(body: Buffer, headers: Headers): NormalizedDelivery {
  const timestamp = parseTimestamp(headers['heygen-timestamp']);
  const payload = readJsonObject(body);
  const type = payload.event_type;
  if (typeof type !== 'string' || type.length === 0 || type.length > 128)
    throw new BadRequestError('missing_event_type', 'Body has no event_type string');
  const rawData = payload.event_data ?? {};
  if (typeof rawData !== 'object' || rawData === null || Array.isArray(rawData))
    throw new BadRequestError('invalid_event_data', 'event_data must be an object');
  const data = rawData as Record<string, unknown>;
  const family = type.split('.', 1)[0] ?? type;
  const headerId = headers['heygen-event-id']?.trim();
  const bodyId = typeof payload.event_id === 'string' ? payload.event_id : undefined;
  const deliveryId = (headerId ? headerId.slice(0, MAX_HEADER_ID) : bodyId) ?? null;
  const dataJson = heygenDataJson(body);
  return {
    type,
    subject: pickSubject(data, ownEntry(SUBJECT_RULES, family) ?? { kind: family, idKeys: [`${family}_id`, 'video_id', 'id'] }),
    callbackId: typeof data.callback_id === 'string' ? data.callback_id : null,
    deliveryId,
    data,
    ...(dataJson === undefined ? {} : { dataJson }),
    ...timestamp,
  };
}

export const heygen: ProviderIngress = {
  name: 'heygen',
  signatureHeader: 'heygen-signature',
  answerWithinMs: 10_000,
  defaultTimestampToleranceSeconds: 300,
  // Heygen-Timestamp is an unsigned header: its absence proves nothing, and anyone can forge it.
  requiresTimestamp: false,
  // HeyGen resends only a delivery that failed or timed out (10 s), with backoff, and the relay
  // answers well inside those 10 s: two copies of one event are not in flight at once, so one write suffices.
  defaultDedupMode: 'record',
  eventTypes: HEYGEN_EVENT_TYPES,
  normalize: normalizeHeyGen,
  // A live delivery and its entry in HeyGen's event history share this key (their bytes differ).
  eventKey: heygenEventKey,
  // Before event keys, HeyGen deliveries were recorded under the body key: recognised for one window.
  legacyBodyKeys: true,
};
