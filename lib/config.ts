/**
 * Typed configuration of the relay and its synth-time validation. Everything here is plain data
 * so the integration tests can derive the emulator's resources from the same definitions.
 */
import { PROVIDERS } from '../providers/runtime.js';

/**
 * Event types each provider can deliver (each plug-in's exported list); queue routes are
 * validated against these at synth.
 */
export const KNOWN_EVENT_TYPES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.values(PROVIDERS).map((p) => [p.name, p.eventTypes ?? []]),
);

/** A queue fed by a rule on the relay bus. */
export interface QueueRoute {
  /** Queue name suffix; letters, digits, `-` and `_`, unique within the relay. */
  readonly name: string;
  /** Only these event types (the bus `detail-type`). @default every event type */
  readonly eventTypes?: readonly string[];
  /** Only these providers (the bus `source`). @default every enabled provider */
  readonly providers?: readonly string[];
  /**
   * Only these sources (the envelope's `source`: a source's id), to tell accounts of one provider
   * apart, e.g. `['heygen-staging']`. @default every source
   */
  readonly sources?: readonly string[];
  /** Receives before a message moves to the queue's dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export class RelayConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayConfigError';
  }
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,40}$/;

/** Throws a RelayConfigError naming the faulty route and the allowed values. */
export function validateQueueRoutes(
  routes: readonly QueueRoute[],
  enabledProviders: readonly string[],
  sourceIds: readonly string[] = enabledProviders,
): void {
  const seen = new Set<string>();
  for (const route of routes) {
    if (!QUEUE_NAME.test(route.name))
      throw new RelayConfigError(`Queue name "${route.name}" must be 1-40 letters, digits, "-" or "_"`);
    if (seen.has(route.name)) throw new RelayConfigError(`Queue name "${route.name}" is used twice`);
    seen.add(route.name);
    const providers = route.providers ?? enabledProviders;
    for (const p of providers)
      if (!enabledProviders.includes(p))
        throw new RelayConfigError(
          `Queue "${route.name}" routes provider "${p}", which is not enabled (enabled: ${enabledProviders.join(', ')})`,
        );
    for (const id of route.sources ?? [])
      if (!sourceIds.includes(id))
        throw new RelayConfigError(
          `Queue "${route.name}" routes source "${id}", which is not one of the relay's (${sourceIds.join(', ')})`,
        );
    if (route.sources?.length === 0)
      throw new RelayConfigError(`Queue "${route.name}" has an empty sources list; omit it for all sources`);
    if (route.eventTypes !== undefined) {
      if (route.eventTypes.length === 0)
        throw new RelayConfigError(`Queue "${route.name}" has an empty eventTypes list; omit it for all events`);
      const known = new Set(providers.flatMap((p) => KNOWN_EVENT_TYPES[p] ?? []));
      // A provider without a list of event types (e.g. Standard Webhooks senders) may send any.
      const open = providers.some((p) => (KNOWN_EVENT_TYPES[p] ?? []).length === 0);
      // The media archive's outcomes (`<type>.archived`, `<type>.archive_failed`) of a known type are known.
      for (const t of route.eventTypes)
        if (!open && !known.has(t) && !known.has(t.replace(/\.(archived|archive_failed)$/, '')))
          throw new RelayConfigError(
            `Queue "${route.name}" routes unknown event type "${t}" (providers ${providers.join(', ')} send: ${[...known].join(', ')})`,
          );
    }
    if (
      route.maxReceiveCount !== undefined &&
      (!Number.isInteger(route.maxReceiveCount) || route.maxReceiveCount < 1 || route.maxReceiveCount > 1000)
    )
      throw new RelayConfigError(`Queue "${route.name}": maxReceiveCount must be an integer from 1 to 1000`);
  }
}

/** The EventBridge pattern of a queue's rule. */
export function queueEventPattern(
  route: QueueRoute,
  enabledProviders: readonly string[],
): { source: string[]; 'detail-type'?: string[]; detail?: { source: string[] } } {
  return {
    source: [...(route.providers ?? enabledProviders)],
    ...(route.eventTypes ? { 'detail-type': [...route.eventTypes] } : {}),
    ...(route.sources ? { detail: { source: [...route.sources] } } : {}),
  };
}

/** The initial value of a signing-secret secret: valid JSON meaning "no secret yet" (the ingress answers 503). */
export const EMPTY_SIGNING_SECRET = JSON.stringify({ secret: null });
/** The initial value of the API-key secret: "no key yet" (the registrar logs what to fill and waits). */
export const EMPTY_API_KEY = JSON.stringify({ apiKey: null });
