/** Public API of heygen-relay: the construct for CDK apps, the envelope types and parser for consumers. */

// The consumer's kit (`heygen-relay/events`): the envelope's types, parser and JSON Schema, the event type lists.
export * from './events.js';
export type { MediaFileSpec } from './functions/archive/media.js';
export * from './functions/archive/outcome-types.js';
export type { RelayOrigin } from './functions/core/envelope.js';
export type { DedupMode } from './functions/core/ports.js';
export {
  type ArchiveSourceOptions,
  type MediaArchiveProps,
  RelayMediaArchive,
  type RelayMediaArchiveProps,
} from './lib/archive.js';
export { type QueueRoute, RelayConfigError } from './lib/config.js';
export {
  type HeyGenProviderProps,
  HeyGenRelay,
  type HeyGenRelayProps,
  type JoggAiProviderProps,
  type RegistrationProps,
  type RelayQueue,
} from './lib/heygen-relay.js';
export { HeyGenRelayStack, type HeyGenRelayStackProps } from './lib/relay-stack.js';
export {
  type BoundSource,
  type IRelaySource,
  type RelayCore,
  RelaySource,
  type SourceProps,
  type SourceRoute,
} from './lib/source.js';
export { TempRouteSweeper, type TempRouteSweeperProps } from './lib/temp-route-sweeper.js';
// Every source the package ships (providers/infra.ts lists them).
export * from './providers/infra.js';
// The media archive (opt-in `archive` prop): its props, construct and outcome events.
export { default as ARCHIVE_EVENT_DATA_SCHEMA } from './schemas/archive-event.schema.json';
