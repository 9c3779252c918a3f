/** Where a file of an event is stored: `<prefix><source>/<job id>/<kind>`, one object per source, job and kind. */
import { createHash } from 'node:crypto';
import type { RelayEvent } from '../core/envelope.js';

export const DEFAULT_KEY_PREFIX = 'archive/';

/** A key segment: S3-safe characters only, never `.`/`..`, at most 200 characters. */
function segment(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9._=-]/g, '_').slice(0, 200);
  return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
}

/** The job an event is about: its subject id, else (no id in the payload) a hash of the event id. */
export function jobIdOf(event: Pick<RelayEvent, 'id' | 'subject'>): string {
  if (event.subject.id !== null && event.subject.id !== '') return segment(event.subject.id);
  return `event-${createHash('sha256').update(event.id).digest('hex').slice(0, 32)}`;
}

/** The key of one file: names the source (account), the job and the file kind. */
export function archiveKey(
  event: Pick<RelayEvent, 'id' | 'subject' | 'provider' | 'source'>,
  kind: string,
  prefix = DEFAULT_KEY_PREFIX,
): string {
  return `${prefix}${segment(event.source ?? event.provider)}/${jobIdOf(event)}/${segment(kind)}`;
}
