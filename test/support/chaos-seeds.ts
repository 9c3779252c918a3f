/**
 * Seeded bugs for the lifecycle model: each one a test-only swap of a dependency or a wrapper the
 * model applies (never a flag in production code), to show that the model catches the kind of bug it
 * is meant to catch. `npm run chaos -- --seed-bug <name>` runs the model with one applied and reports
 * after how many schedules an invariant of the listed kinds broke.
 */
import type { EvidenceStore, TroubleHook } from '../../functions/core/evidence.js';
import type { HealJournal } from '../../functions/core/heal-journal.js';
import type { DedupStore } from '../../functions/core/ports.js';
import type { BackfillCheckpoint } from '../../providers/heygen/runtime/backfill-plan.js';
import type { ModelClock } from './model-clock.js';

export const SEED_BUGS = {
  'wall-clock-fake': {
    what: "the fake Secrets Manager stamps versions with the machine's clock, not the model's (finding 8)",
    caughtBy: ['wall-clock'],
  },
  'window-rule': {
    what: "the registrar's evidence trusts history entries older than the dedup records it looks them up in (finding 1): the table forgets after 1 h (with any-refusal: the refused-key rule alone masks it)",
    caughtBy: ['needless-rotation'],
  },
  'heal-on-refusals': {
    what: 'the registrar heals on refusals alone: its lookup says every history entry was never recorded (with any-refusal: the refused-key rule alone masks it)',
    caughtBy: ['needless-rotation'],
  },
  'any-refusal': {
    what: "the registrar takes any refusal for the missed entry's own (the proof before refused keys: a stranger's bad POST plus a miss that never reached the relay heals)",
    caughtBy: ['needless-rotation'],
  },
  'window-from-created': {
    what: "the proof window starts at AWSCURRENT's version CreatedDate, not when a registrar run first saw it there: the refusals made under a pasted secret prove the version it was moved back to dead",
    caughtBy: ['needless-rotation'],
  },
  'evidence-dropped': {
    what: 'the ingress records no evidence of refused or failed deliveries (onTrouble left out)',
    caughtBy: ['lockout', 'retired-pending'],
  },
  'window-mismatch': {
    what: 'the backfill assumes a 96 h dedup window while the table keeps 48 h (finding 6, CLI --since)',
    caughtBy: ['duplicate-uncounted'],
  },
  'no-type-filter': {
    what: "the backfill is not told our endpoint's subscription: a neighbour endpoint's entries look like ours (finding 2)",
    caughtBy: ['foreign'],
  },
  'configured-types': {
    what: "the backfill judges history entries by the configured event types, ignoring our endpoint's types as HeyGen lists them and the subscription log its runs keep",
    caughtBy: ['lost', 'foreign'],
  },
  'history-gap-unreported': {
    what: "the backfill takes HeyGen to keep its history for ever (the checkpoint's historyKeptMs reads unbounded): an outage longer than HeyGen's history drops entries with no BackfillGap",
    caughtBy: ['lost'],
  },
  'stale-is-refusal': {
    what: "the ingress records a stale-timestamp 401 (a delivery signed with the live secret, HeyGen's clock off ours) as a refused key: HeyGen's skew proves our live secret dead",
    caughtBy: ['needless-rotation'],
  },
  'backfilled-uncounted': {
    what: 'the backfill run reports backfilled 0 (BackfilledEvents, alarm HeyGenBackfilled, stays quiet: review3-fresh-backfilled-uncounted): events refused as stale are recovered and nobody is told live delivery failed',
    caughtBy: ['stale-unalarmed'],
  },
  'heal-not-journaled': {
    what: "the registrar's heals never reach the heal journal (review3-heal-not-journaled): the 24 h heal limit never stops a second heal, and no second_writer alarm",
    caughtBy: ['needless-rotation', 'second-writer-unalarmed'],
  },
  'registrar-silent': {
    what: "the registrar tells the backfill's subscription log nothing it saw (its sightings never merged): our URL edited away and patched back leaves one span over the time a neighbour had our types (url-edited-away-and-back)",
    caughtBy: ['foreign'],
  },
  'publish-without-claim': {
    what: 'the backfill publishes without claiming the key first (its claim is a plain lookup)',
    caughtBy: ['duplicate-uncounted'],
  },
} as const satisfies Record<string, { what: string; caughtBy: readonly string[] }>;

export type SeedBug = keyof typeof SEED_BUGS;

export function isSeedBug(name: string): name is SeedBug {
  return Object.hasOwn(SEED_BUGS, name);
}

type Table = Map<string, { status: string; expiresAt: number; owner: string }>;
const HOUR = 3_600_000;

/** The swaps, applied by the model where it builds each dependency. */
export const seedBugs = {
  /** The dedup lookup the registrar's evidence rule uses. */
  registrarDedup(seed: SeedBug | undefined, view: DedupStore, table: Table, clock: ModelClock): DedupStore {
    if (seed === 'heal-on-refusals') return { ...bind(view), claim: async () => 'claimed' };
    if (seed === 'window-rule')
      return {
        ...bind(view),
        claim: async (key, owner, signal) => {
          const e = table.get(key);
          // A record written more than an hour ago is forgotten (48 h is the window it was written with).
          if (e && e.expiresAt - 48 * HOUR < clock.t - HOUR) return 'claimed';
          return view.claim(key, owner, signal);
        },
      };
    return view;
  },
  /**
   * The evidence the registrar reads. `any-refusal` (and the two registrar bugs above, which the
   * refused-key rule would mask alone): any recorded refusal reads as a refusal of every history entry
   * (`historyKeys`), at the time of the last one, which is the rule before the refused keys.
   */
  registrarEvidence(seed: SeedBug | undefined, store: EvidenceStore, historyKeys: () => string[]): EvidenceStore {
    if (seed !== 'any-refusal' && seed !== 'window-rule' && seed !== 'heal-on-refusals') return store;
    return {
      record: store.record.bind(store),
      read: async (provider, signal) => {
        const e = await store.read(provider, signal);
        const at = e.lastSignatureRejectionAt;
        if (at === null) return e;
        return { ...e, refusedKeys: [...(e.refusedKeys ?? []), ...historyKeys().map((key) => ({ key, at }))] };
      },
    };
  },
  /**
   * The registrar's heal journal. `window-from-created`: its sighting says the labels as they stand
   * now have been seen there forever, so the proof window starts at the version's CreatedDate (the
   * rule before the sighting).
   */
  registrarJournal(seed: SeedBug | undefined, journal: HealJournal, stages: () => Record<string, string[]>): HealJournal {
    if (seed === 'heal-not-journaled')
      return {
        read: journal.read.bind(journal),
        record: async (t, signal) => (t.kind === 'heal' ? undefined : journal.record(t, signal)),
        readSighting: journal.readSighting.bind(journal),
        recordSighting: journal.recordSighting.bind(journal),
      };
    if (seed !== 'window-from-created') return journal;
    const holder = (label: string) => Object.entries(stages()).find(([, tags]) => tags.includes(label))?.[0] ?? null;
    return {
      read: journal.read.bind(journal),
      record: journal.record.bind(journal),
      readSighting: async () => {
        const version = holder('AWSCURRENT');
        return version === null ? null : { version, previous: holder('AWSPREVIOUS'), since: 0 };
      },
      recordSighting: async () => true,
    };
  },
  /** The dedup window the scheduled backfill is told. */
  backfillWindow(seed: SeedBug | undefined, windowMs: number): number {
    return seed === 'window-mismatch' ? 2 * windowMs : windowMs;
  },
  /** The store the backfill claims a key in before publishing. */
  backfillClaim(seed: SeedBug | undefined, claim: DedupStore, lookup: () => DedupStore): DedupStore {
    return seed === 'publish-without-claim' ? lookup() : claim;
  },
  /**
   * Our endpoint's subscription as the backfill is told it (the type filter). `configured-types`: the
   * configured set with no sighting of HeyGen's list (`configured`), so no subscription log is kept.
   */
  backfillEndpoint<T extends object, C extends object>(
    seed: SeedBug | undefined,
    endpoint: T,
    configured: C,
  ): T | { endpoint: C } | Record<string, never> {
    if (seed === 'configured-types') return { endpoint: configured };
    return seed === 'no-type-filter' ? {} : endpoint;
  },
  /**
   * The registrar's sightings as the backfill merges them (providers/heygen/runtime/sightings.ts): the
   * bugs that judge without HeyGen's list (`configured-types`, `no-type-filter`) keep no log, so none.
   */
  backfillSightings<T extends object>(seed: SeedBug | undefined, sightings: T): { sightings: T } | Record<string, never> {
    return seed === 'configured-types' || seed === 'no-type-filter' || seed === 'registrar-silent' ? {} : { sightings };
  },
  /** The backfill's checkpoint as the scheduled run reads it. */
  backfillCheckpoint(seed: SeedBug | undefined, checkpoint: BackfillCheckpoint): BackfillCheckpoint {
    if (seed !== 'history-gap-unreported') return checkpoint;
    return {
      read: async (signal) => ({ ...(await checkpoint.read(signal)), historyKeptMs: Number.POSITIVE_INFINITY }),
      write: (state, signal) => checkpoint.write(state, signal),
    };
  },
  /**
   * The ingress's evidence hook. `stale-is-refusal`: every 401 names the body's key as refused, a
   * stale delivery's too (the rule before review3-stale-timestamp-rotates was fixed).
   */
  staleRefusal(seed: SeedBug | undefined, hook: TroubleHook, bodyKey: string): TroubleHook {
    if (seed !== 'stale-is-refusal') return hook;
    return (provider, status, refusedKey) => hook(provider, status, refusedKey ?? (status === 401 ? bodyKey : undefined));
  },
  /** The backfill run as the model reads its alarms. `backfilled-uncounted`: its summary says backfilled 0. */
  backfillSummary<R extends { summary?: unknown }>(seed: SeedBug | undefined, run: R): R {
    if (seed !== 'backfilled-uncounted' || !run.summary) return run;
    return { ...run, summary: { ...(run.summary as object), backfilled: 0 } };
  },
  /** Whether the ingress is built without its evidence hook. */
  dropEvidence(seed: SeedBug | undefined): boolean {
    return seed === 'evidence-dropped';
  },
};

function bind(store: DedupStore): DedupStore {
  return {
    claim: store.claim.bind(store),
    complete: store.complete.bind(store),
    release: store.release.bind(store),
    ...(store.seenLegacy ? { seenLegacy: store.seenLegacy.bind(store) } : {}),
  };
}
