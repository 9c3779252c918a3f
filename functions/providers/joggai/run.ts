/**
 * One JoggAI registrar run, as its Lambda entry (functions/joggai-registrar.ts) performs it:
 * reconcile always (schedule, after deploy, `{}`), then rotate by overlap when asked
 * (`{"action":"rotate"}`, the rotation schedule) and the endpoint is in a state to rotate.
 * Pure: the client, store, logger and overlap wait are injected; the entry logs one summary line
 * and emits the `RegistrarRuns` metric from the returned summary.
 */
import type { JoggAiWebhookApi } from './api/client.js';
import {
  type JoggAiDesired,
  type JoggAiLogger,
  type JoggAiOutcome,
  type JoggAiReconcileSummary,
  reconcileJoggAi,
} from './registrar.js';
import { type JoggAiRotationResult, rotateJoggAi } from './rotation.js';
import type { JoggAiSecretStore } from './secret-store.js';

export type JoggAiRunAction = 'reconcile' | 'rotate';

/** `failed` is never returned: a run that throws is counted as `failed` by the entry. */
export type JoggAiRunOutcome = JoggAiOutcome | 'rotated' | 'failed';

export interface JoggAiRunSummary {
  readonly action: JoggAiRunAction;
  readonly outcome: JoggAiRunOutcome;
  /** The endpoint that delivers to us after the run (the new one after a rotation). */
  readonly endpointId: string | null;
  readonly reconcile: Pick<JoggAiReconcileSummary, 'outcome' | 'actions' | 'endpointId'>;
  readonly rotation?: JoggAiRotationResult;
  /** Next step for `missing_api_key` / `unauthorized` / `limit_reached`, or why a rotation was skipped. */
  readonly message?: string;
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
}

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
  const { client, store, logger, signal } = deps;
  const reconciled = await reconcileJoggAi(desired, {
    client,
    store,
    ...(logger ? { logger } : {}),
    ...(signal ? { signal } : {}),
    ...(deps.apiKeySecretName ? { apiKeySecretName: deps.apiKeySecretName } : {}),
  });
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
    // missing_api_key / unauthorized / limit_reached: nothing to rotate; the reason is in `message`.
    return { ...base, message: `rotation skipped: ${reconciled.message ?? reconciled.outcome}` };
  }
  const rotation = await rotateJoggAi(desired, {
    client,
    store,
    ...(logger ? { logger } : {}),
    ...(signal ? { signal } : {}),
    ...(deps.overlap ? { overlap: deps.overlap } : {}),
  });
  return { ...base, outcome: 'rotated', endpointId: rotation.to.endpointId, rotation };
}
