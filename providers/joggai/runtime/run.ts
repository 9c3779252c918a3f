/**
 * One JoggAI registrar run, as its Lambda entry (providers/joggai/runtime/entries/registrar.ts) performs it:
 * reconcile always (schedule, after deploy, `{}`), then rotate by overlap when asked
 * (`{"action":"rotate"}`, the rotation schedule) and the endpoint is in a state to rotate.
 * Pure: the client, store, lease, logger and overlap wait are injected; the entry logs one summary
 * line and emits the `RegistrarRuns` metric with the summary's outcome.
 *
 * One writer at a time: the whole run (reconcile and rotation, including the rotation's overlap
 * wait) holds the JoggAI secret's lease (core/lease.ts). A run that finds it busy waits up to
 * LEASE_WAIT_MS and then reports `busy`, changing nothing.
 *
 * Outcomes (the `Outcome` dimension of `RegistrarRuns`):
 * - `in_sync`, `changed`, `rotated`: done;
 * - `missing_api_key`: no key yet (after a fresh deploy); nothing called;
 * - `unauthorized`: JoggAI refused the key, a person must replace it (alarm);
 * - `limit_reached`: the account holds JoggAI's 20 endpoints, so the relay's endpoint could not be
 *   created, or a rotation could not create its second endpoint; a person must delete one (alarm);
 * - `busy`: another writer holds the lease;
 * - `failed`: the run threw (counted by the entry; the scheduler retries).
 */
import { randomUUID } from 'node:crypto';
import { LeaseBusyError, type LeaseStore, MemoryLeaseStore, withLease } from '../../../functions/core/lease.js';
import { SecretVersionConflictError } from '../../../functions/core/secret-store.js';
import type { JoggAiWebhookApi } from './api/client.js';
import {
  type JoggAiDesired,
  type JoggAiLogger,
  type JoggAiOutcome,
  type JoggAiReconcileSummary,
  reconcileJoggAi,
} from './registrar.js';
import { JoggAiRotationLimitError, type JoggAiRotationResult, rotateJoggAi } from './rotation.js';
import type { JoggAiSecretStore } from './secret-store.js';

/**
 * How long the lease is held if its holder dies without letting go. Longer than the JoggAI
 * registrar Lambda's timeout (2 min), so a live run never outlives its lease: the entry stops its
 * work 5 s before the timeout, and the overlap wait (ROTATION_OVERLAP_SECONDS, at most 60 s) plus a
 * lease wait (LEASE_WAIT_MS) plus the API calls fit in it.
 */
export const LEASE_TTL_MS = 240_000;
/** How long a run waits for a busy lease before reporting `busy`. */
export const LEASE_WAIT_MS = 20_000;

export type JoggAiRunAction = 'reconcile' | 'rotate';

/** `failed` is never returned: a run that throws is counted as `failed` by the entry. */
export type JoggAiRunOutcome = JoggAiOutcome | 'rotated' | 'busy' | 'failed';

/** Every outcome the entry emits as `RegistrarRuns{Outcome}`; those a person must act on alarm. */
export const JOGGAI_RUN_OUTCOMES = [
  'in_sync',
  'changed',
  'rotated',
  'missing_api_key',
  'unauthorized',
  'limit_reached',
  'busy',
  'failed',
] as const satisfies readonly JoggAiRunOutcome[];

export interface JoggAiRunSummary {
  readonly action: JoggAiRunAction;
  readonly outcome: JoggAiRunOutcome;
  /** The endpoint that delivers to us after the run (the new one after a rotation). */
  readonly endpointId: string | null;
  /** null when the run stopped before reconciling (`busy`). */
  readonly reconcile: Pick<JoggAiReconcileSummary, 'outcome' | 'actions' | 'endpointId'> | null;
  readonly rotation?: JoggAiRotationResult;
  /** Next step for `missing_api_key` / `unauthorized` / `limit_reached` / `busy`, or why a rotation was skipped. */
  readonly message?: string;
}

/** Where the one-writer lease of the JoggAI signing secret lives. */
export interface JoggAiRunLease {
  readonly store: LeaseStore;
  /** One per signing secret (the entry's LEASE_NAME). */
  readonly name: string;
  /** This run's identity. @default a random UUID */
  readonly owner?: string;
  /** @default LEASE_TTL_MS */
  readonly ttlMs?: number;
  /** @default LEASE_WAIT_MS */
  readonly waitMs?: number;
}

export interface JoggAiRunDeps {
  /** null when no API key is configured yet. */
  readonly client: JoggAiWebhookApi | null;
  readonly store: JoggAiSecretStore;
  readonly logger?: JoggAiLogger;
  readonly signal?: AbortSignal;
  /** Named in the missing-key log line (the secret's ARN). */
  readonly apiKeySecretName?: string;
  /** The overlap wait of a rotation (see JoggAiRotationDeps.overlap). */
  readonly overlap?: () => Promise<void>;
  /** The one-writer lease. @default an in-process lease named after the store (excludes writers in this process only) */
  readonly lease?: JoggAiRunLease;
}

/** The lease used when none is injected (tests, one-off scripts). */
const processLeases = new MemoryLeaseStore();

export class JoggAiUnknownActionError extends Error {
  constructor(action: unknown) {
    super(`joggai registrar: unknown action ${JSON.stringify(action)}; expected "reconcile" or "rotate"`);
    this.name = 'JoggAiUnknownActionError';
  }
}

/**
 * The action of an invocation payload: `{"action":"rotate"}` rotates; no `action` (a schedule's
 * event, the after-deploy trigger, `{}`) or `"reconcile"` reconciles; anything else is an error.
 */
export function parseJoggAiAction(event: unknown): JoggAiRunAction {
  const action = typeof event === 'object' && event !== null ? (event as { action?: unknown }).action : undefined;
  if (action === undefined || action === null || action === 'reconcile') return 'reconcile';
  if (action === 'rotate') return 'rotate';
  throw new JoggAiUnknownActionError(action);
}

export async function runJoggAiRegistrar(
  action: JoggAiRunAction,
  desired: JoggAiDesired,
  deps: JoggAiRunDeps,
): Promise<JoggAiRunSummary> {
  if (!deps.client) return run(action, desired, deps); // missing_api_key: nothing to write, no lease needed
  const lease = deps.lease ?? { store: processLeases, name: `joggai:${deps.store.name}` };
  try {
    return await withLease(
      lease.store,
      lease.name,
      {
        owner: lease.owner ?? `joggai-registrar-${randomUUID()}`,
        ttlMs: lease.ttlMs ?? LEASE_TTL_MS,
        waitMs: lease.waitMs ?? LEASE_WAIT_MS,
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
      () => run(action, desired, deps),
    );
  } catch (err) {
    if (!(err instanceof LeaseBusyError)) throw err;
    deps.logger?.warn('JoggAI registrar: another writer holds the lease; this run changes nothing', {
      outcome: 'busy',
      holder: err.holder,
    });
    return { action, outcome: 'busy', endpointId: null, reconcile: null, message: err.message };
  }
}

/** Reconcile, with a fresh read when a write outside the lease (a person's) raced it: at most 3 tries. */
async function reconcileFresh(desired: JoggAiDesired, deps: JoggAiRunDeps): Promise<JoggAiReconcileSummary> {
  const { client, store, logger, signal } = deps;
  for (let attempt = 1; ; attempt++) {
    try {
      return await reconcileJoggAi(desired, {
        client,
        store,
        ...(logger ? { logger } : {}),
        ...(signal ? { signal } : {}),
        ...(deps.apiKeySecretName ? { apiKeySecretName: deps.apiKeySecretName } : {}),
      });
    } catch (err) {
      if (!(err instanceof SecretVersionConflictError) || attempt >= 3) throw err;
      logger?.warn('JoggAI registrar: the signing secret changed outside the lease during the run; re-reading', { attempt });
    }
  }
}

async function run(action: JoggAiRunAction, desired: JoggAiDesired, deps: JoggAiRunDeps): Promise<JoggAiRunSummary> {
  const { client, store, logger, signal } = deps;
  const reconciled = await reconcileFresh(desired, deps);
  const reconcile = { outcome: reconciled.outcome, actions: reconciled.actions, endpointId: reconciled.endpointId };
  const base = {
    action,
    outcome: reconciled.outcome,
    endpointId: reconciled.endpointId,
    reconcile,
    ...(reconciled.message ? { message: reconciled.message } : {}),
  } satisfies JoggAiRunSummary;
  if (action !== 'rotate') return base;
  if (!client || reconciled.endpointId === null) {
    // missing_api_key / unauthorized / limit_reached: nothing to rotate. The outcome says why (and
    // alarms for the last two); the reason is in `message`.
    return { ...base, message: `rotation skipped: ${reconciled.message ?? reconciled.outcome}` };
  }
  try {
    const rotation = await rotateJoggAi(desired, {
      client,
      store,
      ...(logger ? { logger } : {}),
      ...(signal ? { signal } : {}),
      ...(deps.overlap ? { overlap: deps.overlap } : {}),
    });
    return { ...base, outcome: 'rotated', endpointId: rotation.to.endpointId, rotation };
  } catch (err) {
    if (!(err instanceof JoggAiRotationLimitError)) throw err;
    // Nothing was created or stored; the current endpoint keeps delivering. A person must free a slot.
    logger?.warn(err.message, { outcome: 'limit_reached' });
    return { ...base, outcome: 'limit_reached', message: `rotation not done: ${err.message}` };
  }
}
