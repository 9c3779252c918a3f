/**
 * The stored form of a parked delivery, shared by the S3 and the local (directory) stores and the
 * operators' list / re-publish. One record per dedup key, so parking the same body twice (the
 * provider's retries) overwrites one record instead of piling up copies.
 */
import type { ParkedDelivery } from './ports.js';

export const PARKED_RECORD_VERSION = 1 as const;

/** A parked delivery as stored: its fields, when it was parked, and its body as base64. */
export interface ParkedRecord extends Omit<ParkedDelivery, 'body'> {
  readonly version: typeof PARKED_RECORD_VERSION;
  readonly parkedAt: string;
  /** The raw signed body, base64 (it may not be UTF-8). */
  readonly body: string;
}

/**
 * Where a parked delivery lives: `parked/<source>/<sha256>.json` for a body key or a Standard
 * Webhooks id (`<source>:<sha256>`), `parked/<source>/evt-<sha256>.json` for a HeyGen event key
 * (`<source>:evt:<sha256>`); `<source>` is the source id (functions/core/event-key.ts), the provider's
 * name for its default source. Records parked before keys were per source stay under
 * `parked/<provider>/` with their `source` field, and are re-published with their own id.
 */
export function parkedKey(id: string): string {
  const m = /^([a-z0-9_-]+):(evt:)?([0-9a-f]{64})$/.exec(id);
  if (!m) throw new TypeError('Not a relay delivery id');
  return `parked/${m[1]}/${m[2] ? 'evt-' : ''}${m[3]}.json`;
}

export function toParkedRecord(delivery: ParkedDelivery, parkedAt: string): ParkedRecord {
  return {
    version: PARKED_RECORD_VERSION,
    id: delivery.id,
    provider: delivery.provider,
    ...(delivery.source ? { source: delivery.source } : {}),
    reason: delivery.reason,
    message: delivery.message,
    ...(delivery.busCode ? { busCode: delivery.busCode } : {}),
    receivedAt: delivery.receivedAt,
    parkedAt,
    path: delivery.path,
    headers: delivery.headers,
    keyLabel: delivery.keyLabel,
    body: delivery.body.toString('base64'),
  };
}

export function parseParkedRecord(text: string): ParkedRecord {
  const value = JSON.parse(text) as Partial<ParkedRecord>;
  if (value?.version !== PARKED_RECORD_VERSION || typeof value.id !== 'string' || typeof value.body !== 'string')
    throw new TypeError('Not a parked delivery record');
  return value as ParkedRecord;
}

/** The raw body of a parked record. */
export function parkedBody(record: ParkedRecord): Buffer {
  return Buffer.from(record.body, 'base64');
}
