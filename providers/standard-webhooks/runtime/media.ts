/**
 * A Standard Webhooks sender's media (../../archive/media.ts): the spec says nothing of files, so
 * nothing is archived until the source's `archive` names the event types, the JSON paths of the
 * links in the event's data and the hosts (e.g. Replicate: `{ eventTypes: ['prediction.succeeded'],
 * files: [{ kind: 'output', paths: ['output', 'output.0'] }], hosts: ['replicate.delivery'] }`).
 */
import type { MediaDeclaration } from '../../../functions/archive/media.js';

export const STANDARD_WEBHOOKS_MEDIA: MediaDeclaration = { eventTypes: [], files: [], hosts: [] };
