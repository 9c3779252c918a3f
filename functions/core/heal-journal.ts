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
 * It also keeps where the stored secret's labels sat when a run last saw them and since when
 * ({@link CurrentSighting}): the proof of a dead secret counts only refusals made after that.
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

/**
 * Where the stored secret's labels sat when a registrar run saw them, and since when (the run's
 * clock) runs have seen them there: the start of the proof window (docs/heygen-registrar.md). A
 * version's CreatedDate says when it was made, not when AWSCURRENT came to it (a rotation's version
 * is made when the rotation starts and filled later; a person can move AWSCURRENT back to an older
 * version), so refusals before `since` may have been made under another version and prove nothing.
 * `previous` (AWSPREVIOUS's version) tells a move away and back between two runs: AWS moves
 * AWSPREVIOUS to the version AWSCURRENT leaves, every time AWSCURRENT moves.
 */
export interface CurrentSighting {
  readonly version: string;
  readonly previous: string | null;
  /** When a run first saw these labels (epoch ms, the run's clock). */
  readonly since: number;
}

export interface HealJournal {
  /** The recorded takeovers, oldest first (the newest {@link HEAL_JOURNAL_KEEP} at most). */
  read(signal?: AbortSignal): Promise<readonly Takeover[]>;
  /** Appends one (holding the lease). */
  record(takeover: Takeover, signal?: AbortSignal): Promise<void>;
  /** The last sighting of the stored secret's labels, or null when none was recorded. */
  readSighting(signal?: AbortSignal): Promise<CurrentSighting | null>;
  /**
   * Records `next` if the recorded sighting is still `expected` (compare-and-set, holding the lease);
   * false when another writer recorded one meanwhile (then nothing is written).
   */
  recordSighting(next: CurrentSighting, expected: CurrentSighting | null, signal?: AbortSignal): Promise<boolean>;
}

/** Parses a stored sighting (JSON); anything malformed reads as none. */
export function parseSighting(raw: string | undefined): CurrentSighting | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<CurrentSighting>;
    if (typeof v.version !== 'string' || typeof v.since !== 'number') return null;
    return { version: v.version, previous: typeof v.previous === 'string' ? v.previous : null, since: v.since };
  } catch {
    return null;
  }
}

/** Serializes with a fixed key order (a stored sighting is compared as a string). */
export function serializeSighting(s: CurrentSighting): string {
  return JSON.stringify({ version: s.version, previous: s.previous, since: s.since });
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
  sighting: CurrentSighting | null = null;
  async read(): Promise<readonly Takeover[]> {
    return this.takeovers;
  }
  async record(takeover: Takeover): Promise<void> {
    this.takeovers = appendTakeover(this.takeovers, takeover);
  }
  async readSighting(): Promise<CurrentSighting | null> {
    return this.sighting;
  }
  async recordSighting(next: CurrentSighting, expected: CurrentSighting | null): Promise<boolean> {
    const now = this.sighting === null ? null : serializeSighting(this.sighting);
    if (now !== (expected === null ? null : serializeSighting(expected))) return false;
    this.sighting = next;
    return true;
  }
}
