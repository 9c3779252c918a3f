/**
 * The events the archiver publishes after an event's files were copied (`<type>.archived`) or could
 * not be within the retry period (`<type>.archive_failed`): relay envelopes (parseRelayEvent reads
 * them) whose `data` says which files are where, carrying the original event's id (`data.eventId`).
 * Their own id is stable (`archive:<sha256 of the original id and the outcome>`), so consumers drop
 * a repeated outcome by id like any relay event. Schema: schemas/archive-event.schema.json.
 */
import { createHash } from 'node:crypto';
import { ENVELOPE_VERSION, type RelayEvent } from '../core/envelope.js';
import {
  ARCHIVE_FAILED_SUFFIX,
  ARCHIVED_SUFFIX,
  type ArchivedData,
  type ArchivedEvent,
  type ArchiveFailedEvent,
  type FileFailure,
} from './outcome-types.js';
import type { StoredFile } from './ports.js';

export * from './outcome-types.js';

function outcomeEvent<T extends ArchivedData>(original: RelayEvent, suffix: string, data: T, now: Date): RelayEvent<T> {
  return {
    version: ENVELOPE_VERSION,
    id: `archive:${createHash('sha256').update(`${original.id}${suffix}`).digest('hex')}`,
    provider: original.provider,
    ...(original.source ? { source: original.source } : {}),
    type: `${original.type}${suffix}`,
    subject: original.subject,
    callbackId: original.callbackId,
    deliveryId: original.deliveryId,
    receivedAt: now.toISOString(),
    data,
  };
}

export function archivedEvent(original: RelayEvent, files: readonly StoredFile[], now: Date): ArchivedEvent {
  return outcomeEvent(original, ARCHIVED_SUFFIX, { eventId: original.id, eventType: original.type, files }, now);
}

export function archiveFailedEvent(
  original: RelayEvent,
  files: readonly StoredFile[],
  failures: readonly FileFailure[],
  now: Date,
): ArchiveFailedEvent {
  const reason = failures[0]?.reason ?? 'unknown';
  return outcomeEvent(
    original,
    ARCHIVE_FAILED_SUFFIX,
    { eventId: original.id, eventType: original.type, files, reason, failures },
    now,
  );
}
