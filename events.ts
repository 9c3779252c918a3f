/**
 * `heygen-relay/events`: what a consumer of the relay's queues or bus needs, and nothing else: the
 * envelope's types and parser, its JSON Schema, and the providers' event type lists. It imports
 * neither aws-cdk-lib nor the AWS SDK, so a consumer Lambda that uses it bundles to a few KB
 * (test/package/install.test.ts measures it).
 *
 * ```ts
 * import { parseRelayEvent } from 'heygen-relay/events';
 * ```
 */
import relayEventSchema from './schemas/relay-event.schema.json';

// Types only (no bytes in a consumer's bundle): the media archive's outcome events.
export type {
  ArchivedData,
  ArchivedEvent,
  ArchivedFile,
  ArchiveFailedData,
  ArchiveFailedEvent,
  FileFailure,
} from './functions/archive/outcome-types.js';
export {
  assertRelayEvent,
  ENVELOPE_VERSION,
  parseRelayEvent,
  type RelayEvent,
  RelayEventParseError,
  type RelaySubject,
} from './functions/core/envelope.js';
export { HEYGEN_EVENT_TYPES, type HeyGenEventType } from './providers/heygen/runtime/events.js';
export { JOGGAI_EVENT_TYPES, type JoggAiEventType } from './providers/joggai/runtime/events.js';

/** The envelope's JSON Schema (draft 2020-12), also at `heygen-relay/relay-event.schema.json`. */
export const RELAY_EVENT_SCHEMA: Readonly<Record<string, unknown>> = relayEventSchema;
