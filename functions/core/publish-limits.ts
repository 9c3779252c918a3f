/**
 * What EventBridge can take, checked in the core so the Lambda and the local relay apply the same
 * limits, and a signed delivery that can never be published is parked (not retried forever).
 *
 * Sources (EventBridge API reference, PutEvents; User Guide "Calculating PutEvents event entry size"):
 * - entry size = 14 bytes for `Time` (if set) + UTF-8 bytes of `Source`, `DetailType`, `Detail` and
 *   each `Resources` entry; at most 256 KB;
 * - "PutEvents will only process nested JSON up to 1100 levels deep".
 */

/** What AWS's size formula counts of a PutEvents entry: its texts, and whether it sets `Time`. */
export interface EntryParts {
  readonly source: string;
  readonly detailType: string;
  readonly detail?: string;
  readonly hasTime: boolean;
  readonly resources?: readonly string[];
}

/** Largest PutEvents entry, by AWS's formula. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** Deepest nesting PutEvents processes in `Detail`. */
export const MAX_DETAIL_DEPTH = 1100;
/** What AWS counts for the `Time` field of an entry. */
export const TIME_FIELD_BYTES = 14;

/** AWS's PutEventsRequestEntry size formula, exactly. */
export function putEventsEntrySize(entry: EntryParts): number {
  let size = entry.hasTime ? TIME_FIELD_BYTES : 0;
  size += Buffer.byteLength(entry.source, 'utf8');
  size += Buffer.byteLength(entry.detailType, 'utf8');
  if (entry.detail !== undefined) size += Buffer.byteLength(entry.detail, 'utf8');
  for (const r of entry.resources ?? []) size += Buffer.byteLength(r, 'utf8');
  return size;
}

/**
 * `putEventsEntrySize`, counted only when the entry might exceed `limit`: UTF-8 takes at most 3
 * bytes per UTF-16 code unit, so an entry whose texts are short enough is within it uncounted (then
 * 0 is returned). Spares a pass over every published Detail.
 */
export function entrySizeIfAbove(limit: number, entry: EntryParts): number {
  let units = entry.source.length + entry.detailType.length + (entry.detail?.length ?? 0);
  for (const r of entry.resources ?? []) units += r.length;
  if ((entry.hasTime ? TIME_FIELD_BYTES : 0) + 3 * units <= limit) return 0;
  return putEventsEntrySize(entry);
}
