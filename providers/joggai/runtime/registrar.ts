/**
 * JoggAI registrar core (pure; ports injected): exactly one JoggAI endpoint of ours is enabled,
 * delivers to this relay and subscribes to the configured events, and we hold its secret.
 *
 * "Ours" is the relay URL (`https://…/joggai`) or a rotation URL under it (`…/joggai/r<n>`).
 * Branches:
 * - no API key                   → outcome `missing_api_key`, one log line naming the secret, no call;
 * - key rejected (10105/18025)   → outcome `unauthorized`;
 * - none of ours                 → create `{url, status: enabled, events}` (the stored URL if any,
 *                                  else the relay URL) and store its secret; at JoggAI's limit of
 *                                  20 endpoints → outcome `limit_reached`, nothing created;
 * - ours, secret not stored      → adopt it (JoggAI lists the secret) and store it;
 * - ours, wrong events/disabled  → PUT the full endpoint (JoggAI's update is a full replace);
 * - several of ours              → keep the stored one (else the newest), delete the others, except
 *                                  the pending endpoint of a rotation in progress;
 * - stored endpoint deleted behind our back → keep a rotation's pending endpoint if one is live,
 *                                  else re-create at the stored URL;
 * - a stale pending rotation (it replaces a version that is no longer current) → dropped; its
 *                                  endpoint is then kept or deleted like any other of ours.
 * Every store is compare-and-set on the version read (a write by someone else since fails the run;
 * the next run re-reads). It runs under the one-writer lease (run.ts), so no rotation interleaves.
 */
import type { IssuedSigningSecret } from '../../../functions/core/secret-store.js';
import type { JoggAiEndpoint, JoggAiWebhookApi } from './api/client.js';
import { JOGGAI_ENDPOINT_LIMIT } from './api/client.js';
import { JoggAiAuthError, JoggAiNotFoundError } from './api/errors.js';
import { JOGGAI_EVENT_TYPES } from './events.js';
import type { JoggAiSecretStore } from './secret-store.js';
import { dropStalePending } from './stale-pending.js';

export interface JoggAiDesired {
  /** The relay's JoggAI route URL, e.g. `https://abc.lambda-url.us-east-1.on.aws/joggai`. */
  readonly url: string;
  /** Event types to subscribe to. @default all 22 */
  readonly events?: readonly string[];
}

export interface JoggAiLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface JoggAiRegistrarDeps {
  /** null when no API key is configured yet. */
  readonly client: JoggAiWebhookApi | null;
  readonly store: JoggAiSecretStore;
  readonly logger?: JoggAiLogger;
  readonly signal?: AbortSignal;
  /** Where the API key goes (the secret's ARN or name), named in the missing-key log line. */
  readonly apiKeySecretName?: string;
}

export type JoggAiAction =
  | {
      readonly type: 'create';
      readonly url: string;
      readonly endpointId: string;
      readonly reason: 'absent' | 'deleted_behind_our_back';
    }
  | { readonly type: 'adopt'; readonly endpointId: string }
  | { readonly type: 'update'; readonly endpointId: string }
  | { readonly type: 'delete'; readonly endpointId: string; readonly reason: 'duplicate' }
  | { readonly type: 'drop_pending'; readonly endpointId: string; readonly reason: 'stale_rotation' };

export type JoggAiOutcome = 'in_sync' | 'changed' | 'missing_api_key' | 'unauthorized' | 'limit_reached';

export interface JoggAiReconcileSummary {
  readonly outcome: JoggAiOutcome;
  readonly actions: readonly JoggAiAction[];
  readonly endpointId: string | null;
  readonly message?: string;
}

const ROTATION_SUFFIX = /^\/r(\d{1,6})$/;

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The rotation generation of one of our URLs: the relay URL is 0, `…/r<n>` is n; null if not ours. */
export function generationOf(baseUrl: string, url: string): number | null {
  const base = trimSlash(baseUrl);
  const u = trimSlash(url);
  if (u === base) return 0;
  if (!u.startsWith(`${base}/`)) return null;
  const m = ROTATION_SUFFIX.exec(u.slice(base.length));
  return m ? Number(m[1]) : null;
}

export function rotationUrl(baseUrl: string, generation: number): string {
  return generation === 0 ? trimSlash(baseUrl) : `${trimSlash(baseUrl)}/r${generation}`;
}

export function desiredEvents(desired: JoggAiDesired): string[] {
  return [...new Set(desired.events ?? JOGGAI_EVENT_TYPES)].sort();
}

function sameEvents(a: readonly string[], b: readonly string[]): boolean {
  const sa = [...new Set(a)].sort();
  const sb = [...new Set(b)].sort();
  return sa.length === sb.length && sa.every((e, i) => e === sb[i]);
}

export function issued(e: JoggAiEndpoint): IssuedSigningSecret {
  return { secret: e.secret, endpointId: e.endpoint_id, url: e.url };
}

function missingKeyMessage(secretName: string | undefined): string {
  const where = secretName ? `the secret ${secretName}` : 'the API-key secret';
  return `JoggAI API key is not set: put it into ${where} (SecretString {"apiKey":"..."} or the key); the registrar retries on its schedule.`;
}

export async function reconcileJoggAi(desired: JoggAiDesired, deps: JoggAiRegistrarDeps): Promise<JoggAiReconcileSummary> {
  const { client, store, logger, signal } = deps;
  if (!client) {
    const message = missingKeyMessage(deps.apiKeySecretName);
    logger?.warn(message, {
      outcome: 'missing_api_key',
      ...(deps.apiKeySecretName ? { apiKeySecret: deps.apiKeySecretName } : {}),
    });
    return { outcome: 'missing_api_key', actions: [], endpointId: null, message };
  }
  try {
    return await reconcile(desired, client, store, logger, signal);
  } catch (err) {
    if (err instanceof JoggAiAuthError) {
      const message = `JoggAI rejected the API key (code ${err.code}); replace it in the API-key secret.`;
      logger?.warn(message);
      return { outcome: 'unauthorized', actions: [], endpointId: null, message };
    }
    throw err;
  }
}

async function reconcile(
  desired: JoggAiDesired,
  client: JoggAiWebhookApi,
  store: JoggAiSecretStore,
  logger: JoggAiLogger | undefined,
  signal: AbortSignal | undefined,
): Promise<JoggAiReconcileSummary> {
  const events = desiredEvents(desired);
  const actions: JoggAiAction[] = [];
  let state = await store.get(signal);
  const all = await client.listEndpoints(signal);
  const ours = all.filter((e) => generationOf(desired.url, e.url) !== null);

  // A pending rotation that no longer replaces the current version is stale (see rotation.ts).
  const stale = await dropStalePending(state, { store, ...(signal ? { signal } : {}), ...(logger ? { logger } : {}) });
  if (stale) {
    actions.push({ type: 'drop_pending', endpointId: stale.dropped, reason: 'stale_rotation' });
    state = { ...state, pending: null };
  }
  // A valid pending rotation's endpoint is left alone: the rotation resumes it.
  let pendingId = state.pending?.value?.endpointId ?? null;
  const candidates = ours.filter((e) => e.endpoint_id !== pendingId);

  let keeper =
    candidates.find((e) => e.endpoint_id === state.current?.endpointId) ??
    [...candidates].sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0))[0] ??
    // The current endpoint vanished mid-rotation: the pending one is live and ours; keep it
    // rather than creating a third.
    ours.find((e) => e.endpoint_id === pendingId);

  if (!keeper) {
    const storedUrl = state.current?.url && generationOf(desired.url, state.current.url) !== null ? state.current.url : null;
    const url = storedUrl ?? rotationUrl(desired.url, 0);
    if (all.length >= JOGGAI_ENDPOINT_LIMIT) {
      const message = `JoggAI allows ${JOGGAI_ENDPOINT_LIMIT} webhook endpoints and the account has ${all.length}; delete one so the relay can register ${url}.`;
      logger?.warn(message);
      return { outcome: 'limit_reached', actions, endpointId: null, message };
    }
    keeper = await client.createEndpoint({ url, status: 'enabled', events }, signal);
    actions.push({
      type: 'create',
      url,
      endpointId: keeper.endpoint_id,
      reason: state.current?.endpointId ? 'deleted_behind_our_back' : 'absent',
    });
    await store.putCurrent(issued(keeper), state.version, signal);
    pendingId = null; // putCurrent supersedes (drops) a pending rotation: its endpoint is a duplicate now
  } else {
    if (keeper.status !== 'enabled' || !sameEvents(keeper.events, events)) {
      keeper = {
        ...keeper,
        ...(await client.updateEndpoint(keeper.endpoint_id, { url: keeper.url, status: 'enabled', events }, signal)),
      };
      actions.push({ type: 'update', endpointId: keeper.endpoint_id });
    }
    const stored = state.current;
    if (!stored || stored.endpointId !== keeper.endpoint_id || stored.secret !== keeper.secret || stored.url !== keeper.url) {
      // Compare-and-set on the version read: a person's write since makes this fail (the run
      // fails, the next one re-reads), never overwritten blindly.
      await store.putCurrent(issued(keeper), state.version, signal);
      actions.push({ type: 'adopt', endpointId: keeper.endpoint_id });
      pendingId = null;
    }
  }

  for (const e of ours) {
    if (e.endpoint_id === keeper.endpoint_id || e.endpoint_id === pendingId) continue;
    try {
      await client.deleteEndpoint(e.endpoint_id, signal);
    } catch (err) {
      if (!(err instanceof JoggAiNotFoundError)) throw err;
    }
    actions.push({ type: 'delete', endpointId: e.endpoint_id, reason: 'duplicate' });
  }
  // No log line here: the Lambda entry logs one summary per run.
  return { outcome: actions.length === 0 ? 'in_sync' : 'changed', actions, endpointId: keeper.endpoint_id };
}
