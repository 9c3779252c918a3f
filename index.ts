/** Public API of heygen-relay: the construct for CDK apps, the envelope types and parser for consumers. */
export { HeyGenRelay, type HeyGenRelayProps, type HeyGenProviderProps, type RelayQueue } from './lib/heygen-relay.js';
export { HeyGenRelayStack, type HeyGenRelayStackProps } from './lib/relay-stack.js';
export { type QueueRoute, RelayConfigError } from './lib/config.js';
export {
  ENVELOPE_VERSION,
  parseRelayEvent,
  assertRelayEvent,
  type RelayEvent,
  type RelaySubject,
  RelayEventParseError,
} from './functions/core/envelope.js';
export { HEYGEN_EVENT_TYPES, type HeyGenEventType } from './functions/providers/heygen/events.js';
