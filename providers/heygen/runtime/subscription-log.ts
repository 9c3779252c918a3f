/**
 * Our endpoint's subscription over time (pure): which entries of HeyGen's account-wide history were
 * addressed to us is decided by the event types our endpoint subscribed to WHEN the entry was created,
 * not by today's list. A type added an hour ago must not make older entries of that type (a
 * neighbour's) ours; a type removed must not disown older entries HeyGen sent us.
 *
 * The backfill keeps a small log in its checkpoint (`subscriptions`): each set of types, from the run
 * (on the run's clock) that first saw it to the last run that saw it. An entry created inside a span
 * is judged by that span's set. Between two spans the set changed at a moment no run saw: the entry is
 * ours if both sets have its type, foreign if neither has, else UNSURE. Before the log's start, what
 * the first span says is not proven: an entry of a type in it is unsure, of another type foreign (as
 * before the log). An unsure entry is looked up but never published (it may be a neighbour's): if it
 * is missing it is reported as a `subscription` period, alarmed until a person acknowledges it.
 * A run without a log (the first, or the first after an upgrade) starts it at the dedup window's far
 * end when HeyGen lists the configured types (what the registrar registers: no change seen, the rule
 * before the log; a change made and undone within the window before it goes unseen); otherwise at the
 * run, and entries of ours before it that the relay never published are reported, not published.
 */
import { CLOCK_SKEW_MS } from './proof.js';

/** One set of our endpoint's event types (null: every type), seen by the runs from `fromMs` to `seenMs`. */
export interface SubscriptionSpan {
  readonly fromMs: number;
  readonly seenMs: number;
  readonly events: readonly string[] | null;
  /**
   * When the oldest endpoint at our URL that HeyGen sends to (not disabled) was created, as the run
   * that started the span saw it (absent: unknown). Later than the span before it was last seen, or
   * than that span's own `createdAtMs` (both HeyGen's clock): our endpoints then are gone (deleted,
   * disabled, or their URL edited away) and these were made since, so before this moment only the
   * earlier span's endpoints can have been addressed, and maybe none.
   */
  readonly createdAtMs?: number | null;
}

/** What a run saw of our endpoint: `found` false, no endpoint at our URL (nothing is addressed to us); absent, not asked. */
export interface SubscriptionSighting {
  readonly events: readonly string[] | null;
  readonly found?: boolean;
  readonly createdAtMs?: number | null;
  /** The oldest endpoint HeyGen sends to (not disabled; null: none): what dates a span. Absent: `createdAtMs`. */
  readonly liveCreatedAtMs?: number | null;
}

/**
 * What dates a span started by `sighting` (its `createdAtMs`): the oldest endpoint at our URL HeyGen
 * sends to. A disabled endpoint is sent nothing and stays listed: its older `created_at` would hide a
 * replacement (chaos replay --seed 897592139 --path 2270).
 */
export function spanCreatedAt(sighting: SubscriptionSighting): { readonly createdAtMs?: number } {
  const at = sighting.liveCreatedAtMs !== undefined ? sighting.liveCreatedAtMs : sighting.createdAtMs;
  return at != null ? { createdAtMs: at } : {};
}

export type SubscriptionLog = readonly SubscriptionSpan[];

export type Addressed = 'ours' | 'foreign' | 'unsure';

export function sameSet(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  const x = new Set(a);
  return x.size === new Set(b).size && b.every((t) => x.has(t));
}

/**
 * HeyGen's `created_at` against a run's clock (`seenMs`): an endpoint counts as made after a sighting
 * only when it is later by more than `LOG_SKEW_MS` (below, twice this), so a clock difference never reads as a replacement. One
 * bound for the whole provider (proof.ts).
 */
export { CLOCK_SKEW_MS };

/**
 * The log's own bound at a sighting where the set changed, wider than `CLOCK_SKEW_MS`: HeyGen's clock
 * beyond the ingress's tolerance (CLOCK_SKEW_MS) makes every live delivery stale, and then the backfill
 * is the only path and its log decides alone what reaches our bus. Twice the tolerance: an entry that
 * close to a change is unsure (reported, never published), not judged by a set that may not have
 * applied (chaos replays --seed 1864934608 --path 458 and 1984: HeyGen 6 min off, a type removed or
 * our endpoint disabled just before a neighbour's entry of it, published as ours).
 */
export const LOG_SKEW_MS = 2 * CLOCK_SKEW_MS;

const has = (events: readonly string[] | null, type: string) => events === null || events.includes(type);

/**
 * The log after a run at `now` saw `events`: the last span extended, or a new one started. Spans last
 * seen before `keepFromMs` (older than anything a run looks up) go, the newest always stays.
 */
export function recordSubscription(
  log: SubscriptionLog | undefined,
  events: readonly string[] | null,
  now: number,
  keepFromMs: number,
  createdAtMs: number | null = null,
): SubscriptionLog {
  const spans = [...(log ?? [])];
  const last = spans.at(-1);
  // The same types on endpoints all made since the last sighting: a replacement, a span of its own.
  const replaced = last !== undefined && createdAtMs !== null && replacedSince(last, createdAtMs);
  if (last && !replaced && !tiedStart(last, spans) && sameSet(last.events, events))
    spans[spans.length - 1] = { ...last, seenMs: Math.max(last.seenMs, now) };
  else
    spans.push({
      fromMs: now,
      seenMs: now,
      events: events === null ? null : [...events],
      ...(createdAtMs !== null ? { createdAtMs } : {}),
    });
  const kept = spans.filter((s, i) => i === spans.length - 1 || s.seenMs >= keepFromMs);
  return kept;
}

/**
 * Whether endpoints whose oldest was created at `createdAtMs` were all made after `span`'s: later than
 * its last sighting by more than the clocks can differ, or, near that sighting, later than the oldest
 * endpoint it saw (both `created_at`, one clock: that endpoint is gone however close to the sighting;
 * chaos replays --seed 897592139 --path 1481, 2598: our endpoint deleted and made again 5 min after a run
 * saw it). One made well before the sighting existed then: the log judges the time since as before.
 */
function replacedSince(span: SubscriptionSpan, createdAtMs: number): boolean {
  if (createdAtMs > span.seenMs + LOG_SKEW_MS) return true;
  return span.createdAtMs != null && createdAtMs > span.createdAtMs && createdAtMs > span.seenMs - LOG_SKEW_MS;
}

/**
 * The log after a run saw `sighting` at `now`: no endpoint at our URL is an empty set (nothing was
 * addressed to us); a run that could not ask HeyGen changes nothing (the configured types are no
 * sighting: our endpoint may be gone).
 */
export function recordSighting(
  log: SubscriptionLog | undefined,
  sighting: SubscriptionSighting,
  now: number,
  keepFromMs: number,
): SubscriptionLog | undefined {
  if (sighting.found === undefined) return log;
  if (!sighting.found) return recordSubscription(log, [], now, keepFromMs);
  return recordSubscription(log, sighting.events, now, keepFromMs, spanCreatedAt(sighting).createdAtMs ?? null);
}

/**
 * The log after a sighting made at `atMs`, whatever the order sightings arrive in (the registrar's come
 * through an inbox, sightings.ts, and may be older than the log's last span): after the log's end, as
 * `recordSighting`; older than `keepFromMs` or not asked (`found` absent), nothing. Merged again (a
 * backfill run died before dropping it), a sighting changes nothing, or regains what a later split lost;
 * merged late, it never judges more boldly than in time order (test merge-late-never-bolder).
 * - Inside a span of the same set: nothing (the span already says so), unless the sighting's endpoints
 *   were all made after the span began (a replacement): then split as below.
 * - Inside a span of another set: the span claimed one set over its whole time and this sighting
 *   disproves it. A span keeps no sighting but its first and last, so it is split at those: its first
 *   sighting, this one, its last; the time between is a gap, judged by both sets (unsure where they
 *   differ), never by one.
 * - Between two spans (or before the log): the earlier span extended to it when it saw the same set and
 *   no endpoint made since (as `recordSubscription` extends), else a span of its own.
 */
export function mergeSighting(
  log: SubscriptionLog | undefined,
  sighting: SubscriptionSighting & { readonly atMs: number },
  keepFromMs: number,
): SubscriptionLog | undefined {
  const { atMs: t, found } = sighting;
  if (found === undefined || t < keepFromMs) return log;
  const spans = log ?? [];
  const last = spans.at(-1);
  if (!last || t > last.seenMs) return recordSighting(log, sighting, t, keepFromMs);
  const events = found ? sighting.events : [];
  const createdAtMs = found ? (spanCreatedAt(sighting).createdAtMs ?? null) : null;
  const point: SubscriptionSpan = {
    fromMs: t,
    seenMs: t,
    events: events === null ? null : [...events],
    ...(createdAtMs !== null ? { createdAtMs } : {}),
  };
  // The same set on endpoints all made after a span began is a replacement that span hides (as
  // `recordSubscription` would have started a span of its own): split as a change is.
  const holds = (s: SubscriptionSpan) =>
    s.fromMs <= t &&
    t <= s.seenMs &&
    sameSet(s.events, events) &&
    !(createdAtMs !== null && createdAtMs > s.fromMs + LOG_SKEW_MS);
  if (spans.some(holds)) return log; // a span (of several at one instant: any) already says so
  const i = spans.findIndex((s) => t <= s.seenMs);
  const span = spans[i] as SubscriptionSpan;
  if (t >= span.fromMs) {
    const middle = [{ ...span, seenMs: span.fromMs }, point];
    if (span.seenMs > span.fromMs) middle.push({ fromMs: span.seenMs, seenMs: span.seenMs, events: span.events });
    return pruned([...spans.slice(0, i), ...middle, ...spans.slice(i + 1)], keepFromMs);
  }
  const before = spans[i - 1];
  // A replacement by the rule time order applies (`replacedSince`; test review4-merge-late-replacement-bolder).
  const madeSince = before !== undefined && createdAtMs !== null && replacedSince(before, createdAtMs);
  if (before && !madeSince && !tiedStart(before, spans) && sameSet(before.events, events))
    return pruned([...spans.slice(0, i - 1), { ...before, seenMs: t }, ...spans.slice(i)], keepFromMs);
  return pruned([...spans.slice(0, i), point, ...spans.slice(i)], keepFromMs);
}

/**
 * Whether `span` starts at an instant another span of another set was seen at too (`tiedAt`: no order
 * among them). Such a span is never extended by a later sighting of its set: that sighting starts a
 * span of its own, after the tie, so the tie's doubt stays at its instant (and the skew around it,
 * `edges`) instead of spreading over every hour the extended span would cover (test
 * tie-stays-at-its-instant: the backfill's list and the registrar's before-sighting at one instant on
 * a clock that stood still, our endpoint unchanged for hours after).
 */
function tiedStart(span: SubscriptionSpan, log: SubscriptionLog): boolean {
  const t = span.fromMs;
  return log.some((s) => s !== span && s.fromMs <= t && t <= s.seenMs && !sameSet(s.events, span.events));
}

/** Spans last seen before `keepFromMs` go; the newest always stays. */
function pruned(spans: SubscriptionSpan[], keepFromMs: number): SubscriptionLog {
  return spans.filter((s, i) => i === spans.length - 1 || s.seenMs >= keepFromMs);
}

/**
 * What else a run knows when it judges: `configured`, the types the registrar registers (absent:
 * unknown); `sighted`, whether this run listed our endpoint itself (false: the list failed, the log
 * ends at an earlier run's sighting).
 */
export interface JudgedBy {
  readonly configured?: readonly string[] | null;
  readonly sighted?: boolean;
}

/**
 * Whether the entry of `type` created at `createdMs` was addressed to us, by the set(s) that may have
 * applied then. Where the log proves nothing (before its first span; after its last sighting when this
 * run saw no endpoint list), the first or last set and the configured types may have applied, or
 * another: an entry of one of their types is unsure, of another type foreign.
 */
export function addressedAt(type: string, createdMs: number, log: SubscriptionLog, by: JudgedBy = {}): Addressed {
  const last = log.at(-1);
  if (!last) return 'unsure';
  const sets = setsAt(createdMs, log, by.sighted ?? true);
  // Between two sightings the set may have changed more than once, and our registrar (scheduled or
  // the CLI) sets the configured types back: they may have applied there too (chaos replay --seed
  // 1864934608 --path 2200: removed by a person, set back by the CLI, the endpoint then gone).
  const unsighted = sets.includes(undefined) || inGap(createdMs, log);
  if (unsighted && by.configured !== undefined) sets.push(by.configured);
  const yes = sets.filter((s) => s !== undefined && has(s, type)).length;
  if (sets.includes(undefined)) return yes > 0 ? 'unsure' : 'foreign';
  if (yes === sets.length) return 'ours';
  return yes === 0 ? 'foreign' : 'unsure';
}

/**
 * Whether `t` lies between two spans of the log while an endpoint of ours may have existed: not when
 * the earlier sighting found none and the later one's endpoints were made after `t`.
 */
function inGap(t: number, log: SubscriptionLog): boolean {
  return log.some((span, i) => {
    const before = log[i - 1];
    if (!before || t >= span.fromMs || t <= before.seenMs) return false;
    const none = before.events !== null && before.events.length === 0;
    return !(none && span.createdAtMs != null && t < span.createdAtMs);
  });
}

/**
 * The sets that may have applied at `t` (undefined: unknown, before the log, or after its last sighting
 * when the run saw none itself). An undated entry: every set.
 */
function setsAt(t: number, log: SubscriptionLog, sighted: boolean): (readonly string[] | null | undefined)[] {
  const last = log.at(-1) as SubscriptionSpan;
  if (Number.isNaN(t)) return [...log.map((s) => s.events), ...(sighted ? [] : [undefined])];
  const first = log[0] as SubscriptionSpan;
  if (t < first.fromMs) return [first.events, ...tiedAt(first.fromMs, log), undefined];
  for (let i = 0; i < log.length; i++) {
    const span = log[i] as SubscriptionSpan;
    const before = log[i - 1] as SubscriptionSpan;
    if (t < span.fromMs)
      return [
        ...between(t, before, span),
        // Within the skew of a (point) span around the gap, what held beyond that span too.
        ...beyond(t, log, i),
        ...tiedAt(before.seenMs, log),
        ...tiedAt(span.fromMs, log),
      ];
    if (t <= span.seenMs) return [span.events, ...edges(t, log, i), ...tiedAt(span.fromMs, log), ...tiedAt(span.seenMs, log)];
  }
  return [last.events, ...tiedAt(last.seenMs, log), ...(sighted ? [] : [undefined])];
}

/** For `t` in the gap before span `i`: the sets beyond the spans around it, within `LOG_SKEW_MS` of their far ends. */
function beyond(t: number, log: SubscriptionLog, i: number): (readonly string[] | null)[] {
  const [before, after] = [log[i - 1] as SubscriptionSpan, log[i] as SubscriptionSpan];
  const [first, last] = [log[i - 2], log[i + 1]];
  return [
    ...(first && t < before.fromMs + LOG_SKEW_MS ? [first.events] : []),
    ...(last && t > after.seenMs - LOG_SKEW_MS ? [last.events] : []),
  ];
}

/**
 * The sets of every span seen at the instant `ms` when there are several: sightings made at one instant
 * (a registrar's and a backfill run's, merged in either order) have no order among them, so next to
 * that instant (in the gaps around it, and in a span that starts or ends there) each of them may be
 * the one that held, not only the one the log happens to list last.
 */
function tiedAt(ms: number, log: SubscriptionLog): (readonly string[] | null)[] {
  const at = log.filter((s) => s.fromMs <= ms && ms <= s.seenMs);
  return at.length > 1 ? at.map((s) => s.events) : [];
}

/**
 * A span's edges where the set changed: `created_at` is on HeyGen's clock, a sighting on the run's, so
 * an entry within `LOG_SKEW_MS` of the sighting that started the span may belong to the gap before it,
 * and one within it of the span's last sighting to the gap after it: judged as there (`between`; a
 * replacement's gap may have had no endpoint of ours: chaos replay --seed 4242 --path 55). The log's
 * own ends (its first sighting, the newest) are judged as before: before and after them is a rule of its own.
 */
function edges(t: number, log: SubscriptionLog, i: number): (readonly string[] | null)[] {
  const span = log[i] as SubscriptionSpan;
  const prev = log[i - 1];
  const before = prev && t < span.fromMs + LOG_SKEW_MS ? [...between(t, prev, span), ...tiedAt(prev.seenMs, log)] : [];
  const next = log[i + 1];
  return next && t > span.seenMs - LOG_SKEW_MS ? [...before, ...between(t, span, next), ...tiedAt(next.fromMs, log)] : before;
}

/**
 * Between two spans: either set may have applied, unless `after`'s endpoints were all made since
 * `before`'s (`replacedSince`). Then before their creation only `before`'s (since gone) or none applied;
 * after it `after`'s did, and `before`'s may still have: its types are ours, others unsure or foreign.
 */
function between(t: number, before: SubscriptionSpan, after: SubscriptionSpan): (readonly string[] | null)[] {
  const made = after.createdAtMs;
  if (made == null || !replacedSince(before, made)) return [before.events, after.events];
  // Both on HeyGen's clock, but two of its services may stamp them: within the skew before it, maybe after.
  if (t < made - LOG_SKEW_MS) return [before.events, []];
  if (t < made) return [before.events, [], after.events];
  return [
    after.events === null || before.events === null ? null : [...new Set([...after.events, ...before.events])],
    after.events,
  ];
}
