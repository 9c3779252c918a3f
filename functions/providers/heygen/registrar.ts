/**
 * Registrar core (pure; ports injected): makes sure exactly one HeyGen webhook endpoint points at
 * this relay's URL, subscribes to the configured events, and that we hold its signing secret.
 *
 * Branches:
 * - absent                       → create (deterministic Idempotency-Key) and store the secret;
 * - deleted behind our back      → re-create (the key includes the vanished endpoint id, so HeyGen
 *                                  does not replay the old create);
 * - present, other events        → PATCH events (full replace);
 * - present, no secret held      → rotate-secret (deterministic key per endpoint + stored state,
 *                                  so a crash-retry gets the same secret back) and store it;
 * - duplicates at our URL        → keep one (the one whose secret we hold, else the oldest),
 *                                  delete the others;
 * - no API key                   → one clear log line, outcome `missing_api_key`, no throw.
 */
import { createHash } from 'node:crypto';
import type { StoredSigningSecret } from '../../core/ports.js';
import type { SigningSecretStore } from '../../core/secret-store.js';
import type { HeyGenWebhookApi, WebhookEndpoint } from './api/client.js';
import { HeyGenAuthError, HeyGenConflictError, HeyGenNotFoundError } from './api/errors.js';

export interface DesiredEndpoint {
  /** The relay's public HTTPS URL that HeyGen must deliver to. */
  readonly url: string;
  /**
   * Event types to subscribe to; null = all events; undefined = leave an existing endpoint's
   * events as they are (a new endpoint then gets all events).
   */
  readonly events?: readonly string[] | null;
}

/** The subset of a structured logger the registrar uses (Powertools Logger fits). */
export interface RegistrarLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface RegistrarDeps {
  /** HeyGen client; null when no API key is configured yet. */
  readonly client: HeyGenWebhookApi | null;
  readonly secretStore: SigningSecretStore;
  readonly logger?: RegistrarLogger;
  /** Compute the plan, change nothing. */
  readonly dryRun?: boolean;
  /** Where the operator puts the API key (named in the missing-key message). */
  readonly apiKeySecretName?: string;
  /** Overrides the next-step advice of the missing/rejected-key messages (e.g. for the CLI). */
  readonly apiKeyHint?: string;
  readonly signal?: AbortSignal;
}

export type ActionStatus = 'planned' | 'done';

export type ReconcileAction =
  | {
      readonly type: 'create';
      readonly reason: 'absent' | 'deleted_behind_our_back';
      readonly url: string;
      readonly events: readonly string[] | null;
      readonly idempotencyKey: string;
      endpointId?: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'update';
      readonly endpointId: string;
      readonly from: readonly string[] | null;
      readonly to: readonly string[] | null;
      status: ActionStatus;
    }
  | {
      readonly type: 'rotate';
      readonly endpointId: string;
      readonly reason: 'no_secret_stored' | 'secret_for_other_endpoint';
      readonly idempotencyKey: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'delete';
      readonly endpointId: string;
      readonly reason: 'duplicate';
      status: ActionStatus;
    }
  | {
      readonly type: 'store_secret';
      readonly endpointId: string;
      readonly store: string;
      status: ActionStatus;
    };

export type ReconcileOutcome = 'in_sync' | 'changed' | 'planned' | 'missing_api_key' | 'unauthorized';

export interface ReconcileSummary {
  readonly outcome: ReconcileOutcome;
  readonly dryRun: boolean;
  readonly found: {
    /** Endpoints in the HeyGen account (null when HeyGen was not asked). */
    readonly total: number | null;
    /** Ids of the endpoints that point at our URL, before any change. */
    readonly matching: readonly string[];
    readonly storedEndpointId: string | null;
    readonly storedSecret: boolean;
  };
  readonly actions: readonly ReconcileAction[];
  /** The endpoint that now (or, in a dry run, would) deliver to us. */
  readonly endpointId: string | null;
  readonly warnings: readonly string[];
  /** Human-readable next step for `missing_api_key` / `unauthorized`. */
  readonly message?: string;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function canonicalEvents(events: readonly string[] | null | undefined): string[] | null {
  if (events === null || events === undefined) return null;
  return [...new Set(events)].sort();
}

function sameEvents(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  const ca = canonicalEvents(a);
  const cb = canonicalEvents(b);
  if (ca === null || cb === null) return ca === cb;
  return ca.length === cb.length && ca.every((e, i) => e === cb[i]);
}

export function normalizeUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/**
 * Idempotency-Key for creating our endpoint. Same desired state and same stored state give the
 * same key (a crash between HeyGen's answer and storing the secret replays the same endpoint and
 * secret); once an endpoint id is stored and later vanishes, the key changes, so the re-create is
 * not answered with the replay of the first create.
 */
export function createIdempotencyKey(desired: DesiredEndpoint, stored: StoredSigningSecret | null): string {
  const material = JSON.stringify({
    url: normalizeUrl(desired.url),
    events: canonicalEvents(desired.events),
    previous: stored?.endpointId ?? null,
  });
  return `hgr-create-${sha(material).slice(0, 48)}`;
}

/**
 * Idempotency-Key for the registrar's own rotate-secret (adopting an endpoint whose secret we do
 * not hold). Deterministic per endpoint + purpose + stored state: a crashed-and-retried run gets the
 * same secret back; after the store changed, a new key makes a new rotation.
 */
export function adoptIdempotencyKey(endpointId: string, stored: StoredSigningSecret | null): string {
  const material = JSON.stringify({
    purpose: 'registrar-adopt',
    endpointId,
    storedEndpointId: stored?.endpointId ?? null,
    storedSecret: stored?.secret ? sha(stored.secret) : null,
  });
  return `hgr-adopt-${sha(material).slice(0, 48)}`;
}

function pickKeeper(matching: readonly WebhookEndpoint[], stored: StoredSigningSecret | null): WebhookEndpoint | undefined {
  const ours = matching.find((e) => e.endpoint_id === stored?.endpointId);
  if (ours) return ours;
  return [...matching].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.endpoint_id.localeCompare(b.endpoint_id))[0];
}

export async function reconcile(desired: DesiredEndpoint, deps: RegistrarDeps): Promise<ReconcileSummary> {
  const dryRun = deps.dryRun === true;
  const log = deps.logger;
  const actions: ReconcileAction[] = [];
  const warnings: string[] = [];
  const stored = await deps.secretStore.get(deps.signal);
  const storedInfo = {
    storedEndpointId: stored?.endpointId ?? null,
    storedSecret: Boolean(stored?.secret),
  };
  const apiKeyWhere = deps.apiKeySecretName ?? 'the HeyGen API key secret';
  /** The summary of a run that stopped before reading HeyGen's endpoints (no key, or a refused key). */
  const stoppedEarly = (outcome: 'missing_api_key' | 'unauthorized', message: string): ReconcileSummary => ({
    outcome,
    dryRun,
    found: { total: null, matching: [], ...storedInfo },
    actions,
    endpointId: stored?.endpointId ?? null,
    warnings,
    message,
  });

  if (deps.client === null) {
    const message = `HeyGen API key is not set: ${deps.apiKeyHint ?? `put your key into ${apiKeyWhere} (SecretString = the key, or {"apiKey": "..."}). The registrar retries on its schedule.`}`;
    log?.warn(message, {
      outcome: 'missing_api_key',
      apiKeySecret: apiKeyWhere,
    });
    return stoppedEarly('missing_api_key', message);
  }
  const client = deps.client;
  const call = { signal: deps.signal };
  const target = normalizeUrl(desired.url);

  try {
    let endpoints = await client.listEndpoints(call);
    let matching = endpoints.filter((e) => normalizeUrl(e.url) === target);
    const matchingIds = matching.map((e) => e.endpoint_id);
    let keeper = pickKeeper(matching, stored);
    let secretSecured = false;

    if (!keeper) {
      const action: Extract<ReconcileAction, { type: 'create' }> = {
        type: 'create',
        reason: stored?.endpointId ? 'deleted_behind_our_back' : 'absent',
        url: desired.url,
        events: canonicalEvents(desired.events),
        idempotencyKey: createIdempotencyKey(desired, stored),
        status: 'planned',
      };
      actions.push(action);
      if (!dryRun) {
        try {
          let created = await client.createEndpoint(
            { url: desired.url, events: action.events },
            { ...call, idempotencyKey: action.idempotencyKey },
          );
          // HeyGen replays an answer for 24 h per key. If the endpoint of that answer is gone (deleted
          // after a crashed run), the replay is stale: create again under a key that names it.
          const relisted = await client.listEndpoints(call);
          if (!relisted.some((e) => e.endpoint_id === created.endpoint_id)) {
            warnings.push(`create replayed endpoint ${created.endpoint_id}, which no longer exists; created anew`);
            created = await client.createEndpoint(
              { url: desired.url, events: action.events },
              {
                ...call,
                idempotencyKey: createIdempotencyKey(desired, { secret: null, endpointId: created.endpoint_id }),
              },
            );
          }
          action.status = 'done';
          action.endpointId = created.endpoint_id;
          keeper = created;
          if (created.secret) {
            await storeSecret(created.endpoint_id, created.secret);
            secretSecured = true;
          } else {
            warnings.push('create answered without a secret; adopting via rotate-secret');
          }
        } catch (err) {
          // Someone (a concurrent run, a person) created it between our list and our create.
          if (!(err instanceof HeyGenConflictError) || err.code !== 'conflict') throw err;
          log?.warn('create hit 409 conflict; re-reading the endpoint list', {
            url: desired.url,
          });
          actions.pop();
          endpoints = await client.listEndpoints(call);
          matching = endpoints.filter((e) => normalizeUrl(e.url) === target);
          keeper = pickKeeper(matching, stored);
          if (!keeper) throw err;
        }
      } else {
        secretSecured = true; // a create would bring its secret along
      }
    }

    const createdNow = actions.some((a) => a.type === 'create' && a.status === 'done');
    if (keeper && !(createdNow && secretSecured)) {
      // The endpoint existed already: converge its events and make sure we hold its secret.
      {
        if (!createdNow && desired.events !== undefined && !sameEvents(keeper.events, desired.events)) {
          const action: ReconcileAction = {
            type: 'update',
            endpointId: keeper.endpoint_id,
            from: keeper.events ?? null,
            to: canonicalEvents(desired.events ?? null),
            status: 'planned',
          };
          actions.push(action);
          if (!dryRun) {
            await client.updateEndpoint(keeper.endpoint_id, { events: action.to }, call);
            action.status = 'done';
          }
        }
        if (keeper.status !== 'enabled') {
          warnings.push(
            `endpoint ${keeper.endpoint_id} is '${keeper.status}' at HeyGen; the v3 API documents no way to enable it`,
          );
        }
        const holdsSecret = Boolean(stored?.secret) && stored?.endpointId === keeper.endpoint_id;
        if (!holdsSecret && !secretSecured) {
          const action: ReconcileAction = {
            type: 'rotate',
            endpointId: keeper.endpoint_id,
            reason: stored?.secret && stored.endpointId ? 'secret_for_other_endpoint' : 'no_secret_stored',
            idempotencyKey: adoptIdempotencyKey(keeper.endpoint_id, stored),
            status: 'planned',
          };
          actions.push(action);
          if (!dryRun) {
            const rotated = await client.rotateSecret(keeper.endpoint_id, {
              ...call,
              idempotencyKey: action.idempotencyKey,
            });
            action.status = 'done';
            await storeSecret(keeper.endpoint_id, rotated.secret);
          }
        }
      }
    }

    // Duplicates: everything at our URL except the keeper.
    for (const extra of matching) {
      if (!keeper || extra.endpoint_id === keeper.endpoint_id) continue;
      const action: ReconcileAction = {
        type: 'delete',
        endpointId: extra.endpoint_id,
        reason: 'duplicate',
        status: 'planned',
      };
      actions.push(action);
      if (!dryRun) {
        try {
          await client.deleteEndpoint(extra.endpoint_id, call);
        } catch (err) {
          if (!(err instanceof HeyGenNotFoundError)) throw err; // already gone: fine
        }
        action.status = 'done';
      }
    }

    for (const w of warnings) log?.warn(w, { endpointId: keeper?.endpoint_id });
    const summary: ReconcileSummary = {
      outcome: actions.length === 0 ? 'in_sync' : dryRun ? 'planned' : 'changed',
      dryRun,
      found: { total: endpoints.length, matching: matchingIds, ...storedInfo },
      actions,
      endpointId: keeper?.endpoint_id ?? null,
      warnings,
    };
    return summary;
  } catch (err) {
    if (err instanceof HeyGenAuthError) {
      const message = `HeyGen rejected the API key (HTTP ${err.status}): ${deps.apiKeyHint ?? `put a valid key into ${apiKeyWhere}. The registrar retries on its schedule.`}`;
      log?.error(message, {
        outcome: 'unauthorized',
        apiKeySecret: apiKeyWhere,
        requestId: err.requestId,
      });
      return stoppedEarly('unauthorized', message);
    }
    throw err;
  }

  async function storeSecret(endpointId: string, secret: string): Promise<void> {
    const action: ReconcileAction = {
      type: 'store_secret',
      endpointId,
      store: deps.secretStore.name,
      status: 'planned',
    };
    actions.push(action);
    await deps.secretStore.put({ secret, endpointId, url: desired.url }, deps.signal);
    action.status = 'done';
  }
}
