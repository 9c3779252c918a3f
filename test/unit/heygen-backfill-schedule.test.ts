/**
 * Issue 11, the scheduled backfill: every event HeyGen gave up on is found within the dedup window
 * even with no trouble recorded, a sweep too large for one run goes on from its cursor, the listing's
 * order does not matter, entries EventBridge can never take are parked, and two entries with the same
 * type and data are one event. The real backfill and plan (scheduledBackfill, as the Lambda runs it),
 * the fake HeyGen's history (validated against the OpenAPI file), in-memory dedup and a counting bus.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { UnpublishableError } from '../../functions/core/errors.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import type { ParkedDelivery } from '../../functions/core/ports.js';
import type { EventHistoryPage, HeyGenWebhookClient, HistoryEvent } from '../../providers/heygen/runtime/api/client.js';
import { HeyGenApiError, HeyGenNotFoundError, HeyGenRateLimitError } from '../../providers/heygen/runtime/api/errors.js';
import { BACKFILL_DEFAULTS, type BackfillDeps, backfill, type DedupIndex } from '../../providers/heygen/runtime/backfill.js';
import {
  MemoryBackfillCheckpoint,
  SWEEP_AGE_ALARM_HOURS,
  SWEEP_EVERY_MS,
  scheduledBackfill,
  sweepAgeHours,
} from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
type Ev = { event_type: string; event_data: Record<string, unknown> };

interface Entry {
  status: 'IN_PROGRESS' | 'COMPLETED';
  expiresAt: number;
}

/** One dedup "table" with the backfill's views of it (record, claim, an eventually consistent index). */
function table(now: () => number) {
  const opts = { windowSeconds: WINDOW / 1000, lockSeconds: 15, now };
  const live = new MemoryDedupStore({ ...opts, mode: 'record' });
  const entries = (live as unknown as { entries: Map<string, Entry> }).entries;
  const check = new MemoryDedupStore({ ...opts, mode: 'record' });
  const claim = new MemoryDedupStore({ ...opts, mode: 'claim' });
  Object.assign(check, { entries });
  Object.assign(claim, { entries });
  /** Calls of the batch lookup (BatchGetItem, 100 keys each) and keys read; the table is never scanned. */
  const batches = { calls: 0, keys: 0 };
  const isPublished = (k: string) => {
    const e = entries.get(k);
    return e?.status === 'COMPLETED' && e.expiresAt > now();
  };
  const index: DedupIndex = {
    published: async (keys) => {
      batches.calls += Math.ceil(keys.length / 100);
      batches.keys += keys.length;
      return new Set(keys.filter(isPublished));
    },
  };
  return { live, check, claim, index, entries, batches };
}

describe('Scheduled backfill (scheduledBackfill, as the Lambda runs it)', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  function setup(history: BackfillDeps['history'] = hg.client) {
    const now = () => clock.t;
    const t = table(now);
    const ep = hg.fake.seedEndpoint('https://abc123.lambda-url.eu-west-1.on.aws/heygen');
    const bus: RelayEvent[] = [];
    const parked: ParkedDelivery[] = [];
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    const leases = new MemoryLeaseStore(now);
    let n = 0;
    const next = (): Ev => ({ event_type: 'avatar_video.success', event_data: { video_id: `v${++n}` } });
    /** HeyGen lists the event; the relay received it (live delivery recorded it as published). */
    const delivered = async (e = next(), at = clock.t) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      const key = heygenEventKey(JSON.stringify(e));
      const wall = clock.t;
      clock.t = at; // recorded when it arrived
      await t.live.complete(key, `live-${randomUUID()}`);
      clock.t = wall;
      bus.push({ id: key, origin: 'delivery' } as RelayEvent);
      return e;
    };
    /** HeyGen lists the event; it never reached the ingress (nothing recorded, no trouble). */
    const lost = (e = next(), at = clock.t) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      return e;
    };
    const deps = (extra: Partial<BackfillDeps> = {}): BackfillDeps => ({
      history,
      check: t.check,
      claim: t.claim,
      index: t.index,
      publisher: { publish: async (e) => void bus.push(e) },
      parked: { park: async (d) => void parked.push(d) },
      evidence,
      lease: { store: leases, name: 'heygen-backfill:test' },
      now,
      ...extra,
    });
    const scheduled = (extra: Partial<BackfillDeps> = {}, bounds?: { maxPages?: number; maxEvents?: number }) =>
      scheduledBackfill({ windowMs: WINDOW, checkpoint, evidence, deps: deps(extra), ...(bounds ? { bounds } : {}) });
    const onBusOnce = (events: Ev[]) => {
      const ids = bus.map((e) => e.id);
      for (const e of events)
        expect(
          ids.filter((id) => id === heygenEventKey(JSON.stringify(e))),
          JSON.stringify(e),
        ).toHaveLength(1);
      expect(new Set(ids).size).toBe(ids.length);
    };
    /** `n` events HeyGen lists `stepMs` apart: the ones `isLost` picks never reached the ingress, the rest were delivered. */
    const listed = async (n: number, isLost: (k: number) => boolean, stepMs: number) => {
      const all: Ev[] = [];
      for (let k = 0; k < n; k++) {
        all.push(isLost(k) ? lost() : await delivered());
        clock.t += stepMs;
      }
      return all;
    };
    /** 450 events listed (every third never delivered) and trouble recorded; a run cut at 2 pages leaves a cursor. */
    const walkCutShort = async () => {
      await scheduled();
      const all = await listed(450, (k) => k % 3 === 0, 4_000);
      clock.t += 15 * 60_000;
      evidence.record('heygen', 'failure', clock.t - 60_000);
      expect((await scheduled({}, { maxPages: 2 })).outcome).toBe('partial');
      const cursor = checkpoint.state.cursor;
      expect(cursor?.token).toBeTruthy();
      return { all, cursor: cursor as NonNullable<typeof cursor> };
    };
    return {
      ...t,
      ep,
      bus,
      parked,
      evidence,
      checkpoint,
      leases,
      next,
      delivered,
      lost,
      listed,
      walkCutShort,
      deps,
      scheduled,
      onBusOnce,
    };
  }

  it('an isolated event HeyGen gave up on, with no trouble recorded, is backfilled by the scheduled runs within 24 h, once', async () => {
    const r = setup();
    const all: Ev[] = [];
    // Steady traffic, hourly runs; one event (the 37th of 60) never reached the ingress: throttled
    // at the Function URL, lost on the way, no refusal or 5xx recorded anywhere.
    for (let k = 0; k < 10; k++) all.push(await r.delivered());
    clock.t += HOUR;
    expect((await r.scheduled()).plan).toMatchObject({ kind: 'sweep', reason: 'first_run' });
    let missing: Ev | undefined;
    for (let k = 0; k < 60; k++) {
      if (k === 36) {
        missing = r.lost();
        all.push(missing);
      } else all.push(await r.delivered());
      clock.t += 60_000;
    }
    expect(await r.evidence.read('heygen')).toMatchObject({ lastTroubleAt: null });
    const kinds: string[] = [];
    let foundAfter = -1;
    for (let h = 1; h <= 25; h++) {
      clock.t += HOUR;
      for (let k = 0; k < 5; k++) all.push(await r.delivered());
      const run = await r.scheduled();
      kinds.push(run.plan?.reason ?? 'busy');
      if (foundAfter < 0 && r.bus.some((e) => e.id === heygenEventKey(JSON.stringify(missing)))) foundAfter = h;
    }
    expect(foundAfter).toBeGreaterThan(0);
    expect(foundAfter).toBeLessThanOrEqual(25);
    expect(kinds).toContain('routine'); // the daily sweep ran
    r.onBusOnce(all);
    expect(r.bus.filter((e) => e.origin === 'backfill')).toHaveLength(1);
  });

  it('every isolated miss is found whichever entry it is (no sampling luck): each of 30 positions in turn', async () => {
    for (let pos = 0; pos < 30; pos++) {
      hg.fake.reset();
      clock.t = Date.parse('2026-11-29T00:00:00Z');
      const r = setup();
      await r.scheduled(); // first run, nothing yet
      const all = await r.listed(30, (k) => k === pos, 2 * 60_000);
      for (let h = 0; h < 25; h++) {
        clock.t += HOUR;
        await r.scheduled();
      }
      r.onBusOnce(all);
      expect(
        r.bus.filter((e) => e.origin === 'backfill'),
        `position ${pos}`,
      ).toHaveLength(1);
    }
  });

  it('a sweep larger than one run goes on from its cursor: consecutive runs cover every entry, nothing skipped, nothing published twice', async () => {
    const r = setup();
    await r.scheduled();
    const all: Ev[] = [];
    // 1,500 deliveries an hour for 40 minutes; 1 in 7 never arrived.
    for (let k = 0; k < 1_000; k++) {
      all.push(k % 7 === 3 ? r.lost() : await r.delivered());
      clock.t += 2_400;
    }
    clock.t += 15 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 20 * 60_000); // trouble: the next run sweeps
    const bounds = { maxPages: 3 }; // 300 entries a run
    const outcomes: string[] = [];
    const examined: number[] = [];
    for (let k = 0; k < 8; k++) {
      const run = await r.scheduled({}, bounds);
      outcomes.push(`${run.plan?.reason}:${run.outcome}`);
      if (run.plan?.kind === 'sweep') examined.push(run.summary?.examined ?? 0);
      if (run.outcome === 'done' && run.plan?.kind === 'sweep') break;
      clock.t += 60_000; // nothing new arrives meanwhile
    }
    expect(outcomes).toEqual(['trouble:partial', 'resume:partial', 'resume:partial', 'resume:done']);
    expect(examined.reduce((a, b) => a + b, 0)).toBe(1_000); // each entry exactly once
    r.onBusOnce(all);
    expect(r.bus.filter((e) => e.origin === 'backfill')).toHaveLength(all.filter((_, k) => k % 7 === 3).length);
    expect(r.checkpoint.state.cursor).toBeNull();
  });

  it('a cursor whose page token HeyGen no longer takes (400) restarts the same walk from the first page: finished, nothing twice', async () => {
    const r = setup();
    const { all, cursor } = await r.walkCutShort();
    r.checkpoint.state = { ...r.checkpoint.state, cursor: { ...cursor, token: 'ZXhwaXJlZA' } };
    clock.t += HOUR;
    const resumed = await r.scheduled();
    expect(resumed).toMatchObject({ outcome: 'done', plan: { reason: 'resume' }, summary: { restarted: true } });
    r.onBusOnce(all);
    expect(hg.fake.violations).toEqual([]);
  });

  it('a cursor survives entries arriving between runs (the listing shifts): nothing skipped, nothing published twice', async () => {
    const r = setup();
    await r.scheduled();
    const all = await r.listed(600, (k) => k % 5 === 0, 5_000);
    clock.t += 15 * 60_000;
    r.evidence.record('heygen', 'signature', clock.t - 60_000);
    for (let k = 0; k < 12; k++) {
      // New events (some lost) arrive between runs and push the older ones down the listing.
      for (let j = 0; j < 30; j++) all.push(j % 4 === 0 ? r.lost() : await r.delivered());
      clock.t += 5 * 60_000;
      await r.scheduled({}, { maxPages: 2 });
    }
    // Quiet again: the next sweeps (the daily one at the latest) find the rest.
    for (let h = 0; h < 25; h++) {
      clock.t += HOUR;
      await r.scheduled({}, { maxPages: 2 });
    }
    r.onBusOnce(all);
    expect(r.bus.filter((e) => e.origin === 'backfill')).toHaveLength(120 + 12 * 8);
  });

  it("the listing's order does not matter (HeyGen's spec promises none): shuffled pages, cut at any page, still every event of the window once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), async (seed, maxPages) => {
        hg.fake.reset();
        clock.t = Date.parse('2026-11-29T00:00:00Z');
        const shuffled = shuffledHistory(hg.client, seed);
        const r = setup(shuffled);
        const start = clock.t;
        const inWindow = new Set<string>();
        const lostInWindow: Ev[] = [];
        // Three days of history, 1 event in 3 lost; only the last 48 h can be (and are) recovered.
        const end = start + 72 * HOUR + 20 * 60_000;
        for (let k = 0; k < 360; k++) {
          const at = start + k * 12 * 60_000;
          const e = r.next();
          const recoverable = at > end - WINDOW + 15 * 60_000;
          if (recoverable) inWindow.add(heygenEventKey(JSON.stringify(e)));
          if (k % 3 === 0) {
            r.lost(e, at);
            if (recoverable) lostInWindow.push(e);
          } else await r.delivered(e, at);
        }
        clock.t = end;
        let run = await r.scheduled({}, { maxPages });
        for (let k = 0; k < 100 && run.outcome !== 'done'; k++) run = await r.scheduled({}, { maxPages });
        expect(run.outcome).toBe('done');
        r.onBusOnce(lostInWindow);
        // Nothing older than the window (its record may be gone) was published.
        const backfilled = r.bus.filter((e) => e.origin === 'backfill');
        expect(backfilled).toHaveLength(lostInWindow.length);
        for (const e of backfilled) expect(inWindow.has(e.id)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('a single sweep over pages in shuffled order is not ended by a page older than the window', async () => {
    const r = setup(shuffledHistory(hg.client, 7, 'page'));
    const start = clock.t;
    const lostOnes: Ev[] = [];
    const end = start + 240 * HOUR + 20 * 60_000;
    for (let k = 0; k < 2_400; k++) {
      const at = start + k * 6 * 60_000; // ten days, pages of 10 h each
      const e = r.next();
      if (k % 10 === 0) {
        r.lost(e, at);
        if (at > end - WINDOW) lostOnes.push(e);
      } else await r.delivered(e, at);
    }
    clock.t = end;
    const s = await backfill({ sinceMs: clock.t - WINDOW }, r.deps({ lease: undefined }));
    expect(s.outcome).toBe('done');
    expect(s.backfilled).toBe(lostOnes.length);
    r.onBusOnce(lostOnes);
  });

  it('entries EventBridge can never take are parked with their reason (not only counted), and not published', async () => {
    const r = setup();
    await r.scheduled();
    const big = { event_type: 'avatar_video.success', event_data: { video_id: 'big', caption: 'x'.repeat(300_000) } };
    hg.fake.emit(r.ep.endpoint_id, big);
    const refused = r.lost();
    const refusedKey = heygenEventKey(JSON.stringify(refused));
    clock.t += 20 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 60_000);
    const publish = async (e: RelayEvent) => {
      if (e.id === refusedKey)
        throw new UnpublishableError('rejected_by_bus', 'EventBridge refused the entry permanently', 'MalformedDetail');
      r.bus.push(e);
    };
    const run = await r.scheduled({ publisher: { publish } });
    expect(run.plan?.kind).toBe('sweep');
    expect(run.summary).toMatchObject({ unpublishable: 2, parked: 2, backfilled: 0 });
    expect(r.parked.map((p) => p.reason).sort()).toEqual(['rejected_by_bus', 'too_large']);
    const p = r.parked.find((x) => x.reason === 'too_large');
    expect(p?.id).toBe(heygenEventKey(JSON.stringify(big)));
    expect(JSON.parse(p?.body.toString('utf8') ?? '')).toEqual(big); // the entry as HeyGen listed it
    expect(r.bus).toHaveLength(0);
    // The claim was released: a fixed bus can take it later (republish), nothing is held.
    expect(r.entries.get(refusedKey)).toBeUndefined();
  });

  it('two entries with different event_ids and the same type and data are one event: published once, counted sameContent', async () => {
    const r = setup();
    await r.scheduled();
    const twin = { event_type: 'avatar_video.fail', event_data: { video_id: 'same', error: 'timeout' } };
    const a = hg.fake.emit(r.ep.endpoint_id, twin);
    clock.t += 60_000;
    const b = hg.fake.emit(r.ep.endpoint_id, twin);
    expect(a.event_id).not.toBe(b.event_id);
    clock.t += 20 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 60_000);
    const run = await r.scheduled();
    expect(run.summary).toMatchObject({ backfilled: 1, sameContent: 1 });
    r.onBusOnce([twin]);
  });

  it('an entry a live delivery holds in flight during the sweep is looked at again by the next run (not passed over)', async () => {
    const r = setup();
    const e = r.lost();
    const key = heygenEventKey(JSON.stringify(e));
    clock.t += 20 * 60_000;
    await r.claim.claim(key, 'live-delivery-that-then-fails'); // a live copy holds the claim (15 s lock)
    const first = await r.scheduled(); // the first run's sweep
    expect(first.summary).toMatchObject({ inFlight: 1, backfilled: 0 });
    expect(r.checkpoint.state.unsettled).toBe(true);
    // The live copy failed and HeyGen gave up; its claim's lock has passed.
    clock.t += HOUR;
    const second = await r.scheduled();
    expect(second.plan).toMatchObject({ kind: 'sweep', reason: 'unsettled' });
    expect(second.summary?.backfilled).toBe(1);
    r.onBusOnce([e]);
  });

  it('a backfill that cannot complete a sweep shows it: SweepAgeHours passes the alarm threshold (26 h) while HeyGen fails every run', async () => {
    const broken = { on: false };
    const history: BackfillDeps['history'] = {
      listEvents: (q, o) => (broken.on ? Promise.reject(new Error('HeyGen is down')) : hg.client.listEvents(q, o)),
    };
    const r = setup(history);
    await r.scheduled();
    expect(sweepAgeHours(r.checkpoint.state, clock.t)).toBe(0);
    broken.on = true;
    const ages: number[] = [];
    for (let h = 1; h <= 30; h++) {
      clock.t += HOUR;
      await r.scheduled().catch(() => undefined); // the run fails (the Lambda reports BackfillRuns failed)
      ages.push(sweepAgeHours(r.checkpoint.state, clock.t));
    }
    expect(ages[24]).toBeLessThanOrEqual(SWEEP_AGE_ALARM_HOURS);
    expect(ages[29]).toBeGreaterThan(SWEEP_AGE_ALARM_HOURS);
    broken.on = false;
    const lostOne = r.lost();
    clock.t += HOUR;
    await r.scheduled(); // HeyGen is back: the overdue sweep runs at once
    expect(sweepAgeHours(r.checkpoint.state, clock.t)).toBe(0);
    clock.t += HOUR;
    await r.scheduled();
    r.onBusOnce([lostOne]);
  });

  it('an entry HeyGen lists late (created before the checkpoint, listed after that sweep) is still backfilled by the next sweep, and the overlap costs no reads of published entries', async () => {
    const r = setup();
    for (let k = 0; k < 50; k++) {
      await r.delivered(undefined, clock.t - 3 * HOUR + k * 60_000);
    }
    clock.t += 20 * 60_000;
    await r.scheduled(); // first run: sweeps, checkedThrough = now - 10 min
    const through = r.checkpoint.state.checkedThrough as number;
    // Listed only now, with a created_at two hours before the checkpoint.
    const late = r.lost(undefined, through - 2 * HOUR);
    clock.t += 24 * HOUR;
    const run = await r.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'routine' });
    expect(run.summary?.backfilled).toBe(1);
    expect(run.summary?.lookedUp).toBe(1); // the 50 published entries of the overlap: found by the scan, no read each
    r.onBusOnce([late]);
  });

  it('a second run while one holds the lease is busy and publishes nothing; the sweep reads the dedup table by key (one batch), never by Scan', async () => {
    const r = setup();
    const lostOnes = [r.lost(), r.lost(), r.lost()];
    for (let k = 0; k < 20; k++) await r.delivered();
    clock.t += 20 * 60_000;
    const [x, y] = await Promise.all([r.scheduled(), r.scheduled()]);
    expect([x.outcome, y.outcome].sort()).toEqual(['busy', 'done']);
    r.onBusOnce(lostOnes);
    expect(r.batches).toEqual({ calls: 1, keys: 23 });
    // The lookups: only the three the batch did not list went through the consistent read.
    expect((x.summary ?? y.summary)?.lookedUp).toBe(3);
    expect(SWEEP_EVERY_MS).toBe(24 * HOUR);
  });

  it('an entry whose created_at Date.parse cannot read (ISO 8601 basic format) is looked up, not passed over: backfilled once, and the checkpoint stays a number', async () => {
    const undated = new Set<string>();
    const history: BackfillDeps['history'] = {
      listEvents: async (q, o) => {
        const page = await hg.client.listEvents(q, o);
        const basic = (iso: string) => `${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
        return {
          ...page,
          events: page.events.map((e) => (undated.has(e.eventKey) ? { ...e, createdAt: basic(e.createdAt) } : e)),
        };
      },
    };
    const r = setup(history);
    await r.scheduled();
    const all: Ev[] = [];
    for (let k = 0; k < 30; k++) {
      const e = k === 12 ? r.lost() : await r.delivered();
      if (k === 12) undated.add(heygenEventKey(JSON.stringify(e)));
      all.push(e);
      clock.t += 60_000;
    }
    for (let h = 0; h < 25; h++) {
      clock.t += HOUR;
      await r.scheduled();
    }
    r.onBusOnce(all);
    expect(r.bus.filter((e) => e.origin === 'backfill')).toHaveLength(1);
    expect(Number.isFinite(r.checkpoint.state.checkedThrough)).toBe(true);
    expect((await r.evidence.read('heygen')).lastMissedAt ?? 0).not.toBeNaN();
  });

  it('an undated entry a live delivery holds in flight holds the checkpoint (a number) and is swept again by the next run', async () => {
    const undated = new Set<string>();
    const history: BackfillDeps['history'] = {
      listEvents: async (q, o) => {
        const page = await hg.client.listEvents(q, o);
        return {
          ...page,
          events: page.events.map((e) => (undated.has(e.eventKey) ? { ...e, createdAt: '20261129T000000Z' } : e)),
        };
      },
    };
    const r = setup(history);
    const e = r.lost();
    const key = heygenEventKey(JSON.stringify(e));
    undated.add(key);
    clock.t += 20 * 60_000;
    await r.claim.claim(key, 'live-delivery-that-then-fails');
    expect((await r.scheduled()).summary).toMatchObject({ inFlight: 1, backfilled: 0 });
    expect(r.checkpoint.state).toMatchObject({ unsettled: true, checkedThrough: expect.any(Number) });
    expect(Number.isFinite(r.checkpoint.state.checkedThrough)).toBe(true);
    clock.t += HOUR;
    const second = await r.scheduled();
    expect(second.plan).toMatchObject({ kind: 'sweep', reason: 'unsettled' });
    expect(second.summary?.backfilled).toBe(1);
    r.onBusOnce([e]);
  });

  it("a publish slower than the claim's lock (EventBridge's SDK retries: up to 3 entry attempts of 3 requests of 5 s) with a live copy arriving meanwhile: published once with the backfill's lock, twice with the ingress's 15 s", async () => {
    const twice = async (lockSeconds: number) => {
      hg.fake.reset();
      clock.t = Date.parse('2026-11-29T00:00:00Z');
      const r = setup();
      const e = r.lost();
      const key = heygenEventKey(JSON.stringify(e));
      clock.t += 20 * 60_000;
      const claim = new MemoryDedupStore({ windowSeconds: WINDOW / 1000, lockSeconds, mode: 'claim', now: () => clock.t });
      Object.assign(claim, { entries: r.entries });
      const publisher = {
        publish: async (ev: RelayEvent) => {
          clock.t += 20_000; // HeyGen's retry of the live delivery reaches the ingress (record mode) now
          const live = await r.live.claim(key, 'live-retry');
          if (live === 'claimed' || live === 'took_over') {
            r.bus.push({ id: key, origin: 'delivery' } as RelayEvent);
            await r.live.complete(key, 'live-retry');
          }
          clock.t += 25_000;
          r.bus.push(ev);
        },
      };
      await backfill({ sinceMs: clock.t - HOUR }, r.deps({ claim, publisher }));
      return r.bus.filter((b) => b.id === key).length;
    };
    expect(await twice(15)).toBe(2); // the hazard, as the backfill had it
    expect(BACKFILL_DEFAULTS.claimLockSeconds).toBeGreaterThanOrEqual(300); // the backfill Lambda's timeout (test/infra)
    expect(await twice(BACKFILL_DEFAULTS.claimLockSeconds)).toBe(1);
  });

  it('a walk cut in the middle of a page (out of lookups) reads that page again: every entry of it looked at, none skipped', async () => {
    const r = setup();
    await r.scheduled();
    const all = await r.listed(250, (k) => k % 2 === 0, 5_000);
    clock.t += 15 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 60_000);
    const outcomes: string[] = [];
    for (let h = 0; h < 12; h++) {
      // 30 lookups a run: cut after 30 of the 50 missing entries of a page
      const run = await r.scheduled({}, { maxEvents: 30 });
      outcomes.push(`${run.plan?.reason}:${run.outcome}`);
      if (run.outcome === 'done' && run.plan?.kind === 'sweep') break;
      clock.t += 60_000;
    }
    expect(outcomes[0]).toBe('trouble:partial');
    expect(outcomes.at(-1)).toBe('resume:done');
    r.onBusOnce(all);
  });

  it('an entry left in flight early in a walk of several runs holds the checkpoint when the walk completes: the next run sweeps it again', async () => {
    const r = setup();
    await r.scheduled();
    const all = await r.listed(350, (k) => k % 5 === 0, 5_000);
    clock.t += 15 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 12 * 60_000); // before the walk's end (now - 10 min)
    // The newest entry (on the first page) is held by a live copy whose claim outlasts the walk.
    const held = all[345] as Ev; // lost (345 % 5 === 0), newest first: on the first page
    await r.claim.claim(heygenEventKey(JSON.stringify(held)), 'live-copy');
    r.entries.set(heygenEventKey(JSON.stringify(held)), {
      ...(r.entries.get(heygenEventKey(JSON.stringify(held))) as Entry),
      lockUntil: clock.t + 10 * HOUR,
    } as Entry);
    let run = await r.scheduled({}, { maxPages: 1 });
    expect(run).toMatchObject({ plan: { reason: 'trouble' }, outcome: 'partial', summary: { inFlight: 1 } });
    while (run.outcome !== 'done') run = await r.scheduled({}, { maxPages: 1 });
    expect(r.checkpoint.state.unsettled).toBe(true);
    r.entries.delete(heygenEventKey(JSON.stringify(held))); // the live copy failed and gave up
    clock.t += HOUR;
    const next = await r.scheduled();
    expect(next.plan?.kind).toBe('sweep'); // checkedThrough held before the entry (trouble after it)
    expect(next.summary?.backfilled).toBe(1);
    r.onBusOnce(all);
  });

  it("an entry at the dedup window's far end is not looked up: its record may expire while the run is under way, and it would be published again", async () => {
    const slow: BackfillDeps['history'] = {
      listEvents: async (q, o) => {
        const page = await hg.client.listEvents(q, o);
        clock.t += 60_000; // a slow HeyGen: a minute a page
        return page;
      },
    };
    const r = setup(slow);
    // Delivered live (and published) 48 h less 30 s ago: its record expires 30 s from now.
    const edge = await r.delivered(undefined, clock.t - WINDOW + 30_000);
    // No Scan to list it (one that lags, or failed): the consistent read decides.
    const run = await r.scheduled({ index: undefined }); // the first run sweeps the whole window
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run' });
    r.onBusOnce([edge]);
  });

  // Review of the sweep (review-backfill): errors the walk must survive without locking itself up.

  it('a cursor whose page token HeyGen refuses with another 4xx (404, 410, 422: undocumented which) restarts the walk instead of failing every run', async () => {
    for (const status of [404, 410, 422]) {
      hg.fake.reset();
      clock.t = Date.parse('2026-11-29T00:00:00Z');
      const stale = { token: '\u0000none' };
      const history: BackfillDeps['history'] = {
        listEvents: (q, o) =>
          q.token === stale.token
            ? Promise.reject(
                new (status === 404 ? HeyGenNotFoundError : HeyGenApiError)('GET /v3/webhooks/events: token expired', {
                  status,
                  code: 'invalid_token',
                  method: 'GET',
                  path: '/v3/webhooks/events',
                  attempts: 1,
                }),
              )
            : hg.client.listEvents(q, o),
      };
      const r = setup(history);
      const { all, cursor } = await r.walkCutShort();
      stale.token = 'ZXhwaXJlZA'; // a token HeyGen has since forgotten
      r.checkpoint.state = { ...r.checkpoint.state, cursor: { ...cursor, token: stale.token } };
      const outcomes: string[] = [];
      for (let h = 0; h < 3; h++) {
        clock.t += HOUR;
        const run = await r.scheduled().catch((err: Error) => ({ outcome: `threw ${err.name}` }));
        outcomes.push(run.outcome);
      }
      expect(outcomes[0], `status ${status}`).toBe('done');
      r.onBusOnce(all);
    }
  });

  it('a 429 (Retry-After too long to wait) in the middle of a walk keeps the pages done: the next run goes on from there, and the sweep completes', async () => {
    const calls = { n: 0 };
    // HeyGen lets 2 pages through per run, then asks for a 2 min wait the client will not make.
    const history: BackfillDeps['history'] = {
      listEvents: (q, o) =>
        ++calls.n > 2
          ? Promise.reject(
              new HeyGenRateLimitError('GET /v3/webhooks/events: rate limited', {
                status: 429,
                code: 'rate_limited',
                method: 'GET',
                path: '/v3/webhooks/events',
                attempts: 1,
                retryAfterMs: 120_000,
              }),
            )
          : hg.client.listEvents(q, o),
    };
    const r = setup(history);
    await r.scheduled();
    const all = await r.listed(1_000, (k) => k % 7 === 3, 2_400);
    clock.t += 15 * 60_000;
    r.evidence.record('heygen', 'failure', clock.t - 20 * 60_000);
    const outcomes: string[] = [];
    for (let h = 0; h < 8; h++) {
      calls.n = 0;
      const run = await r.scheduled().catch(() => ({ outcome: 'threw', plan: null }));
      outcomes.push(run.outcome);
      if (run.outcome === 'done' && run.plan?.kind === 'sweep') break;
      clock.t += HOUR;
    }
    expect(outcomes.at(-1)).toBe('done');
    expect(outcomes).not.toContain('threw');
    r.onBusOnce(all);
    expect(r.bus.filter((e) => e.origin === 'backfill')).toHaveLength(all.filter((_, k) => k % 7 === 3).length);
  });

  it('the batch lookup failing or outlasting its share of the run is only a lost filter: the sweep goes on with consistent reads', async () => {
    for (const scan of ['fails', 'hangs'] as const) {
      hg.fake.reset();
      clock.t = Date.parse('2026-11-29T00:00:00Z');
      const r = setup();
      await r.scheduled();
      const lostOnes = [r.lost(), r.lost()];
      for (let k = 0; k < 20; k++) await r.delivered();
      clock.t += 20 * 60_000;
      const index: DedupIndex = {
        published: (_keys, signal) =>
          scan === 'fails'
            ? Promise.reject(new Error('ProvisionedThroughputExceededException'))
            : new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      };
      // 200 ms before the reserve: the lookup may take at most half of it.
      const run = await r.scheduled({ index, deadline: () => 10_200 });
      expect(run.outcome, scan).toBe('done');
      expect(run.summary?.lookedUp, scan).toBe(22);
      r.onBusOnce(lostOnes);
    }
  });
});

/**
 * The fake's listing (read whole through the real client, so validated) served in a seeded random
 * order: of its entries, or of its pages of 100 (each page still newest first).
 */
function shuffledHistory(client: HeyGenWebhookClient, seed: number, unit: 'entry' | 'page' = 'entry'): BackfillDeps['history'] {
  let rand = seed >>> 0 || 1;
  const next = () => {
    rand ^= rand << 13;
    rand ^= rand >>> 17;
    rand ^= rand << 5;
    return (rand >>> 0) / 2 ** 32;
  };
  let order: HistoryEvent[] | null = null;
  return {
    async listEvents(query): Promise<EventHistoryPage> {
      if (order === null || query.token === undefined) {
        const all: HistoryEvent[] = [];
        let token: string | undefined;
        do {
          const page = await client.listEvents({ limit: 100, ...(token ? { token } : {}) });
          all.push(...page.events);
          token = page.nextToken ?? undefined;
        } while (token);
        const units: HistoryEvent[][] = [];
        const size = unit === 'entry' ? 1 : 100;
        for (let i = 0; i < all.length; i += size) units.push(all.slice(i, i + size));
        for (let i = units.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [units[i], units[j]] = [units[j] as HistoryEvent[], units[i] as HistoryEvent[]];
        }
        order = units.flat();
      }
      const limit = query.limit ?? 10;
      const offset = query.token ? Number(query.token.slice(2)) : 0;
      const events = order.slice(offset, offset + limit);
      return { events, nextToken: offset + limit < order.length ? `s:${offset + limit}` : null };
    },
  };
}
