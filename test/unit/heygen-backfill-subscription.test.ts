/**
 * Issue 19, "the backfill judges a subscription change over time by today's subscription list": HeyGen's
 * history is account-wide, and which entries were addressed to us depends on the types our endpoint
 * subscribed to WHEN each was created. The backfill keeps a log of our endpoint's types on its runs'
 * clock (providers/heygen/runtime/subscription-log.ts, checkpoint field `subscriptions`) and judges each
 * entry by the set of its time: a type added does not make a neighbour's older entries ours; a type
 * removed does not disown older entries HeyGen sent us; an entry created while the change went unseen
 * that the relay never published is reported (`subscription`), never published. The real backfill and
 * plan (scheduledBackfill, as the Lambda runs it) against the fake HeyGen; in-memory dedup and bus.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import {
  acknowledgeUncovered,
  MemoryBackfillCheckpoint,
  scheduledBackfill,
  uncoveredTotals,
} from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { reconcile } from '../../providers/heygen/runtime/registrar.js';
import { MemorySightingInbox } from '../../providers/heygen/runtime/sightings.js';
import { addressedAt, recordSighting, recordSubscription } from '../../providers/heygen/runtime/subscription-log.js';
import { sharedMemoryDedup } from '../support/backfill-dedup.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
const OUR_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const A = 'avatar_video.success';
const B = 'avatar_video.fail';

describe('Issue 19: the backfill judges each history entry by the subscription of its time', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  afterEach(() => {
    hg.fake.historyRetentionMs = Number.POSITIVE_INFINITY;
  });

  /** Our endpoint (configured `ours`, registered now), a neighbour's (`theirs`), a dedup table, a bus. */
  function world(ours: string[], theirs: string[]) {
    const now = () => clock.t;
    const { check, claim } = sharedMemoryDedup(now, WINDOW);
    const ep = hg.fake.seedEndpoint(OUR_URL, [...ours]);
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks', theirs);
    const bus: RelayEvent[] = [];
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    // Where the registrar tells the backfill's log what it saw (sightings.ts).
    const sightings = new MemorySightingInbox();
    let n = 0;
    /** HeyGen creates an event of `type` for `endpointId` at `at`, never delivered to the relay. */
    const event = (endpointId: string, type: string, at = clock.t) => {
      const e = { event_type: type, event_data: { video_id: `v${++n}` } };
      hg.fake.emit(endpointId, e, at);
      return heygenEventKey(JSON.stringify(e));
    };
    /**
     * One scheduled run; `trouble`: a 5xx answered just before (the run sweeps); `afterListing`: what
     * happens between HeyGen's endpoint list being read and the run's start (the lease, the checkpoint).
     */
    const scheduled = async (trouble = false, afterListing?: () => void) => {
      if (trouble) await evidence.record('heygen', 'failure', clock.t - 60_000);
      const endpoint = await ourEndpoint(hg.client, OUR_URL, ours, undefined, now);
      afterListing?.();
      const run = await scheduledBackfill({
        windowMs: WINDOW,
        checkpoint,
        evidence,
        sightings,
        deps: {
          history: hg.client,
          endpoint,
          check,
          claim,
          publisher: { publish: async (e) => void bus.push(e) },
          now,
        },
      });
      expect(run.outcome).toBe('done');
      return run;
    };
    const onBus = (key: string) => bus.some((e) => e.id === key);
    /** The registrar (the real one, holding our endpoint's secret) at the model's clock, telling `sightings`. */
    const store = new MemorySigningSecretStore({ secret: ep.secret, endpointId: ep.endpoint_id, url: OUR_URL }, undefined, now);
    const registrar = () => reconcile({ url: OUR_URL, events: ours }, { client: hg.client, secretStore: store, sightings, now });
    /** The keys of the entries reported unsure (`subscription` periods) in the checkpoint. */
    const reported = () => (checkpoint.state.uncovered ?? []).flatMap((p) => (p.reason === 'subscription' ? (p.keys ?? []) : []));
    return { ep, neighbour, bus, checkpoint, sightings, event, scheduled, registrar, onBus, reported };
  }

  it("a type added to our endpoint: the neighbour's older entries of that type are not published on our bus; ours after the change are; one created while the change went unseen is reported, not published", async () => {
    const w = world([A], [B]);
    await w.scheduled(); // the first run: the log starts (HeyGen lists the configured types)
    const theirs: string[] = [];
    for (let h = 1; h <= 3; h++) {
      clock.t += HOUR;
      theirs.push(w.event(w.neighbour.endpoint_id, B, clock.t - 30 * 60_000)); // a neighbour's, not ours then
      await w.scheduled();
    }
    const unseen = w.event(w.neighbour.endpoint_id, B, clock.t + 20 * 60_000); // between the last run and the change
    clock.t += 40 * 60_000;
    w.ep.events = [A, B]; // B added to our endpoint (HeyGen's dashboard)
    clock.t += 20 * 60_000;
    await w.scheduled(); // the first run to see the change: B is ours from here on
    const afterChange = w.event(w.ep.endpoint_id, B, clock.t + 15 * 60_000); // past LOG_SKEW_MS after the sighting
    clock.t += HOUR;
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    for (const k of theirs) expect(w.onBus(k)).toBe(false);
    expect(w.onBus(unseen)).toBe(false);
    expect(w.onBus(afterChange)).toBe(true);
    expect(run.summary?.foreign).toBeGreaterThanOrEqual(theirs.length);
    expect(w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription')).toEqual([
      expect.objectContaining({ reason: 'subscription', entries: 1 }),
    ]);
  });

  it('a type removed from our endpoint: older entries of that type HeyGen sent us and the relay never published are still recovered', async () => {
    const w = world([A, B], []);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled();
    const seenBoth = clock.t;
    clock.t += HOUR;
    await w.scheduled();
    w.ep.events = [A]; // B removed
    clock.t += HOUR;
    // Delivered to us while B was ours (both runs around it saw B), never reached the relay, and
    // listed by HeyGen only now (late): no run looked at it before the change.
    const ours = w.event(w.ep.endpoint_id, B, seenBoth + 30 * 60_000);
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(ours)).toBe(true);
    expect(w.checkpoint.state.uncovered ?? []).toEqual([]);
  });

  it("subscription-endpoint-replaced: our endpoint deleted between two runs and made again by the registrar: a neighbour's entry of our type from while we had none is never published (reported), ours on the new endpoint are", async () => {
    const w = world([A], [A]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(); // saw our endpoint with A
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id); // deleted in HeyGen's dashboard
    const theirsAt = clock.t + 20 * 60_000;
    const theirs = w.event(w.neighbour.endpoint_id, A, theirsAt); // HeyGen had no endpoint of ours
    clock.t += 40 * 60_000;
    const renewed = hg.fake.seedEndpoint(OUR_URL, [A]); // the registrar registers our endpoint again
    const ours = w.event(renewed.endpoint_id, A, clock.t + 10 * 60_000);
    clock.t += 20 * 60_000;
    await w.scheduled(); // sees the new endpoint: made after the last sighting of the old one
    clock.t += HOUR;
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(theirs)).toBe(false);
    expect(w.onBus(ours)).toBe(true);
    // Reported, by each run that read it (a reading counted twice loses nothing): that entry alone.
    const reported = w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription') ?? [];
    expect(reported.length).toBeGreaterThan(0);
    for (const p of reported) expect(p).toMatchObject({ entries: 1, fromMs: theirsAt, untilMs: theirsAt });
  });

  it("replaced-within-skew-of-sighting: our endpoint deleted right after a run saw it and made again 4 min later: a neighbour's entry of our type between is never published (reported), ours on the new endpoint are", async () => {
    // Chaos replays --seed 897592139 --path 1481 and --path 2598: the new endpoint's `created_at` lay within
    // the log's clock bound (LOG_SKEW_MS) of the run that saw the old one, so the log read it as the same
    // endpoint and one span covered the minutes with no endpoint of ours. Both times are HeyGen's: a later
    // oldest `created_at` than the span's proves the old endpoint gone, whatever the runs' clock says.
    const w = world([A], [A]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(); // saw our endpoint with A
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id);
    const theirsAt = clock.t + 2 * 60_000;
    const theirs = w.event(w.neighbour.endpoint_id, A, theirsAt); // HeyGen had no endpoint of ours
    clock.t += 4 * 60_000;
    const renewed = hg.fake.seedEndpoint(OUR_URL, [A]); // the registrar registers our endpoint again
    const ours = w.event(renewed.endpoint_id, A, clock.t + 20 * 60_000);
    clock.t += HOUR;
    await w.scheduled();
    clock.t += HOUR;
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(theirs)).toBe(false);
    expect(w.onBus(ours)).toBe(true);
    const reported = w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription') ?? [];
    expect(reported.length).toBeGreaterThan(0);
    for (const p of reported) expect(p).toMatchObject({ entries: 1, fromMs: theirsAt, untilMs: theirsAt });
  });

  it("disabled-then-replaced: our endpoint disabled and a new one made at our URL 30 min later: a neighbour's entry of our type between is never published (reported), ours on the new endpoint are", async () => {
    // Chaos replay --seed 897592139 --path 2270: HeyGen lists the disabled endpoint (older `created_at`)
    // next to the new one, so the oldest `created_at` at our URL never moved and the log saw no
    // replacement. A disabled endpoint is sent nothing: the log reads the oldest endpoint HeyGen sends to.
    const w = world([A], [A]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(); // saw our endpoint with A
    w.ep.status = 'disabled'; // HeyGen disabled it (failed deliveries)
    const theirsAt = clock.t + 10 * 60_000;
    const theirs = w.event(w.neighbour.endpoint_id, A, theirsAt); // sent to the neighbour only
    clock.t += 30 * 60_000;
    const renewed = hg.fake.seedEndpoint(OUR_URL, [A]); // a new endpoint at our URL; the disabled one stays listed
    const ours = w.event(renewed.endpoint_id, A, clock.t + 20 * 60_000);
    clock.t += HOUR;
    await w.scheduled();
    clock.t += HOUR;
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(theirs)).toBe(false);
    expect(w.onBus(ours)).toBe(true);
    const reported = w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription') ?? [];
    expect(reported.length).toBeGreaterThan(0);
    for (const p of reported) expect(p).toMatchObject({ entries: 1, fromMs: theirsAt, untilMs: theirsAt });
  });

  it("subscription-no-endpoint-yet: a run before the registrar registered (no endpoint at our URL), then our endpoint: our first event is published, a neighbour's from before is foreign, nothing reported", async () => {
    const w = world([A], [A]);
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id); // not registered yet (no API key until now)
    await w.scheduled(); // HeyGen lists no endpoint at our URL: nothing is addressed to us
    const theirs = w.event(w.neighbour.endpoint_id, A, clock.t + 10 * 60_000);
    clock.t += 20 * 60_000;
    const ep = hg.fake.seedEndpoint(OUR_URL, [A]);
    const ours = w.event(ep.endpoint_id, A, clock.t + 10 * 60_000);
    clock.t += 40 * 60_000;
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(true);
    expect(w.onBus(ours)).toBe(true);
    expect(w.onBus(theirs)).toBe(false);
    expect(w.checkpoint.state.uncovered ?? []).toEqual([]);
  });

  it('first-log-starts-at-our-endpoint: a neighbour sharing our type; its entry made before our endpoint existed is not published (reported unsure), ours after it is', async () => {
    const w = world([A], [A]);
    const created = Date.parse(w.ep.created_at);
    // HeyGen's entry 3 min before our endpoint was registered (inside the first run's 5 min of clock
    // slack before its origin, here our endpoint's creation): sent to the neighbour, not to us.
    const before = w.event(w.neighbour.endpoint_id, A, created - 3 * 60_000);
    const ours = w.event(w.ep.endpoint_id, A, created + 10 * 60_000);
    clock.t = created + HOUR;
    const first = await w.scheduled(); // the first run: the log starts at our endpoint, not the window's far end
    // Before: the log started at the window's far end, the neighbour's entry was judged ours and published.
    expect(w.onBus(before)).toBe(false);
    expect(w.onBus(ours)).toBe(true);
    expect(first.summary?.uncovered.map((p) => [p.reason, p.entries])).toEqual([['subscription', 1]]);
  });

  it('unsure-counted-once: an unsure entry is counted once in UncoveredEntries: not also in the dedup_window gap, and not again by the next sweep that finds it still unpublished', async () => {
    const w = world([A], []);
    const created = Date.parse(w.ep.created_at);
    // HeyGen lists [A, B] for our endpoint, the stack is configured with [A]: no log can start at the
    // window's far end, so an entry of A before the first run is unsure (subscription-log.ts).
    w.ep.events = [A, B];
    for (const h of [1, 13, 70]) w.event(w.ep.endpoint_id, A, created + h * HOUR); // never delivered
    clock.t = created + 72 * HOUR; // the backfill's first run, 3 days after deploy
    const first = await w.scheduled();
    expect(first.plan).toMatchObject({ reason: 'first_run', gapFromMs: created });
    // 1 h and 13 h: older than the window, counted in the gap only (never looked up); 70 h: unsure.
    expect(first.summary?.uncovered.map((p) => [p.reason, p.entries])).toEqual([
      ['subscription', 1],
      ['dedup_window', 2],
    ]);
    expect(uncoveredTotals(w.checkpoint.state).entries).toBe(3);
    clock.t += HOUR;
    const again = await w.scheduled(true); // a sweep whose 6 h overlap reads the 70 h entry again
    expect(again.plan).toMatchObject({ kind: 'sweep', reason: 'trouble' });
    expect(again.summary?.uncovered).toEqual([expect.objectContaining({ reason: 'subscription', entries: 1 })]);
    expect(uncoveredTotals(w.checkpoint.state).entries).toBe(3); // before: 4 (metric UncoveredEntries)
    expect(w.bus).toEqual([]);
  });

  it('unsure-acknowledged-stays-quiet: an unsure entry a person acknowledged (heygen-relay backfill --acknowledge-gap) is not reported again by the next sweep that finds it still unpublished', async () => {
    const w = world([A], []);
    const created = Date.parse(w.ep.created_at);
    w.ep.events = [A, B]; // as in unsure-counted-once: the first run's log starts at the run
    w.event(w.ep.endpoint_id, A, created + 2 * HOUR);
    clock.t = created + 4 * HOUR;
    await w.scheduled();
    expect(uncoveredTotals(w.checkpoint.state)).toMatchObject({ periods: 1, entries: 1 });
    w.checkpoint.state = acknowledgeUncovered(w.checkpoint.state); // what --acknowledge-gap writes
    clock.t += HOUR;
    const again = await w.scheduled(true); // its overlap reads the entry again
    expect(again.plan).toMatchObject({ kind: 'sweep', reason: 'trouble' });
    expect(uncoveredTotals(w.checkpoint.state)).toMatchObject({ periods: 0, entries: 0 }); // before: the alarm again
  });

  it('a run that could not ask HeyGen (the endpoint list failed) leaves the log as it was: the configured types are no sighting', () => {
    const log = recordSubscription(undefined, [A], 1_000, 0);
    expect(recordSighting(log, { events: [A, B] }, 2_000, 0)).toBe(log);
    expect(recordSighting(log, { events: [A], found: false }, 2_000, 0)?.at(-1)).toMatchObject({ events: [] });
  });

  it("subscription-seen-at-listing: a type removed after the endpoint list was read but before the run started: a neighbour's entry of it created meanwhile is not published", async () => {
    const w = world([A, B], [A]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled();
    clock.t += HOUR;
    let theirs = '';
    await w.scheduled(false, () => {
      // The list said [A, B]; then, while the run waited for its lease, A was removed from our endpoint
      // and the neighbour's endpoint got an A event: HeyGen did not address it to us.
      clock.t += 1_000;
      w.ep.events = [B];
      clock.t += 1_000;
      theirs = w.event(w.neighbour.endpoint_id, A, clock.t);
      clock.t += 3_000;
    });
    clock.t += HOUR;
    const run = await w.scheduled(true); // sees [B]: the entry lies where the run cannot tell the set
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(theirs)).toBe(false);
    expect(w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription')).toEqual([
      expect.objectContaining({ reason: 'subscription', entries: 1 }),
    ]);
  });

  it("fresh-report-counted-once: a freshness run's unsure report is kept in the checkpoint, and the sweep that reads the entry again does not count it twice", async () => {
    const w = world([A, B], []);
    await w.scheduled(); // the first run: the log starts with [A, B]
    clock.t += HOUR;
    await w.scheduled();
    clock.t += 20 * 60_000;
    w.event(w.ep.endpoint_id, B); // ours, never received
    clock.t += 10 * 60_000;
    w.ep.events = [A]; // B removed, unseen until the next run: the entry is unsure
    clock.t += 30 * 60_000;
    const fresh = await w.scheduled();
    expect(fresh.plan).toMatchObject({ kind: 'fresh' });
    expect(uncoveredTotals(w.checkpoint.state)).toMatchObject({ periods: 1, entries: 1 });
    clock.t += HOUR;
    const sweep = await w.scheduled(true); // reads the entry again
    expect(sweep.plan).toMatchObject({ kind: 'sweep', reason: 'trouble' });
    expect(sweep.summary?.uncovered).toEqual([expect.objectContaining({ reason: 'subscription', entries: 1 })]);
    expect(uncoveredTotals(w.checkpoint.state)).toMatchObject({ periods: 1, entries: 1 });
    expect(w.bus).toEqual([]);
  });

  it("before-the-log-origin-still-foreign: a first run that finds no endpoint reports entries of the configured types before its log, but not a neighbour's from before the stack's origin", async () => {
    const w = world([A], [A]);
    const theirs = w.event(w.neighbour.endpoint_id, A, clock.t - 2 * HOUR); // before the stack was born
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id);
    const bornAtMs = clock.t - HOUR;
    const ep = hg.fake.seedEndpoint(OUR_URL, [A]); // the registrar's, deleted again before the first run
    const ours = w.event(ep.endpoint_id, A, clock.t - 30 * 60_000);
    hg.fake.deleteBehindOurBack(ep.endpoint_id);
    const run = await scheduledBackfill({
      windowMs: WINDOW,
      checkpoint: w.checkpoint,
      evidence: new MemoryEvidenceStore(),
      deps: {
        history: hg.client,
        endpoint: await ourEndpoint(hg.client, OUR_URL, [A], undefined, () => clock.t),
        bornAtMs,
        ...sharedMemoryDedup(() => clock.t, WINDOW),
        publisher: { publish: async (e) => void w.bus.push(e) },
        now: () => clock.t,
      },
    });
    expect(run.summary?.foreign).toBeGreaterThanOrEqual(1);
    expect(w.onBus(theirs) || w.onBus(ours)).toBe(false);
    const reported = w.checkpoint.state.uncovered?.filter((p) => p.reason === 'subscription') ?? [];
    expect(reported).toEqual([expect.objectContaining({ entries: 1, keys: [ours] })]);
  });

  it('unsighted-run-foreign-stays-foreign: while the endpoint list fails, an entry of a type neither the log nor the configuration has is foreign, not reported; one of ours is reported, not published', async () => {
    const w = world([A], [B]);
    await w.scheduled(); // the log: [A]
    clock.t += HOUR;
    const theirs = w.event(w.neighbour.endpoint_id, B, clock.t + 10 * 60_000);
    const ours = w.event(w.ep.endpoint_id, A, clock.t + 20 * 60_000);
    clock.t += HOUR;
    const run = await scheduledBackfill({
      windowMs: WINDOW,
      checkpoint: w.checkpoint,
      evidence: new MemoryEvidenceStore(),
      deps: {
        history: hg.client,
        endpoint: { events: [A], configured: [A] }, // the list failed: no sighting
        ...sharedMemoryDedup(() => clock.t, WINDOW),
        publisher: { publish: async (e) => void w.bus.push(e) },
        now: () => clock.t,
      },
    });
    expect(run.summary?.foreign).toBeGreaterThanOrEqual(1);
    expect(w.onBus(theirs) || w.onBus(ours)).toBe(false);
    expect(w.checkpoint.state.uncovered).toEqual([expect.objectContaining({ reason: 'subscription', entries: 1, keys: [ours] })]);
  });

  it('the rule itself: inside a span its set; between two spans both must agree; before the log, a type of its first set is unsure', () => {
    // Hours apart: the clock skew at a span's edges (span-edge-unsure) plays no part here.
    const h = (n: number) => n * HOUR;
    let log = recordSubscription(undefined, [A], h(10), 0);
    log = recordSubscription(log, [A], h(20), 0);
    log = recordSubscription(log, [A, B], h(30), 0);
    expect(log).toEqual([
      { fromMs: h(10), seenMs: h(20), events: [A] },
      { fromMs: h(30), seenMs: h(30), events: [A, B] },
    ]);
    expect(addressedAt(B, h(15), log)).toBe('foreign');
    expect(addressedAt(A, h(25), log)).toBe('ours');
    expect(addressedAt(B, h(25), log)).toBe('unsure');
    expect(addressedAt(B, h(30), log)).toBe('unsure'); // at the sighting where B came: either set (span-edge-unsure)
    expect(addressedAt(B, h(31), log)).toBe('ours');
    expect(addressedAt(A, h(5), log)).toBe('unsure');
    expect(addressedAt(B, h(5), log)).toBe('foreign');
    // Before the log, or after its last sighting in a run that listed no endpoint: the configured types too.
    expect(addressedAt(B, h(5), log, { configured: [A, B] })).toBe('unsure');
    expect(addressedAt(B, h(35), log, { configured: [A], sighted: false })).toBe('unsure');
    expect(addressedAt('video_translate.success', h(35), log, { configured: [A], sighted: false })).toBe('foreign');
    expect(addressedAt(B, h(35), log, { configured: [A] })).toBe('ours');
    expect(recordSubscription(log, [B], h(100), h(50))).toEqual([{ fromMs: h(100), seenMs: h(100), events: [B] }]);
  });

  it('set-back-between-sightings: a type removed by a person, set back by our CLI before the next run, then the endpoint gone: its entry between the two sightings is unsure (reported), not foreign', () => {
    // Chaos replay --seed 1864934608 --path 2200: one run saw [A] (B removed in the dashboard), the CLI
    // registrar PATCHed [A, B] back, HeyGen addressed B to us, then the endpoint went before the next
    // run (which saw none). Neither sighting has B, yet the configured set applied between them.
    const h = (n: number) => n * HOUR;
    let log = recordSubscription(undefined, [A], h(0), 0);
    log = recordSighting(log, { events: null, found: false }, h(2), 0) ?? log;
    expect(addressedAt(B, h(1), log, { configured: [A, B] })).toBe('unsure');
    expect(addressedAt(A, h(1), log, { configured: [A, B] })).toBe('unsure');
    // A type neither a sighting nor the configuration has stays foreign; inside a span, its set alone.
    expect(addressedAt('video_translate.success', h(1), log, { configured: [A, B] })).toBe('foreign');
    expect(addressedAt(B, h(0), log, { configured: [A, B] })).toBe('foreign');
  });

  it('span-edge-unsure: an entry within the clock skew of a sighting where the set changed may be of either set: unsure, never published', () => {
    const MIN = 60_000;
    let log = recordSubscription(undefined, [A, B], 0, 0);
    log = recordSubscription(log, [A, B], 60 * MIN, 0); // the last sighting with B
    log = recordSubscription(log, [A], 120 * MIN, 0); // B removed: first seen here
    log = recordSubscription(log, [A], 180 * MIN, 0);
    // At the instant of the last sighting with B (chaos replay --seed -346711796 --path 592): a person
    // removed B then, a neighbour's entry of it was created then; HeyGen's clock may be a little behind.
    expect(addressedAt(B, 60 * MIN, log)).toBe('unsure');
    expect(addressedAt(B, 56 * MIN, log)).toBe('unsure');
    expect(addressedAt(B, 49 * MIN, log)).toBe('ours'); // further than the log's skew (LOG_SKEW_MS): the span's set
    // Just after the sighting that started the span without B: maybe still B's time.
    expect(addressedAt(B, 123 * MIN, log)).toBe('unsure');
    expect(addressedAt(B, 131 * MIN, log)).toBe('foreign');
    // A type both sets hold is ours at the edges too.
    expect(addressedAt(A, 60 * MIN, log)).toBe('ours');
    expect(addressedAt(A, 121 * MIN, log)).toBe('ours');
    // A replacement (the new endpoint made after the last sighting): an entry just before its `created_at`
    // may be its first (chaos replay --seed 48005493 --path 275): unsure, not foreign; well before it, foreign.
    let replaced = recordSubscription(undefined, [], 0, 0);
    replaced = recordSubscription(replaced, [A], 120 * MIN, 0, 60 * MIN);
    expect(addressedAt(A, 60 * MIN - 1, replaced)).toBe('unsure');
    expect(addressedAt(A, 49 * MIN, replaced)).toBe('foreign');
    expect(addressedAt(A, 60 * MIN, replaced)).toBe('ours');
  });
  it('replacement-at-span-edge: an entry within the clock skew of the last sighting before a replacement may lie in the gap with no endpoint of ours: unsure, never published', () => {
    const MIN = 60_000;
    // Chaos replay --seed 4242 --path 55: a run saw our endpoint at 0 and a person deleted it then; HeyGen,
    // 90 s behind, stamped a neighbour's entry of A made at 1 min as -30 s, before that sighting; the
    // registrar made a new endpoint at 30 min (28.5 by HeyGen), seen by the next run. The edge judged the
    // entry by the two spans' sets (both A): ours, published. Past the sighting lies the replacement's gap.
    const keep = -HOUR * 10; // every span kept
    let log = recordSubscription(undefined, [A], -60 * MIN, keep, -62 * MIN);
    log = recordSubscription(log, [A], 0, keep, -62 * MIN);
    log = recordSubscription(log, [A], 66 * MIN, keep, 28.5 * MIN);
    expect(log).toHaveLength(2);
    expect(addressedAt(A, -0.5 * MIN, log)).toBe('unsure');
    expect(addressedAt(A, -20 * MIN, log)).toBe('ours'); // inside the span, past the skew: its set
    expect(addressedAt(A, 10 * MIN, log)).toBe('unsure'); // the gap: the old endpoint or none
    expect(addressedAt(A, 40 * MIN, log)).toBe('ours'); // after the new endpoint's `created_at`
    // An endpoint made well before the last sighting existed then (at our URL or not): the oldest one
    // gone is no replacement of the span, judged as before (one span, the same set).
    const older = recordSubscription(log.slice(0, 1), [A], 66 * MIN, keep, -30 * MIN);
    expect(older).toEqual([{ fromMs: -60 * MIN, seenMs: 66 * MIN, events: [A], createdAtMs: -62 * MIN }]);
    // Not a replacement (the same endpoint seen again): the edge keeps the two sets.
    let same = recordSubscription(undefined, [A], -60 * MIN, keep, -62 * MIN);
    same = recordSubscription(same, [A], 0, keep, -62 * MIN);
    same = recordSubscription(same, [A, B], 66 * MIN, keep, -62 * MIN);
    expect(addressedAt(A, -0.5 * MIN, same)).toBe('ours');
    expect(addressedAt(B, -0.5 * MIN, same)).toBe('unsure');
  });

  it('span-edge-beyond-ingress-tolerance: HeyGen 6 min off (every live delivery refused stale): an entry near a change is unsure, not judged by a set that may not have applied', () => {
    const MIN = 60_000;
    // --seed 1864934608 --path 1984: our endpoint seen at 0 and disabled right after (seen [] at 120 min);
    // a neighbour's entry of A made at 1 min, stamped -5 min by HeyGen's clock 6 min behind.
    let disabled = recordSubscription(undefined, [A], -60 * MIN, 0);
    disabled = recordSubscription(disabled, [A], 0, 0);
    disabled = recordSubscription(disabled, [], 120 * MIN, 0);
    expect(addressedAt(A, -5 * MIN, disabled)).toBe('unsure');
    // --path 458: B removed right after the sighting at 1 min, put back 45 min later (seen at 240 min);
    // HeyGen 6 min ahead stamps our endpoint (made at 0) 6 min after that sighting: no replacement.
    let removed = recordSubscription(undefined, [A, B], 0, 0, 6 * MIN);
    removed = recordSubscription(removed, [A], 1 * MIN, 0);
    removed = recordSubscription(removed, [A, B], 240 * MIN, 0, 6 * MIN + 1);
    expect(removed).toHaveLength(3);
    expect(addressedAt(B, 21 * MIN, removed)).toBe('unsure'); // a neighbour's entry of B while we had none
    // The mirror: HeyGen 6 min ahead, an entry of B just before the sighting without it may be ours.
    let later = recordSubscription(undefined, [A, B], 0, 0);
    later = recordSubscription(later, [A], 120 * MIN, 0);
    later = recordSubscription(later, [A], 180 * MIN, 0);
    expect(addressedAt(B, 126 * MIN, later)).toBe('unsure');
  });
  // Chaos replay --seed 897592139 --path 1058: the stack born at T, its first backfill run at T finds no endpoint
  // at our URL (the origin is the birth); the registrar makes ours right after, stamped T - 6 min by HeyGen's
  // clock 6 min behind; our event at T + 30 s is stamped T - 5.5 min, its delivery failed. The origin floor was
  // the birth less CLOCK_SKEW_MS (5 min): the entry was `foreign`, never published nor reported, no alarm.
  it('origin-floor-beyond-ingress-tolerance: HeyGen 6 min behind, our event right after the stack was born is reported (or published), never dropped as before the origin', async () => {
    const MIN = 60_000;
    const w = world([A], [A]);
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id); // not registered yet: the first run sees no endpoint
    const bornAtMs = clock.t;
    const theirs = w.event(w.neighbour.endpoint_id, A, bornAtMs - 11 * MIN); // before the birth, even on HeyGen's clock
    const dedup = sharedMemoryDedup(() => clock.t, WINDOW);
    await scheduledBackfill({
      windowMs: WINDOW,
      checkpoint: w.checkpoint,
      evidence: new MemoryEvidenceStore(),
      sightings: w.sightings,
      deps: {
        history: hg.client,
        endpoint: await ourEndpoint(hg.client, OUR_URL, [A], undefined, () => clock.t),
        bornAtMs,
        ...dedup,
        publisher: { publish: async (e) => void w.bus.push(e) },
        now: () => clock.t,
      },
    });
    expect(w.checkpoint.state.originMs).toBe(bornAtMs);
    clock.t = bornAtMs - 6 * MIN; // HeyGen's clock, 6 min behind, stamps the registrar's endpoint
    const ep = hg.fake.seedEndpoint(OUR_URL, [A]);
    const ours = w.event(ep.endpoint_id, A, bornAtMs - 5.5 * MIN); // made at T + 30 s
    clock.t = bornAtMs + 2 * HOUR;
    await w.scheduled(true); // a 5xx was answered: the run sweeps
    expect(w.onBus(theirs)).toBe(false);
    expect(w.onBus(ours) || w.reported().includes(ours)).toBe(true);
    expect(w.reported()).not.toContain(theirs);
  });
  // Chaos replays --seed 1864934608 --path 1271; --seed -346711796 --path 561: HeyGen's endpoint list keeps no
  // trace of a URL edited away and back (same id, same `created_at`, same types), so two backfill runs around it
  // see one set. The registrar saw it (its `update_url` PATCH) and tells the log (sightings.ts): a sighting
  // with no endpoint at our URL before its PATCH, one with our types after it.
  it("url-edited-away-and-back: while our endpoint's URL pointed elsewhere, a neighbour's entry of our type is not published on our bus", async () => {
    const w = world([A], [A]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(); // saw our endpoint at our URL with A
    w.ep.url = 'https://elsewhere.example.com/hooks'; // a person edits our endpoint's URL away
    const theirs = w.event(w.neighbour.endpoint_id, A, clock.t + 10 * 60_000); // HeyGen addressed nothing to our URL
    clock.t += 40 * 60_000;
    const reg = await w.registrar(); // patches the URL back (`update_url`), telling the backfill what it saw
    expect(reg.actions).toContainEqual(expect.objectContaining({ type: 'update_url', status: 'done' }));
    expect(w.ep.url).toBe(OUR_URL);
    const ours = w.event(w.ep.endpoint_id, A, clock.t + 15 * 60_000); // ours again, past LOG_SKEW_MS after the PATCH
    clock.t += 30 * 60_000;
    const run = await w.scheduled(true);
    expect(run.plan).toMatchObject({ kind: 'sweep' });
    expect(w.onBus(theirs)).toBe(false);
    expect(w.reported()).toContain(theirs); // unsure: reported (BackfillGap), never published
    expect(w.onBus(ours)).toBe(true); // the sighting after the PATCH: ours again from then on
    expect(w.sightings.kept.size).toBe(0); // merged into the checkpoint, then dropped
  });

  it("types-changed-and-back: a type removed from our endpoint and patched back by the registrar (`events_differ`): a neighbour's entry of it in between is not published", async () => {
    const w = world([A, B], [B]);
    await w.scheduled();
    clock.t += HOUR;
    await w.scheduled(); // saw [A, B]
    w.ep.events = [A]; // a person removes B
    const theirs = w.event(w.neighbour.endpoint_id, B, clock.t + 10 * 60_000);
    clock.t += 40 * 60_000;
    const reg = await w.registrar(); // sets [A, B] back (`update`)
    expect(reg.actions).toContainEqual(expect.objectContaining({ type: 'update', status: 'done' }));
    clock.t += 20 * 60_000;
    await w.scheduled(true);
    expect(w.onBus(theirs)).toBe(false);
    expect(w.reported()).toContain(theirs);
  });
});
