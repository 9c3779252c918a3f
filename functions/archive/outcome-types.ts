/**
 * The types of the archive's outcome events (`<type>.archived`, `<type>.archive_failed`), for
 * consumers (`heygen-relay/events`): no imports but the envelope's types. Schema of their `data`:
 * schemas/archive-event.schema.json.
 */
import type { RelayEvent } from '../core/envelope.js';

/** A file in the archive bucket. */
export interface ArchivedFile {
  readonly kind: string;
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  /** SHA-256 (hex) of the stored bytes, computed while streaming (also the object tag `sha256`). */
  readonly sha256: string;
}

export const ARCHIVED_SUFFIX = '.archived';
export const ARCHIVE_FAILED_SUFFIX = '.archive_failed';

export interface FileFailure {
  readonly kind: string;
  readonly reason: string;
  readonly message: string;
}

/** `data` of a `<type>.archived` event. */
export interface ArchivedData {
  readonly [key: string]: unknown;
  /** The id of the event whose files were archived. */
  readonly eventId: string;
  readonly eventType: string;
  readonly files: readonly ArchivedFile[];
}

/** `data` of a `<type>.archive_failed` event: what was stored, and why the rest was not. */
export interface ArchiveFailedData extends ArchivedData {
  readonly reason: string;
  readonly failures: readonly FileFailure[];
}

export type ArchivedEvent = RelayEvent<ArchivedData>;
export type ArchiveFailedEvent = RelayEvent<ArchiveFailedData>;

/** Whether a type is an archive outcome (never archived itself). */
export function isOutcomeType(type: string): boolean {
  return type.endsWith(ARCHIVED_SUFFIX) || type.endsWith(ARCHIVE_FAILED_SUFFIX);
}
