/**
 * What proves that HeyGen's deliveries to OUR endpoint are refused (the rule the registrar heals on;
 * docs/heygen-registrar.md, "Healing only on proof").
 *
 * HeyGen's event history is account-wide and has no endpoint filter, and the ingress's record of a
 * refused signature can be written by anyone who POSTs to the public URL. So neither alone is
 * proof. The registrar rotates the secret only when all of these hold:
 *
 * 1. **Addressed to us** ({@link addressedToUs}): the entry's event type is one our endpoint
 *    subscribes to (a neighbour endpoint in the same account receives other types; its entries are
 *    not ours to miss).
 * 2. **In the proof window** ({@link proofWindow}): created after the stored secret's version was
 *    created and after a registrar run first saw it as AWSCURRENT (its heal journal's sighting: a
 *    version's CreatedDate is not when AWSCURRENT came to it, and refusals made under another version
 *    prove nothing about this one), each plus the grace (a rotation's overlap), after our endpoint was created, at least the
 *    retry spacing ago (HeyGen's retries had their chance), and well inside the dedup window (a
 *    record expires one window after the event was published: an older entry looks "never
 *    recorded" whether or not it was, which is how a quiet account used to be rotated by one
 *    stranger's POST).
 * 3. **The newest such entry was never recorded** (nor recovered by the backfill): a dead secret
 *    refuses every delivery from its death on, so the newest entry is missed too; one transient
 *    miss followed by recorded deliveries is not a dead secret.
 * 4. **That very entry was refused** ({@link refusalOfEntry}): the ingress recorded a signature
 *    refusal of a delivery whose event key is the entry's own (core/evidence.ts keeps the last
 *    refused keys), at or after the entry's creation (less a small slack) and after the grace.
 *    Without a refusal every outage (the relay down, a 5xx, HeyGen's own delivery trouble) would look
 *    like a dead secret; and a refusal of any other delivery proves nothing about this miss: anyone
 *    can send one, and a stranger's refusal plus a miss of ours that never reached the relay (down,
 *    lost on the way) used to rotate a live secret. A stranger cannot send a body with the key of an
 *    event HeyGen created for us (he would have to know its type and data), so his refusals never
 *    match. A neighbour endpoint subscribed to one of our types CAN (HeyGen sends it the same body):
 *    its re-POST of an event whose delivery to us was lost is indistinguishable from HeyGen's refused
 *    delivery (no per-endpoint delivery status); that is bounded by the heal journal (one loss-free
 *    rotation per 24 h, then `second_writer`), not proved away. And **no failure of ours** (a 5xx, which a stranger cannot cause) since that entry's
 *    creation: the miss may be that failure's.
 * 5. **That entry's delivery was never signed with a secret we hold** ({@link missedForTheClock}): the
 *    ingress refuses a delivery whose signature matched a live key but whose timestamp is outside its
 *    tolerance (HeyGen's clock off ours by more than `CLOCK_SKEW_MS`) as stale, and records its key
 *    apart. Such an entry was missed for the clock, not the secret: a rotation cannot help (every
 *    delivery stays stale), the backfill recovers it (alarm HeyGenBackfilled). Without this rule the
 *    skew plus a neighbour's re-POST of the same body rotated a live secret (chaos `--seed 897592139
 *    --path 877`, review3-stale-signed-no-heal). Only HeyGen's signature with our secret makes such a
 *    record (a captured delivery replayed later is still HeyGen's signature): no stranger can write one.
 */
import type { RefusedKey } from '../../../functions/core/evidence.js';

/** After the current secret was stored, refusals and misses are not evidence for this long (a rotation's overlap). */
export const MISMATCH_GRACE_MS = 5 * 60_000;
/** A missed event counts only when it is older than this (HeyGen's first retries come within minutes). */
export const MISMATCH_RETRY_SPACING_MS = 10 * 60_000;

/** The type filter: HeyGen delivers an entry to our endpoint only if our endpoint subscribes to its type. */
export function addressedToUs(entry: { eventType: string; createdAt: string }, endpoint: { events: readonly string[] }): boolean {
  return endpoint.events.includes(entry.eventType);
}

/** How far inside the dedup window an entry must be (6 h, at most a quarter of the window). */
export function dedupWindowMargin(windowMs: number): number {
  return Math.min(6 * 3_600_000, windowMs / 4);
}

export interface ProofWindowInput {
  readonly now: number;
  /** When the stored (AWSCURRENT) version was created, epoch ms; null when unknown (then no proof). */
  readonly storedAt: number | null;
  /**
   * Since when registrar runs have seen that version as AWSCURRENT (the heal journal's sighting, on the
   * run's clock), epoch ms; null when unknown (no journal: then no proof). A label moved between two
   * runs is first seen at the later one: refusals before it may have been made under another version.
   */
  readonly currentSince: number | null;
  /** When our endpoint was created at HeyGen (its `created_at`). */
  readonly endpointCreatedAt: string;
  /**
   * When the registrar last set the endpoint's URL or events (its heal journal's newest `patch`), epoch
   * ms; null when never. Before it, HeyGen delivered elsewhere or other types: entries are not proof.
   */
  readonly changedAt?: number | null;
  /** The dedup window (how long a record lives), ms. */
  readonly dedupWindowMs: number;
  /** @default MISMATCH_GRACE_MS */
  readonly graceMs?: number;
  /** @default MISMATCH_RETRY_SPACING_MS */
  readonly retrySpacingMs?: number;
}

/** The creation times [from, until] (epoch ms) of entries that can prove a miss, or null when none can yet. */
export function proofWindow(w: ProofWindowInput): { from: number; until: number } | null {
  if (w.storedAt === null || w.currentSince === null) return null;
  const endpointAt = Date.parse(w.endpointCreatedAt);
  const grace = w.graceMs ?? MISMATCH_GRACE_MS;
  const from = Math.max(
    Math.max(w.storedAt, w.currentSince) + grace,
    Number.isFinite(endpointAt) ? endpointAt : Number.POSITIVE_INFINITY,
    w.changedAt == null ? Number.NEGATIVE_INFINITY : w.changedAt + grace,
    w.now - w.dedupWindowMs + dedupWindowMargin(w.dedupWindowMs),
  );
  const until = w.now - (w.retrySpacingMs ?? MISMATCH_RETRY_SPACING_MS);
  return from <= until ? { from, until } : null;
}

/**
 * How far HeyGen's clock (its entries' and endpoints' `created_at`) may stand from ours (the Lambda's):
 * minutes, not seconds (the registrar's replay and dead-holder rules use the same bound).
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A refusal (stamped by the Lambda's clock) may be recorded before the entry's `created_at` (HeyGen's
 * clock) by as much as the clocks stand apart: HeyGen's clock minutes ahead stamps its entry after our
 * refusal of its very delivery (review3-clock-skew-no-heal). This loosens nothing a stranger can use:
 * the refusal must still carry the entry's OWN key, which nobody but HeyGen (or a neighbour endpoint it
 * delivered the body to) can send, and no one has that body before HeyGen makes it; and the same slack
 * makes "no failure of ours since the entry" stricter, not looser.
 */
export const REFUSAL_SLACK_MS = CLOCK_SKEW_MS;

/**
 * Rule 4: a refusal after the grace and at (or after) the missed entry's creation, and no failure of
 * our own (a 5xx: `lastFailureAt`, which a stranger cannot cause) since then. A miss with a failure
 * of ours in its time may be that failure's (PutEvents or DynamoDB down, an answer lost), and a
 * stranger's refusal then proves nothing about the secret; a dead one is proved by the next entry
 * HeyGen creates after the failure (refused too), a run or two later.
 */
export function refusalMatches(
  rejectedAt: number | null,
  from: number,
  missedCreatedAt: number,
  lastFailureAt: number | null = null,
): boolean {
  if (lastFailureAt !== null && lastFailureAt >= missedCreatedAt - REFUSAL_SLACK_MS) return false;
  return rejectedAt !== null && rejectedAt >= from && rejectedAt >= missedCreatedAt - REFUSAL_SLACK_MS;
}

/**
 * Rule 4 with the refused keys: the refusal of the missed entry's own key (`entryKey`, the relay's
 * key of the entry) when it matches ({@link refusalMatches}), else null. A refusal of another key
 * (a stranger's, another event's) never proves this entry's miss.
 */
export function refusalOfEntry(
  refused: readonly RefusedKey[],
  entryKey: string,
  from: number,
  missedCreatedAt: number,
  lastFailureAt: number | null = null,
): RefusedKey | null {
  const own = refused.find((r) => r.key === entryKey);
  return own && refusalMatches(own.at, from, missedCreatedAt, lastFailureAt) ? own : null;
}

/**
 * Rule 5: the missed entry's own key was refused as stale with a valid signature (`staleAt`, the
 * ingress's record of it, or null): HeyGen signed its delivery with a secret we hold, so its miss is
 * the clock's. Any time: the record names the entry itself, and a secret that died after HeyGen
 * signed it is proved by the next entry (refused for its signature, never stale).
 */
export function missedForTheClock(staleAt: number | null): boolean {
  return staleAt !== null;
}
