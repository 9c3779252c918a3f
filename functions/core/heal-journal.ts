/**
 * The registrar's memory of the times it took a provider secret back: a rotation made because it
 * held no usable secret for the endpoint at its URL (`adopt`) or because the evidence proved the
 * stored secret dead (`heal`); and of the times it set the endpoint's URL or events (`patch`). Each
 * takeover means another writer changed the secret or the endpoint (a person in the provider's
 * dashboard, another stack registered at the same URL); one is a mishap, a second within the rate
 * window is another writer at work, and fighting it (each side rotating the other's secret away)
 * only locks both out in turn; so is a patch that sets again what our last patch set. The registrar
 * reads this first and stops instead (outcome `second_writer`, alarmed).
 *
 * Written only under the secret's lease (one writer), so a read-modify-write is safe.
 * Implementations: MemoryHealJournal (tests), DynamoHealJournal (adapters/aws, item `heal#<lease name>`
 * in the state table).
 */

/** `patch`: the registrar set the endpoint's URL or events (to `target`); the same patch twice in the window means someone set it back. */
export type TakeoverKind = 'adopt' | 'heal' | 'patch';

export interface Takeover {
  /** Epoch ms. */
  readonly at: number;
  readonly kind: TakeoverKind;
  readonly endpointId: string;
  /** For a patch: what it set (`url:<url>`, `events:<json>`). */
  readonly target?: string;
}

export interface HealJournal {
  /** The recorded takeovers, oldest first (the newest {@link HEAL_JOURNAL_KEEP} at most). */
  read(signal?: AbortSignal): Promise<readonly Takeover[]>;
  /** Appends one (holding the lease). */
  record(takeover: Takeover, signal?: AbortSignal): Promise<void>;
}

/** How many takeovers a journal keeps. */
export const HEAL_JOURNAL_KEEP = 10;

/** The newest `HEAL_JOURNAL_KEEP` of `list` plus `t`, oldest first. */
export function appendTakeover(list: readonly Takeover[], t: Takeover): Takeover[] {
  return [...list, t].sort((a, b) => a.at - b.at).slice(-HEAL_JOURNAL_KEEP);
}

/** Parses a stored journal (JSON array); anything malformed reads as empty. */
export function parseTakeovers(raw: string | undefined): Takeover[] {
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter(
      (t): t is Takeover =>
        typeof t === 'object' &&
        t !== null &&
        typeof (t as Takeover).at === 'number' &&
        ['adopt', 'heal', 'patch'].includes((t as Takeover).kind) &&
        typeof (t as Takeover).endpointId === 'string',
    );
  } catch {
    return [];
  }
}

export class MemoryHealJournal implements HealJournal {
  takeovers: Takeover[] = [];
  async read(): Promise<readonly Takeover[]> {
    return this.takeovers;
  }
  async record(takeover: Takeover): Promise<void> {
    this.takeovers = appendTakeover(this.takeovers, takeover);
  }
}
