/**
 * Sightings of our endpoint that the registrar tells the backfill's subscription log (issue 19,
 * "nothing on the bus that HeyGen did not address to our endpoint"). HeyGen's endpoint list keeps no
 * trace of a change made and undone: our endpoint's URL edited away and patched back by the
 * registrar (`update_url`), or its types changed and patched back (`events_differ`), leaves the same
 * id, `created_at` and types, so two backfill runs around it see one set and the log would hold one
 * span over the whole time. The registrar saw it; its sighting splits the span.
 *
 * Two writers, two leases: the registrar and a backfill run may run at the same time, die, or lose
 * answers. So the registrar never writes the checkpoint: it ADDs its sighting to a string set in an
 * item of its own (`backfill#<source>#sightings`), a commutative, idempotent write (the same string
 * added twice, by a retry after a lost answer, is one element). The backfill reads the set after its
 * own endpoint list, merges every sighting into its log in time order whatever order they arrive in
 * (subscription-log.ts `mergeSighting`, idempotent), writes its checkpoint, and only then DELETEs the
 * elements it merged: a run that dies before its write merges them again next time, and a sighting
 * added meanwhile is not among those deleted.
 *
 * Why the order of the registrar's writes matters: it records the sighting it made BEFORE its first
 * change at HeyGen (a failed record fails the run, nothing changed). A backfill run that lists our
 * endpoint after that change therefore reads the set after the sighting was written, and judges the
 * period the change undid as unsure (reported, never published). The sighting after the change (a
 * fresh list) only narrows that period; it is best effort.
 */
import type { WebhookEndpoint } from './api/client.js';
import { normalizeUrl } from './route-url.js';
import type { SubscriptionSighting } from './subscription-log.js';

/** A sighting and when it was made (the run's clock, before the list was asked). */
export interface DatedSighting extends SubscriptionSighting {
  readonly atMs: number;
  readonly found: boolean;
}

/**
 * What HeyGen's endpoint list `endpoints`, asked at `atMs`, says of `url`: every endpoint at that route
 * that is not disabled (HeyGen sends a disabled one nothing) contributes its types; none at all: not
 * found. `createdAtMs`: the oldest endpoint at our URL.
 */
export function sightingOf(endpoints: readonly WebhookEndpoint[], url: string, atMs: number): DatedSighting {
  const ours = endpoints.filter((e) => normalizeUrl(e.url) === normalizeUrl(url));
  if (ours.length === 0) return { atMs, found: false, events: null };
  const createdAtMs = oldestCreated(ours);
  const live = ours.filter((e) => e.status !== 'disabled');
  const events = live.some((e) => e.events == null) ? null : [...new Set(live.flatMap((e) => e.events ?? []))].sort();
  // As the backfill's own sighting (backfill.ts ourEndpoint): spans are dated by the endpoints HeyGen sends to.
  return { atMs, found: true, events, createdAtMs, liveCreatedAtMs: oldestCreated(live) };
}

/** The oldest `created_at` of `endpoints` (HeyGen's clock; null: none, or none readable). */
function oldestCreated(endpoints: readonly WebhookEndpoint[]): number | null {
  const created = endpoints.map((e) => Date.parse(e.created_at)).filter(Number.isFinite);
  return created.length > 0 ? Math.min(...created) : null;
}

/** One sighting as the string kept in the set: canonical, so the same sighting is one element. */
export function encodeSighting(s: DatedSighting): string {
  const events = s.events === null ? null : [...new Set(s.events)].sort();
  const live = s.liveCreatedAtMs !== undefined ? { liveCreatedAtMs: s.liveCreatedAtMs } : {};
  return JSON.stringify({ atMs: s.atMs, found: s.found, events, createdAtMs: s.createdAtMs ?? null, ...live });
}

/** The sighting a kept string holds; null for one this code cannot read (left alone, never merged). */
export function decodeSighting(raw: string): DatedSighting | null {
  try {
    const v = JSON.parse(raw) as Partial<DatedSighting>;
    const events =
      v.events === null || (Array.isArray(v.events) && v.events.every((e) => typeof e === 'string')) ? v.events : undefined;
    if (typeof v.atMs !== 'number' || typeof v.found !== 'boolean' || events === undefined) return null;
    const createdAtMs = typeof v.createdAtMs === 'number' ? v.createdAtMs : null;
    const live =
      v.liveCreatedAtMs === null || typeof v.liveCreatedAtMs === 'number' ? { liveCreatedAtMs: v.liveCreatedAtMs } : {};
    return { atMs: v.atMs, found: v.found, events, createdAtMs, ...live };
  } catch {
    return null;
  }
}

/** Where the registrar leaves its sightings for the backfill (the state table: DynamoSightingInbox). */
export interface SightingInbox {
  /** Adds one sighting (idempotent). */
  record(sighting: DatedSighting, signal?: AbortSignal): Promise<void>;
  /** Every sighting kept, as kept (`raw`, for `drop`). */
  read(signal?: AbortSignal): Promise<{ readonly raw: string; readonly sighting: DatedSighting }[]>;
  /** Removes these (merged into the checkpoint); others added meanwhile stay. */
  drop(raw: readonly string[], signal?: AbortSignal): Promise<void>;
}

export class MemorySightingInbox implements SightingInbox {
  readonly kept = new Set<string>();
  async record(sighting: DatedSighting): Promise<void> {
    this.kept.add(encodeSighting(sighting));
  }
  async read(): Promise<{ raw: string; sighting: DatedSighting }[]> {
    return [...this.kept].flatMap((raw) => {
      const sighting = decodeSighting(raw);
      return sighting ? [{ raw, sighting }] : [];
    });
  }
  async drop(raw: readonly string[]): Promise<void> {
    for (const r of raw) this.kept.delete(r);
  }
}
