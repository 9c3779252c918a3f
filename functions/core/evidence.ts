/**
 * Evidence of how live delivery goes, for the checks that must not rest on belief: the registrar's
 * "is the stored secret the one the provider signs with" (`secret_mismatch`) and the backfill's "is
 * there anything to recover". The ingress records, per provider, when it last refused a delivery's
 * signature (401) and when it last answered one with anything the provider retries (401, 5xx). Cheap
 * and bounded: nothing is written for a delivery that succeeds, and at most one write per provider
 * per `intervalMs` per execution environment, however many deliveries are refused.
 */

export interface DeliveryEvidence {
  /** Last time (epoch ms) the ingress refused a delivery's signature (401), or null. */
  readonly lastSignatureRejectionAt: number | null;
  /** Last time (epoch ms) a delivery was answered 401 or 5xx (the provider retries it, or drops it after its horizon), or null. */
  readonly lastTroubleAt: number | null;
  /** Creation time (epoch ms) of the newest event the backfill had to recover (live delivery failed), or null. */
  readonly lastMissedAt: number | null;
  /** Last time (epoch ms) a delivery was answered 5xx (our fault; a stranger cannot cause it), or null. Absent in older items. */
  readonly lastFailureAt?: number | null;
}

/** `missed`: recorded by the backfill, with the recovered event's creation time. */
export type TroubleKind = 'signature' | 'failure' | 'missed';

export interface EvidenceStore {
  /** Records that a delivery of `provider` was refused (`signature`) or failed (`failure`) at `at`. */
  record(provider: string, kind: TroubleKind, at: number, signal?: AbortSignal): Promise<void>;
  read(provider: string, signal?: AbortSignal): Promise<DeliveryEvidence>;
}

export const NO_EVIDENCE: DeliveryEvidence = { lastSignatureRejectionAt: null, lastTroubleAt: null, lastMissedAt: null };

export class MemoryEvidenceStore implements EvidenceStore {
  readonly items = new Map<string, DeliveryEvidence>();
  async record(provider: string, kind: TroubleKind, at: number): Promise<void> {
    const old = this.items.get(provider) ?? NO_EVIDENCE;
    const max = (a: number | null) => Math.max(a ?? 0, at);
    this.items.set(provider, {
      lastTroubleAt: kind === 'missed' ? old.lastTroubleAt : max(old.lastTroubleAt),
      lastSignatureRejectionAt: kind === 'signature' ? max(old.lastSignatureRejectionAt) : old.lastSignatureRejectionAt,
      lastMissedAt: kind === 'missed' ? max(old.lastMissedAt) : old.lastMissedAt,
      lastFailureAt: kind === 'failure' ? max(old.lastFailureAt ?? null) : (old.lastFailureAt ?? null),
    });
  }
  async read(provider: string): Promise<DeliveryEvidence> {
    return this.items.get(provider) ?? NO_EVIDENCE;
  }
}

/**
 * The ingress's hook (`IngressOptions.onTrouble`): maps an answer's status to evidence and writes it,
 * rate-limited per provider and kind, bounded in time, never throwing (evidence must not fail a delivery's answer).
 */
export function evidenceRecorder(
  store: EvidenceStore,
  options: { readonly intervalMs?: number; readonly timeoutMs?: number; readonly now?: () => number } = {},
): (provider: string, status: number) => Promise<void> {
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();
  return async (provider, status) => {
    const kind: TroubleKind | null = status === 401 ? 'signature' : status >= 500 ? 'failure' : null;
    if (kind === null) return;
    const t = now();
    const key = `${provider}:${kind}`;
    if (t - (last.get(key) ?? Number.NEGATIVE_INFINITY) < intervalMs) return;
    last.set(key, t);
    try {
      await store.record(provider, kind, t, AbortSignal.timeout(options.timeoutMs ?? 500));
    } catch {
      last.delete(key); // try again on the next refusal
    }
  };
}
