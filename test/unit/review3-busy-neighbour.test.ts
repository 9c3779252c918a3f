/**
 * Review 3 (issue 19): the registrar's proof read only the first 3 pages of HeyGen's account-wide
 * history. Fixed in registrar.ts newestAddressedEntry (the history is read per subscribed type).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import { type Body, EVENTS, HOUR, MINUTE, review3Stack, URL_A } from '../support/review3-stack.js';

describe('review3: a busy neighbour hides the proof', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  let n = 0;
  const event = (type = 'avatar_video.success'): Body => ({ event_type: type, event_data: { video_id: `v${++n}` } });

  /*
   * Causal chain: registrar.ts newestAddressedEntry walks at most `maxPages` (3) pages of 100 from the
   * top of the listing and skips every entry newer than the proof window's end (10 min ago) or of a
   * type not ours. The listing is account-wide: a neighbour app making more than 300 events in 10
   * minutes (30 a minute, of a type we do not subscribe to) fills all three pages with entries that
   * are too new or foreign, so the newest refused entry of ours is never reached: a dead secret is
   * never healed while the neighbour is busy. HeyGen's list call takes an `event_type` filter
   * (GET /v3/webhooks/events?event_type=...): asking per type of ours would make the read independent
   * of the neighbour. Severity: heal blocked (events still recovered by the backfill, HeyGenBackfilled).
   */
  it('review3-busy-neighbour-hides-proof: a neighbour making 40 events a minute does not keep our dead secret from being healed', async () => {
    const a = review3Stack(hg, { toleranceSeconds: 0 });
    await a.register();
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync'); // its sighting
    const other = hg.fake.eventTypes.find((t) => !EVENTS.includes(t)) as string;
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks', [other]);
    const [ep] = hg.fake.endpointsFor(URL_A);
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` }); // our secret dies
    clock.t += MINUTE;
    expect(await a.receive(event())).toBe(401); // HeyGen's delivery to us, refused
    for (let m = 0; m < 15; m++) {
      clock.t += MINUTE;
      for (let k = 0; k < 40; k++) hg.fake.emit(neighbour.endpoint_id, event(other));
    }
    const before = hg.fake.requestsTo('GET', /\/v3\/webhooks\/events$/).length;
    const run = await a.register();
    expect(run.outcome).toBe('secret_mismatch');
    // FIXED (registrar.ts newestAddressedEntry): the history is read per type of ours (`event_type`,
    // one WebhookEventType per query, as the OpenAPI file has it; the fake validates every request
    // against that file, and useFakeHeyGen fails on any violation): never a neighbour's type, never unfiltered.
    const reads = hg.fake.requestsTo('GET', /\/v3\/webhooks\/events$/).slice(before);
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((r) => r.query.event_type))).toEqual(new Set(EVENTS));
    expect(hg.fake.violations).toEqual([]);
  });

  it('review3-event-type-filter-contract: the fake filters the history by `event_type` as the OpenAPI file defines it (one type; unknown types refused)', async () => {
    const [ours, other] = EVENTS as [string, string];
    hg.fake.emit('ep_x', event(ours));
    hg.fake.emit('ep_x', event(other));
    const page = await hg.client.listEvents({ eventType: ours });
    expect(page.events.map((e) => e.eventType)).toEqual([ours]);
    expect((await hg.client.listEvents({})).events).toHaveLength(2);
    await expect(hg.client.listEvents({ eventType: 'not_a.type' })).rejects.toThrow();
    expect(hg.fake.violations.some((v) => v.includes('event_type'))).toBe(true); // the spec's enum
    hg.fake.violations.length = 0;
  });
});
