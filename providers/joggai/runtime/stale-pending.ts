/**
 * A stale pending rotation: AWSPENDING holds a value that does not replace the current version
 * (someone stored a current value after it was written), or that names nothing it replaces (one
 * written before pending values recorded it). Promoting it would put its secret over a value it
 * was never meant to replace, so the registrar and the rotation drop it (AWSPENDING removed: the
 * ingress stops accepting its secret).
 *
 * Its endpoint is left to the evidence, not deleted blindly: the reconcile that drops it keeps it if
 * it is the only live endpoint of ours (then adopts its secret, which JoggAI lists), and otherwise
 * deletes it as a duplicate in the same run; a rotation adopts it when it sits at the next rotation
 * URL. Until then nothing is lost: JoggAI delivers every event to every subscribed endpoint, so the
 * current endpoint delivers each one the dropped endpoint can no longer get verified.
 */
import type { JoggAiLogger } from './registrar.js';
import type { JoggAiSecretState, JoggAiSecretStore } from './secret-store.js';

/** Drops the pending rotation of `state` if it is stale; returns its endpoint id, or null when there was nothing stale. */
export async function dropStalePending(
  state: JoggAiSecretState,
  deps: { readonly store: JoggAiSecretStore; readonly logger?: JoggAiLogger; readonly signal?: AbortSignal },
): Promise<{ dropped: string } | null> {
  const pending = state.pending;
  if (!pending) return null;
  if (pending.value && pending.value.replaces === state.version) return null;
  await deps.store.dropPending(pending.version, deps.signal);
  const dropped = pending.value?.endpointId ?? `version ${pending.version}`;
  deps.logger?.warn('JoggAI: dropped a stale pending rotation (the current secret changed since it was stored)', {
    pending: dropped,
  });
  return { dropped };
}
