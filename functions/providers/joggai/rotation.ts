/**
 * JoggAI secret rotation. JoggAI cannot change an endpoint's secret, so a rotation is an overlap:
 * 1. create a second endpoint for the same relay at a distinct URL (`…/joggai/r<n+1>`, a path the
 *    ingress routes to the same provider) and store its secret as *pending*: from here on the
 *    ingress accepts both secrets, and JoggAI delivers every event twice (dedup absorbs it: same
 *    signed body, same key);
 * 2. promote pending to current (the old secret stays accepted as previous for a grace period, for
 *    retries of deliveries the old endpoint already sent);
 * 3. delete the old endpoint.
 * Every step is safe to re-run after a crash: an existing endpoint at the target URL is adopted
 * instead of creating another; a pending value is resumed; a vanished old endpoint is fine.
 */
import type { JoggAiWebhookApi } from './api/client.js';
import { JOGGAI_ENDPOINT_LIMIT } from './api/client.js';
import { JoggAiApiError, JoggAiNotFoundError } from './api/errors.js';
import { desiredEvents, generationOf, issued, type JoggAiDesired, type JoggAiLogger, rotationUrl } from './registrar.js';
import type { JoggAiSecretStore } from './secret-store.js';

export interface JoggAiRotationDeps {
  readonly client: JoggAiWebhookApi;
  readonly store: JoggAiSecretStore;
  readonly logger?: JoggAiLogger;
  readonly signal?: AbortSignal;
  /**
   * Called after the pending secret is stored and before the old endpoint is deleted: time for
   * every ingress instance to accept the new secret and for JoggAI's retries of deliveries the old
   * endpoint already sent. @default no wait
   */
  readonly overlap?: () => Promise<void>;
}

export interface JoggAiRotationResult {
  readonly from: { endpointId: string; url: string };
  readonly to: { endpointId: string; url: string };
  readonly resumed: boolean;
  readonly adopted: boolean;
  readonly oldDeleted: boolean;
}

export class JoggAiRotationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JoggAiRotationError';
  }
}

export async function rotateJoggAi(desired: JoggAiDesired, deps: JoggAiRotationDeps): Promise<JoggAiRotationResult> {
  const { client, store, logger, signal } = deps;
  const state = await store.get(signal);
  const current = state.current;
  if (!current) throw new JoggAiRotationError('No JoggAI endpoint secret is stored: run the registrar first');
  let resumed = false;
  let adopted = false;
  let next = state.pending;

  if (next) {
    resumed = true;
    // Resume: the pending endpoint must still exist.
    const all = await client.listEndpoints(signal);
    const found = all.find((e) => e.endpoint_id === next?.endpointId);
    if (!found) next = null;
  }
  if (!next) {
    const generation = (generationOf(desired.url, current.url) ?? 0) + 1;
    const url = rotationUrl(desired.url, generation);
    const all = await client.listEndpoints(signal);
    const existing = all.find((e) => generationOf(desired.url, e.url) === generation && e.endpoint_id !== current.endpointId);
    if (existing) {
      adopted = true;
      next = issued(existing);
    } else {
      if (all.length >= JOGGAI_ENDPOINT_LIMIT)
        throw new JoggAiRotationError(
          `JoggAI allows ${JOGGAI_ENDPOINT_LIMIT} endpoints and the account has ${all.length}; a rotation needs one more`,
        );
      next = issued(await client.createEndpoint({ url, status: 'enabled', events: desiredEvents(desired) }, signal));
    }
    await store.putPending(next, signal);
    logger?.info('JoggAI rotation: second endpoint live, both secrets accepted', {
      from: current.endpointId,
      to: next.endpointId,
    });
  }

  await deps.overlap?.();
  await store.promotePending(signal);
  let oldDeleted = false;
  try {
    await client.deleteEndpoint(current.endpointId, signal);
    oldDeleted = true;
  } catch (err) {
    if (!(err instanceof JoggAiNotFoundError)) {
      // The new endpoint is current; the old one stays until the next reconcile deletes it as a duplicate.
      logger?.warn('JoggAI rotation: could not delete the old endpoint; the next reconcile will', {
        endpointId: current.endpointId,
        error: err instanceof JoggAiApiError ? err.code : String(err),
      });
    }
  }
  logger?.info('JoggAI rotation finished', { from: current.endpointId, to: next.endpointId, oldDeleted });
  return {
    from: { endpointId: current.endpointId, url: current.url },
    to: { endpointId: next.endpointId, url: next.url },
    resumed,
    adopted,
    oldDeleted,
  };
}
