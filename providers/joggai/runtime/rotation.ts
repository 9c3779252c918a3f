/**
 * JoggAI secret rotation. JoggAI cannot change an endpoint's secret, so a rotation is an overlap:
 * 1. create a second endpoint for the same relay at a distinct URL (`…/joggai/r<n+1>`, a path the
 *    ingress routes to the same provider) and store its secret as *pending*, recording what it
 *    replaces (the current version and endpoint): from here on the ingress accepts both secrets,
 *    and JoggAI delivers every event twice (dedup absorbs it: same signed body, same key);
 * 2. promote pending to current, compare-and-set on the version it replaces (the old secret stays
 *    accepted as previous for a grace period, for retries of deliveries the old endpoint already sent);
 * 3. delete the replaced endpoint.
 *
 * It runs under the one-writer lease (see run.ts), so no reconcile or other rotation changes the
 * store or the endpoints meanwhile; only a writer outside the lease (a person) can, and the version
 * checks catch that. Every step is safe to re-run after a crash:
 * - crashed before storing the pending value: the endpoint at the target URL is adopted (JoggAI
 *   lists its secret) instead of creating another;
 * - crashed after storing it: the pending value is resumed (re-created if its endpoint vanished);
 * - crashed inside or after the promotion (AWSCURRENT already on the new version, with or without
 *   AWSPENDING still on it): the promoted value names the endpoint it replaced, and the re-run only
 *   deletes that one, never the endpoint that is current;
 * - a pending value that no longer replaces the current version (someone stored a current value
 *   since) is stale: promoting it would put a secret over one we never meant to replace, so it is
 *   dropped (stale-pending.ts) and the rotation starts afresh from the current value; a promotion
 *   refused for that reason drops it the same way and fails the run.
 * Never deleted: the endpoint AWSCURRENT names.
 */
import { SecretVersionConflictError } from '../../../functions/core/secret-store.js';
import type { JoggAiEndpoint, JoggAiWebhookApi } from './api/client.js';
import { JOGGAI_ENDPOINT_LIMIT } from './api/client.js';
import { JoggAiApiError, JoggAiNotFoundError } from './api/errors.js';
import { desiredEvents, generationOf, issued, type JoggAiDesired, type JoggAiLogger, rotationUrl } from './registrar.js';
import type { JoggAiPendingValue, JoggAiSecretState, JoggAiSecretStore, JoggAiStoredValue } from './secret-store.js';
import { dropStalePending } from './stale-pending.js';

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
  /** A rotation a crashed run left behind was carried on (pending resumed, or promotion finished). */
  readonly resumed: boolean;
  readonly adopted: boolean;
  readonly oldDeleted: boolean;
  /** A stale pending rotation was dropped (and its endpoint deleted) before this one. */
  readonly droppedStale?: string;
}

export class JoggAiRotationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JoggAiRotationError';
  }
}

/** The account is at JoggAI's endpoint limit: a rotation needs one more endpoint. A person must free one. */
export class JoggAiRotationLimitError extends JoggAiRotationError {
  constructor(readonly count: number) {
    super(
      `JoggAI allows ${JOGGAI_ENDPOINT_LIMIT} webhook endpoints and the account has ${count}; a rotation needs one more: ` +
        'delete an endpoint that is not the relay\'s, then invoke the JoggAI registrar with {"action":"rotate"}.',
    );
    this.name = 'JoggAiRotationLimitError';
  }
}

/** Deletes `endpointId` unless it is gone already; true when it is gone afterwards. */
async function deleteEndpoint(deps: JoggAiRotationDeps, endpointId: string, what: string): Promise<boolean> {
  try {
    await deps.client.deleteEndpoint(endpointId, deps.signal);
    return true;
  } catch (err) {
    if (err instanceof JoggAiNotFoundError) return true;
    // The current endpoint delivers; the leftover goes on the next reconcile (a duplicate of ours).
    deps.logger?.warn(`JoggAI rotation: could not delete the ${what} endpoint; the next reconcile will`, {
      endpointId,
      error: err instanceof JoggAiApiError ? err.code : String(err),
    });
    return false;
  }
}

/**
 * The three steps, each safe to re-run: (0) finish a promotion a dead run left, else (1) resume or
 * start the pending endpoint, (2) promote it after the overlap, (3) delete the endpoint it replaced.
 */
export async function rotateJoggAi(desired: JoggAiDesired, deps: JoggAiRotationDeps): Promise<JoggAiRotationResult> {
  const { client, store, logger, signal } = deps;
  let state = await store.get(signal);
  const current = state.current;
  const base = state.version;
  if (!current || base === null) throw new JoggAiRotationError('No JoggAI endpoint secret is stored: run the registrar first');
  const all = await client.listEndpoints(signal);
  const listed = (id: string | undefined) => (id === undefined ? undefined : all.find((e) => e.endpoint_id === id));

  const stale = await dropStalePending(state, deps);
  if (stale) state = { ...state, pending: null };
  const droppedStale = stale ? { droppedStale: stale.dropped } : {};

  // A promotion that finished (AWSCURRENT moved, maybe AWSPENDING still on it) before its run died:
  // the endpoint it replaced is still there. Finish that rotation; do not start another.
  const replaced = listed(current.replacesEndpointId);
  if (!state.pending && replaced && replaced.endpoint_id !== current.endpointId) {
    return { ...(await finishPromoted(deps, replaced, current)), ...droppedStale };
  }

  const { pending, resumed, adopted } = await pendingRotation(desired, deps, { ...state, current, version: base }, all);
  await deps.overlap?.();
  await promote(deps, pending);
  const oldId = pending.value.replacesEndpointId;
  const oldDeleted = oldId === pending.value.endpointId ? false : await deleteEndpoint(deps, oldId, 'old');
  logger?.info('JoggAI rotation finished', { from: oldId, to: pending.value.endpointId, oldDeleted });
  return {
    from: { endpointId: oldId, url: listed(oldId)?.url ?? current.url },
    to: { endpointId: pending.value.endpointId, url: pending.value.url },
    resumed,
    adopted,
    oldDeleted,
    ...droppedStale,
  };
}

/** Step (0): the promotion is done; only the endpoint it replaced is left to delete. */
async function finishPromoted(
  deps: JoggAiRotationDeps,
  replaced: JoggAiEndpoint,
  current: { endpointId: string; url: string },
): Promise<JoggAiRotationResult> {
  const oldDeleted = await deleteEndpoint(deps, replaced.endpoint_id, 'replaced');
  deps.logger?.info('JoggAI rotation finished (resumed after the promotion)', {
    from: replaced.endpoint_id,
    to: current.endpointId,
    oldDeleted,
  });
  return {
    from: { endpointId: replaced.endpoint_id, url: replaced.url },
    to: { endpointId: current.endpointId, url: current.url },
    resumed: true,
    adopted: false,
    oldDeleted,
  };
}

/**
 * Step (1): the pending value to promote: the stored one when its endpoint is listed (resumed);
 * else the endpoint at the next generation's URL (adopted if a dead run made it, else created,
 * within JoggAI's endpoint limit), stored as pending with what it replaces.
 */
async function pendingRotation(
  desired: JoggAiDesired,
  deps: JoggAiRotationDeps,
  state: JoggAiSecretState & { readonly current: JoggAiStoredValue; readonly version: string },
  all: readonly JoggAiEndpoint[],
): Promise<{ pending: { version: string; value: JoggAiPendingValue }; resumed: boolean; adopted: boolean }> {
  const { client, store, signal } = deps;
  const current = state.current;
  const stored = state.pending?.value;
  if (state.pending && stored && all.some((e) => e.endpoint_id === stored.endpointId)) {
    return { pending: { version: state.pending.version, value: stored }, resumed: true, adopted: false };
  }
  // A pending whose endpoint vanished is replaced here (putPending moves AWSPENDING).
  const generation = (generationOf(desired.url, current.url) ?? 0) + 1;
  const existing = all.find((e) => generationOf(desired.url, e.url) === generation && e.endpoint_id !== current.endpointId);
  if (!existing && all.length >= JOGGAI_ENDPOINT_LIMIT) throw new JoggAiRotationLimitError(all.length);
  const next =
    existing ??
    (await client.createEndpoint(
      { url: rotationUrl(desired.url, generation), status: 'enabled', events: desiredEvents(desired) },
      signal,
    ));
  const value: JoggAiPendingValue = { ...issued(next), replaces: state.version, replacesEndpointId: current.endpointId };
  const pending = { version: await store.putPending(value, signal), value };
  deps.logger?.info('JoggAI rotation: second endpoint live, both secrets accepted', {
    from: current.endpointId,
    to: next.endpoint_id,
  });
  return { pending, resumed: state.pending !== null, adopted: existing !== undefined };
}

/**
 * Step (2): promote compare-and-set. Someone stored a current value during the overlap (outside the
 * lease): the pending value no longer replaces what is current, so it and its endpoint are dropped,
 * and the run fails (the next one rotates afresh).
 */
async function promote(deps: JoggAiRotationDeps, pending: { version: string; value: JoggAiPendingValue }): Promise<void> {
  try {
    await deps.store.promotePending(pending, deps.signal);
  } catch (err) {
    if (!(err instanceof SecretVersionConflictError)) throw err;
    await dropStalePending(await deps.store.get(deps.signal), deps);
    throw new JoggAiRotationError(
      'the JoggAI signing secret was changed outside the registrar during the rotation; its pending secret was dropped (the next reconcile deletes or adopts its endpoint); rotate again',
      { cause: err },
    );
  }
}
