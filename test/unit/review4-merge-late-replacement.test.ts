/**
 * review4: subscription-log.ts `mergeSighting` promises that a sighting merged late (a registrar record
 * read after a backfill run's own, later sighting) "never judges more boldly than in time order". Its
 * rule for a sighting BETWEEN two spans extended the earlier span when the set was the same and no
 * endpoint was made more than LOG_SKEW_MS after that span's last sighting; in time order
 * (`recordSubscription`) the same sighting is a replacement by `replacedSince`'s second clause too:
 * endpoints made after the span's own oldest and near its last sighting (the endpoint it saw is gone).
 * So merged late, a registrar sighting of a replacement made 2 min after a backfill run saw our
 * endpoint stretched the old span over the minutes when no endpoint of ours existed, and a neighbour's
 * entry of our type made then was judged `ours` (published on our bus) where time order says `unsure`.
 * merge-late-never-bolder draws no replacement (`madeBefore: null`), so it never met this.
 */
import { describe, expect, it } from 'vitest';
import type { DatedSighting } from '../../providers/heygen/runtime/sightings.js';
import { addressedAt, mergeSighting, type SubscriptionLog } from '../../providers/heygen/runtime/subscription-log.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const A = 'avatar_video.success';

describe('review4: a replacement told late', () => {
  it('review4-merge-late-replacement-bolder: merged after a later sighting, a replacement near the last sighting is judged as in time order (never ours)', () => {
    const old = -10 * HOUR; // our endpoint, made long ago
    const t1 = 0; // a backfill run sees it
    const made = t1 + 2 * MIN; // deleted at 1 min (a person), another made at 2 min at our URL, same types
    const t2 = 30 * MIN; // the registrar sees the new one (and tells it)
    const t3 = HOUR; // the next backfill run sees the new one itself, then merges the registrar's
    const sight = (atMs: number, createdAtMs: number): DatedSighting => ({ atMs, found: true, events: [A], createdAtMs });
    const merge = (log: SubscriptionLog | undefined, s: DatedSighting) => mergeSighting(log, s, Number.NEGATIVE_INFINITY);
    const inOrder = [sight(t1, old), sight(t2, made), sight(t3, made)].reduce(merge, undefined) ?? [];
    const late = [sight(t1, old), sight(t3, made), sight(t2, made)].reduce(merge, undefined) ?? [];
    const neighbourEntry = t1 + 90_000; // of our type, while no endpoint of ours existed
    expect(addressedAt(A, neighbourEntry, inOrder)).toBe('unsure'); // time order: reported, not published
    expect(addressedAt(A, neighbourEntry, late)).not.toBe('ours');
  });
});
