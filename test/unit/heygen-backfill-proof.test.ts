/**
 * Issue 19, the backfill's side: it acts only on what HeyGen addressed to OUR endpoint, says what it
 * could not cover, costs what the genuine work costs (not what the table holds or what a stranger
 * sends), and names every copy it may publish twice. Each finding is a named test that fails on
 * dfd2de7. The real backfill and plan (scheduledBackfill, as the Lambda runs it), the fake HeyGen's
 * history (account-wide, validated against the OpenAPI file), in-memory dedup and a counting bus.
 */
import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import type { DedupStore } from '../../functions/core/ports.js';
import { type BackfillDeps, backfill, type DedupIndex, ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import {
  MemoryBackfillCheckpoint,
  SWEEP_AGE_ALARM_HOURS,
  scheduledBackfill,
  sweepAgeHours,
  uncoveredTotals,
} from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
const OUR_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
type Ev = { event_type: string; event_data: Record<string, unknown> };

interface Entry {
  status: 'IN_PROGRESS' | 'COMPLETED';
  owner: string;
  expiresAt: number;
  lockUntil: number;
}

/** One dedup "table" with the backfill's views of it; the index counts what it reads (keys, or a whole-table Scan). */
function dedupTable(now: () => number, lockSeconds = 15) {
  const opts = { windowSeconds: WINDOW / 1000, lockSeconds, now };
  const live = new MemoryDedupStore({ ...opts, mode: 'record' });
  const entries = (live as unknown as { entries: Map<string, Entry> }).entries;
  const check = new MemoryDedupStore({ ...opts, mode: 'record' });
  const claim = new MemoryDedupStore({ ...opts, mode: 'claim', lockSeconds: 360 });
  Object.assign(check, { entries });
  Object.assign(claim, { entries });
  const reads = { scans: 0, itemsRead: 0, batchCalls: 0 };
  const isPublished = (k: string) => {
    const e = entries.get(k);
    return e?.status === 'COMPLETED' && e.expiresAt > now();
  };
  const index: DedupIndex = {
    // What dfd2de7's sweep called: a Scan reads every item of the table.
    publishedKeys: async () => {
      reads.scans++;
      reads.itemsRead += entries.size;
      return new Set([...entries.keys()].filter(isPublished));
    },
    published: async (keys) => (await index.lookup?.(keys))?.published ?? new Set(),
    lookup: async (keys) => {
      reads.batchCalls += Math.ceil(keys.length / 100);
      reads.itemsRead += keys.length;
      const unfinished = keys.filter((k) => {
        const e = entries.get(k);
        return e?.status === 'IN_PROGRESS' && e.expiresAt > now() && e.lockUntil < now();
      });
      return { published: new Set(keys.filter(isPublished)), unfinished: new Set(unfinished) };
    },
  };
  return { live, check, claim, index, entries, reads };
}

describe('Issue 19: the backfill acts on what HeyGen addressed to us, and says what it cannot cover', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  /** A world past its first run, then one event HeyGen lists that never arrived, trouble recorded 20 min on. */
  async function lostAfterTrouble() {
    const w = await world();
    await w.scheduled();
    const e = w.lost();
    clock.t += 20 * 60_000;
    await w.evidence.record('heygen', 'failure', clock.t - 60_000);
    return { w, e };
  }

  /** `made`: our endpoint made that long before now (default: now), in an account whose history reaches further back. */
  async function world(events: string[] | null = null, made = 0) {
    const now = () => clock.t;
    const t = dedupTable(now);
    const ep = hg.fake.seedEndpoint(OUR_URL, events);
    // Made at deploy, before the entries a test lists (nothing before it was addressed to us), in an
    // account whose history reaches further back (another app's entry): a first run proves from it
    // that HeyGen dropped nothing since our endpoint was made (history-proof.ts, 'listed').
    if (made > 0) {
      ep.created_at = new Date(clock.t - made).toISOString();
      hg.fake.emit('ep_other_app', { event_type: 'photo_avatar.success', event_data: { id: 'older' } }, clock.t - made - HOUR);
    }
    const bus: RelayEvent[] = [];
    const uncertain: RelayEvent[] = [];
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    const leases = new MemoryLeaseStore(now);
    const endpoint = await ourEndpoint(hg.client, OUR_URL, null);
    let n = 0;
    const next = (): Ev => ({ event_type: 'avatar_video.success', event_data: { video_id: `v${++n}` } });
    /** HeyGen lists the event for our endpoint; it never reached the ingress. */
    const lost = (e = next(), at = clock.t) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      return e;
    };
    /** HeyGen lists it; the relay published it live (recorded at `at`). */
    const delivered = async (e = next(), at = clock.t) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      const wall = clock.t;
      clock.t = at;
      await t.live.complete(heygenEventKey(JSON.stringify(e)), `live-${randomUUID()}`);
      clock.t = wall;
      bus.push({ id: heygenEventKey(JSON.stringify(e)), origin: 'delivery' } as RelayEvent);
      return e;
    };
    const deps = (extra: Partial<BackfillDeps> = {}): BackfillDeps => ({
      history: hg.client,
      endpoint,
      check: t.check,
      claim: t.claim,
      index: t.index,
      publisher: { publish: async (e) => void bus.push(e) },
      evidence,
      lease: { store: leases, name: 'heygen-backfill:test' },
      onUncertain: (e) => void uncertain.push(e),
      now,
      ...extra,
    });
    const scheduled = (extra: Partial<BackfillDeps> = {}) =>
      scheduledBackfill({ windowMs: WINDOW, checkpoint, evidence, deps: deps(extra) });
    const copies = (e: Ev) => bus.filter((b) => b.id === heygenEventKey(JSON.stringify(e)));
    return { ...t, ep, bus, uncertain, evidence, checkpoint, next, lost, delivered, deps, scheduled, copies };
  }

  it("a neighbour endpoint's events never reach our bus", async () => {
    const w = await world(['avatar_video.success', 'avatar_video.fail']);
    // Another app in the same HeyGen account, subscribed to types ours is not: HeyGen's history lists its events too.
    const neighbour = hg.fake.seedEndpoint('https://other-app.example.com/hooks', ['video_translate.success']);
    const theirs = (k: number) => ({ event_type: 'video_translate.success', event_data: { video_translate_id: `n${k}` } });
    await w.scheduled();
    const ours = [w.lost(), w.lost()];
    for (let k = 0; k < 5; k++) hg.fake.emit(neighbour.endpoint_id, theirs(k));
    clock.t += 20 * 60_000;
    await w.evidence.record('heygen', 'failure', clock.t - 60_000); // a sweep now
    const run = await w.scheduled();
    expect(run.plan?.kind).toBe('sweep');
    expect(run.summary).toMatchObject({ backfilled: 2, foreign: 5 });
    // A day of hourly runs (freshness and the daily sweep), the neighbour busy all along.
    for (let h = 0; h < 25; h++) {
      hg.fake.emit(neighbour.endpoint_id, theirs(100 + h));
      clock.t += HOUR;
      await w.scheduled();
    }
    expect(w.bus.map((e) => e.type)).toEqual(['avatar_video.success', 'avatar_video.success']);
    for (const e of ours) expect(w.copies(e)).toHaveLength(1);
  });

  it('an outage longer than the dedup window: the run says how many entries of ours and which period it could not cover, and keeps saying it (BackfillGap) after good runs until a person acknowledges it', async () => {
    const w = await world();
    await w.scheduled(); // the last run before the outage
    const checked = w.checkpoint.state.checkedThrough as number;
    // 72 h down: HeyGen lists 74 events for our endpoint, none reached the relay.
    const start = clock.t;
    const all: { e: Ev; at: number }[] = [];
    for (let k = 0; k < 74; k++) {
      const at = start + Math.round((k * 72 * HOUR) / 74);
      all.push({ e: w.lost(undefined, at), at });
    }
    clock.t = start + 72 * HOUR + 20 * 60_000;
    const oldest = clock.t - WINDOW + 15 * 60_000;
    const notCoverable = all.filter((x) => x.at > checked && x.at <= oldest);
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'gap', gapFromMs: checked });
    expect(notCoverable.length).toBeGreaterThan(20); // about the first 24 h of the outage
    const gap = notCoverable.length;
    expect(run.summary?.uncovered).toEqual([{ reason: 'dedup_window', fromMs: checked, untilMs: oldest, entries: gap }]);
    expect(run.summary?.backfilled).toBe(74 - gap);
    for (const x of notCoverable) expect(w.copies(x.e)).toHaveLength(0); // never published blind
    // Later runs go well (the sweep-age alarm's metric clears), but the gap stays reported.
    for (let h = 0; h < 30; h++) {
      clock.t += HOUR;
      await w.scheduled();
      expect(uncoveredTotals(w.checkpoint.state)).toMatchObject({ periods: 1, entries: gap });
    }
    expect(sweepAgeHours(w.checkpoint.state, clock.t)).toBeLessThan(SWEEP_AGE_ALARM_HOURS);
    // A person acknowledges it (heygen-relay backfill --acknowledge-gap clears the periods).
    w.checkpoint.state = { ...w.checkpoint.state, uncovered: [] };
    clock.t += HOUR;
    await w.scheduled();
    expect(uncoveredTotals(w.checkpoint.state)).toEqual({ periods: 0, entries: 0, hours: 0 });
  });

  it("HeyGen's history no longer reaching back to what the backfill needs: the period it does not list is reported, not passed over", async () => {
    const w = await world();
    for (let k = 0; k < 20; k++) await w.delivered(undefined, clock.t - 5 * HOUR + k * 10 * 60_000);
    clock.t += 20 * 60_000;
    await w.scheduled(); // a walk to the end: HeyGen listed entries back to 5 h ago
    const checked = w.checkpoint.state.checkedThrough as number;
    expect(w.checkpoint.state.historyKeptMs).toBe(5 * HOUR + 20 * 60_000); // HeyGen was seen keeping 5 h 20 min
    // The backfill is down 30 h (inside the 48 h window); meanwhile HeyGen keeps only its last 12 h.
    for (let k = 0; k < 30; k++) w.lost(undefined, clock.t + k * HOUR);
    clock.t += 30 * HOUR;
    const keptFrom = clock.t - 12 * HOUR;
    hg.fake.history.splice(
      0,
      hg.fake.history.findIndex((e) => Date.parse(e.created_at) >= keptFrom),
    );
    const listedFrom = Date.parse(hg.fake.history[0]?.created_at as string);
    const run = await w.scheduled();
    expect(run.plan?.kind).toBe('sweep');
    expect(run.summary?.uncovered).toEqual([{ reason: 'history', fromMs: checked, untilMs: listedFrom, entries: null }]);
    expect(uncoveredTotals(w.checkpoint.state).periods).toBe(1);
  });

  it('a dormant account whose only old entry HeyGen drops raises no history period (HeyGen was seen keeping 20 days; the run needs 1)', async () => {
    const w = await world();
    await w.delivered(undefined, clock.t - 20 * 24 * HOUR);
    clock.t += 20 * 60_000;
    await w.scheduled();
    clock.t += 24 * HOUR;
    hg.fake.history.splice(0, 1); // aged out
    for (let k = 0; k < 5; k++) await w.delivered(undefined, clock.t - HOUR + k * 60_000);
    const run = await w.scheduled();
    expect(run.summary).toMatchObject({ reachedEnd: true, uncovered: [] });
  });

  it("HeyGen changing its listing's order after a walk saw it in order: the walk to the end that sees it sends the next sweep over the whole window again (what early stops passed over is published), and the period before it is reported", async () => {
    const w = await world();
    const hidden = new Set<string>();
    // HeyGen's listing, except that entries in `hidden` come last (behind days of older entries).
    const history: BackfillDeps['history'] = {
      listEvents: async (q) => {
        const all = [];
        let token: string | undefined;
        do {
          const page = await hg.client.listEvents({ limit: 100, ...(token ? { token } : {}) });
          all.push(...page.events);
          token = page.nextToken ?? undefined;
        } while (token);
        const order = [...all.filter((e) => !hidden.has(e.eventKey)), ...all.filter((e) => hidden.has(e.eventKey))];
        const offset = q.token ? Number(q.token) : 0;
        const limit = q.limit ?? 100;
        return {
          events: order.slice(offset, offset + limit),
          nextToken: offset + limit < order.length ? String(offset + limit) : null,
        };
      },
    };
    for (let k = 0; k < 600; k++) await w.delivered(undefined, clock.t - 240 * HOUR + k * 0.4 * HOUR);
    clock.t += 20 * 60_000;
    await w.scheduled({ history });
    const verifiedAt = w.checkpoint.state.orderCheckedAt as number;
    expect(verifiedAt).toBe(clock.t);
    const x = w.lost();
    hidden.add(heygenEventKey(JSON.stringify(x)));
    for (let k = 0; k < 30; k++) await w.delivered(undefined, clock.t + k * 2 * 60_000);
    clock.t += 24 * HOUR + 10 * 60_000;
    const early = await w.scheduled({ history });
    expect(early.summary).toMatchObject({ stoppedEarly: true, ordered: true, backfilled: 0 }); // x passed over
    // The walk to the end (due every 7 days; made due here), and a 5xx to start a sweep.
    w.checkpoint.state = { ...w.checkpoint.state, orderCheckedAt: clock.t - 7 * 24 * HOUR };
    await w.evidence.record('heygen', 'failure', clock.t - 60_000);
    clock.t += HOUR;
    const check = await w.scheduled({ history });
    expect(check.summary).toMatchObject({ reachedEnd: true, ordered: false });
    expect(w.copies(x)).toHaveLength(0);
    clock.t += HOUR;
    const again = await w.scheduled({ history });
    expect(again.plan).toMatchObject({ kind: 'sweep', reason: 'order_changed', gapReason: 'order' });
    expect(w.copies(x)).toHaveLength(1);
    expect(again.summary?.uncovered).toEqual([
      { reason: 'order', fromMs: clock.t - 2 * HOUR - 7 * 24 * HOUR, untilMs: again.plan?.sinceMs, entries: expect.any(Number) },
    ]);
    expect(w.checkpoint.state.orderBroken).toBeNull();
  });

  // Seeded bugs it catches (checked by hand, each within the 8 runs): entries listed above the last walk's
  // head with an older created_at not looked up; a stop page only `sinceMs`-old instead of `lateMs` more.
  it('early-stopping sweeps lose nothing under their assumption (listing order, entries listed up to 6 h late): every lost entry of the window on the bus once, whatever arrives when', async () => {
    let stoppedEarly = 0;
    let stoppedEarlySorted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            n: fc.integer({ min: 0, max: 60 }),
            lateMin: fc.integer({ min: 0, max: 359 }),
            lostEvery: fc.integer({ min: 2, max: 9 }),
            trouble: fc.boolean(),
            // Just before a run: one entry too recent to look at yet, then 200 entries listed after it and
            // created 30 min earlier (listed late): a whole page of them lies above it in the listing.
            tail: fc.constantFrom(false, false, false, true),
          }),
          { minLength: 20, maxLength: 40 },
        ),
        // HeyGen's listing in order of listing, or sorted by created_at (a late entry then sits below
        // entries the last walk saw): both are "in order", the spec promises neither.
        fc.boolean(),
        async (hours, byCreation) => {
          hg.fake.reset();
          clock.t = Date.parse('2026-11-29T00:00:00Z');
          const w = await world(null, 40 * HOUR); // our endpoint made before the entries it lists
          for (let k = 0; k < 150; k++) await w.delivered(undefined, clock.t - 30 * HOUR + k * 12 * 60_000);
          clock.t += 20 * 60_000;
          await w.scheduled(); // a walk to the end: in order
          const lost: { e: Ev; at: number }[] = [];
          for (const h of hours) {
            for (let k = 0; k < h.n; k++) {
              // Listed now, created up to `lateMin` minutes earlier (HeyGen listing it late).
              const at = clock.t - ((h.lateMin * (k + 1)) % 360) * 60_000;
              if (k % h.lostEvery === 0) lost.push({ e: w.lost(undefined, at), at });
              else await w.delivered(undefined, at);
            }
            if (h.trouble) await w.evidence.record('heygen', 'failure', clock.t);
            clock.t += HOUR;
            if (h.tail) {
              lost.push({ e: w.lost(undefined, clock.t - 2 * 60_000), at: clock.t - 2 * 60_000 });
              for (let k = 0; k < 200; k++) await w.delivered(undefined, clock.t - 30 * 60_000);
            }
            if (byCreation) hg.fake.history.sort((a, b) => a.created_at.localeCompare(b.created_at));
            const run = await w.scheduled();
            if (run.summary?.stoppedEarly) stoppedEarly++;
            if (byCreation && run.summary?.stoppedEarly) stoppedEarlySorted++;
            expect(run.summary?.ordered).toBe(true);
          }
          for (let h = 0; h < 26; h++) {
            clock.t += HOUR;
            const run = await w.scheduled();
            if (run.summary?.stoppedEarly) stoppedEarly++;
          }
          for (const x of lost) expect(w.copies(x.e), JSON.stringify(x)).toHaveLength(1);
        },
      ),
      { numRuns: 8 },
    );
    expect(stoppedEarly).toBeGreaterThan(0); // the early stop was exercised, not only walks to the end
    expect(stoppedEarlySorted).toBeGreaterThan(0); // and over a listing sorted by created_at
  });

  it('a stranger cannot change what the backfill reads: one bad request an hour forces no sweep (pages and reads identical to a quiet day)', async () => {
    const day = async (stranger: boolean) => {
      hg.fake.reset();
      clock.t = Date.parse('2026-11-29T00:00:00Z');
      const w = await world();
      const pages = { n: 0 };
      const history: BackfillDeps['history'] = {
        listEvents: (q, o) => {
          pages.n++;
          return hg.client.listEvents(q, o);
        },
      };
      for (let k = 0; k < 300; k++) await w.delivered(undefined, clock.t - 30 * HOUR + k * 6 * 60_000);
      clock.t += 20 * 60_000;
      await w.scheduled({ history }); // the first run walks to the end
      pages.n = 0;
      const reads = { ...w.reads };
      const sweeps: string[] = [];
      for (let h = 0; h < 24; h++) {
        for (let k = 0; k < 10; k++) await w.delivered(undefined, clock.t + k * 6 * 60_000);
        if (stranger) await w.evidence.record('heygen', 'signature', clock.t + 30 * 60_000); // a forged POST, refused (401)
        clock.t += HOUR;
        const run = await w.scheduled({ history });
        if (run.plan?.kind === 'sweep') sweeps.push(run.plan.reason);
      }
      return { pages: pages.n, sweeps, itemsRead: w.reads.itemsRead - reads.itemsRead, scans: w.reads.scans };
    };
    const quiet = await day(false);
    const attacked = await day(true);
    expect(attacked).toEqual(quiet);
    expect(attacked.sweeps).toEqual(['routine']);
    expect(attacked.scans).toBe(0);
  });

  it("what a sweep reads grows with the entries listed since the last one, not with HeyGen's whole listing or the dedup table: pages and keys counted, no Scan", async () => {
    const w = await world();
    const pages = { n: 0 };
    const history: BackfillDeps['history'] = {
      listEvents: (q, o) => {
        pages.n++;
        return hg.client.listEvents(q, o);
      },
    };
    // 3,000 entries listed over the last 10 days (HeyGen keeps more than the dedup window), all published.
    for (let k = 0; k < 3_000; k++) await w.delivered(undefined, clock.t - 240 * HOUR + k * 288_000);
    // Other sources' items in the same table: 20,000 of them.
    for (let k = 0; k < 20_000; k++)
      w.entries.set(`std:evt:${k}`, { status: 'COMPLETED', owner: 'x', expiresAt: clock.t + WINDOW, lockUntil: 0 });
    clock.t += 20 * 60_000;
    await w.scheduled({ history }); // first run: a walk to the end (30 pages) checks the listing's order
    expect(pages.n).toBe(30);
    expect(w.checkpoint.state.orderCheckedAt).toBe(clock.t);
    // A day later: 240 new entries (12 lost), then the daily sweep.
    const lostOnes: Ev[] = [];
    for (let k = 0; k < 240; k++) {
      const at = clock.t + k * 6 * 60_000;
      if (k % 20 === 0) lostOnes.push(w.lost(undefined, at));
      else await w.delivered(undefined, at);
    }
    clock.t += 24 * HOUR + 10 * 60_000;
    pages.n = 0;
    const before = { ...w.reads };
    const run = await w.scheduled({ history });
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'routine', stopEarly: expect.anything() });
    expect(run.summary).toMatchObject({ stoppedEarly: true, backfilled: 12, ordered: true });
    // 240 new entries, then down past the last walk's head and 6 h (lateMs: 75 entries here) before the
    // checkpoint, to a page wholly older: 5 pages of HeyGen's 33 (dfd2de7 walked all 33).
    expect(pages.n).toBeLessThanOrEqual(5);
    expect(w.reads.scans).toBe(0);
    // ~ the 240 new entries and the 6 h below the checkpoint (75: entries listed late in a created_at-sorted listing), not 23,000 items
    expect(w.reads.itemsRead - before.itemsRead).toBeLessThanOrEqual(330);
    for (const e of lostOnes) expect(w.copies(e)).toHaveLength(1);
  });

  it('a republish over an unfinished claim whose PutEvents answer is lost again is counted uncertain each time (BackfillUncertain): every copy on the bus is counted (chaos seed 1932332816 path 579)', async () => {
    const { w, e } = await lostAfterTrouble();
    // PutEvents lands but its answer is lost, run after run (a 5xx after the put: the SDK gives up).
    const lostAnswer = {
      publish: async (ev: RelayEvent) => {
        w.bus.push(ev);
        throw Object.assign(new Error('InternalFailure'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
      },
    };
    const first = await w.scheduled({ publisher: lostAnswer });
    expect(first.summary).toMatchObject({ failed: 1, uncertain: 0 }); // the first copy: no copy before it
    for (let run = 0; run < 3; run++) {
      clock.t += HOUR;
      const again = await w.scheduled({ publisher: lostAnswer });
      expect(again.summary).toMatchObject({ failed: 1, uncertain: 1 });
    }
    clock.t += HOUR;
    expect((await w.scheduled()).summary).toMatchObject({ backfilled: 1, uncertain: 1 });
    const copies = w.copies(e);
    expect(copies).toHaveLength(5);
    expect(new Set(copies.map((c) => c.id)).size).toBe(1);
    // Every copy after the first was counted (BackfillUncertain): 4 extra copies, 4 counts.
    expect(w.uncertain.map((u) => u.id)).toEqual(Array(4).fill(heygenEventKey(JSON.stringify(e))));
  });

  it('the backfill dies after PutEvents (before recording it): its next run publishes again with the SAME envelope id and counts it uncertain (BackfillUncertain), not silently', async () => {
    const { w, e } = await lostAfterTrouble();
    // The run's record write never happens (the Lambda timed out right after PutEvents).
    const dies: DedupStore = Object.assign(Object.create(w.claim) as DedupStore, {
      complete: async () => {
        throw new Error('Task timed out after 300.00 seconds');
      },
    });
    const first = await w.scheduled({ claim: dies });
    expect(first.summary?.backfilled).toBe(1);
    clock.t += HOUR;
    const second = await w.scheduled();
    expect(second.plan?.kind).toBe('sweep'); // the entry held the checkpoint before it
    expect(second.summary).toMatchObject({ backfilled: 1, uncertain: 1 });
    expect(w.uncertain.map((u) => u.id)).toEqual([heygenEventKey(JSON.stringify(e))]);
    const copies = w.copies(e);
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((c) => c.id)).size).toBe(1);
    clock.t += HOUR;
    await w.evidence.record('heygen', 'failure', clock.t - 60_000);
    expect((await w.scheduled()).summary?.backfilled).toBe(0); // recorded now: no third copy
  });

  it("PutEvents lands but the backfill loses its answer: the claim is kept (not released), so the next run's copy is counted uncertain, with the same id", async () => {
    const { w, e } = await lostAfterTrouble();
    const lostAnswer = {
      publish: async (ev: RelayEvent) => {
        w.bus.push(ev); // it landed
        throw new Error('socket hang up');
      },
    };
    expect((await w.scheduled({ publisher: lostAnswer })).summary).toMatchObject({ backfilled: 0, failed: 1 });
    expect(w.entries.get(heygenEventKey(JSON.stringify(e)))?.status).toBe('IN_PROGRESS');
    clock.t += HOUR;
    expect((await w.scheduled()).summary).toMatchObject({ backfilled: 1, uncertain: 1 });
    expect(w.copies(e).map((c) => c.id)).toEqual([heygenEventKey(JSON.stringify(e)), heygenEventKey(JSON.stringify(e))]);
  });
});

describe('Every copy of one event carries the same envelope id on every path (live, retry, backfill)', () => {
  it('a live delivery whose answer was lost, its retry, and the backfill: every copy on the bus has the id of the event key', async () => {
    const clock = { t: Date.parse('2026-11-29T00:00:00Z') };
    const now = () => clock.t;
    const t = dedupTable(now);
    const bus: RelayEvent[] = [];
    const loseNext = { n: 0 };
    const quiet: Telemetry = { debug() {}, info() {}, warn() {}, error() {}, count() {} };
    const secret = 'whsec_same-id-test-0123456789abcdef';
    const ingress = createIngress({
      routes: [
        {
          provider: heygen,
          path: '/heygen',
          keys: {
            getKeys: async () => [{ secret, label: 'AWSCURRENT' }],
            refresh: async () => [{ secret, label: 'AWSCURRENT' }],
          },
          timestampToleranceSeconds: 0,
          budgetMs: 8_000,
          dedup: t.live,
        },
      ],
      maxBodyBytes: 256 * 1024,
      publisher: {
        publish: async (e) => {
          bus.push(e);
          if (loseNext.n > 0 && loseNext.n--) throw new Error('socket hang up'); // landed, answer lost
        },
      },
      telemetry: quiet,
      now,
    });
    const deliver = (e: Ev) => {
      const raw = JSON.stringify(e);
      return ingress({
        method: 'POST',
        path: '/heygen',
        headers: { 'heygen-signature': createHmac('sha256', secret).update(raw).digest('hex') },
        body: Buffer.from(raw),
        requestId: randomUUID(),
      });
    };
    const history: { e: Ev; at: number }[] = [];
    const listed = (e: Ev) => history.push({ e, at: clock.t });
    // A: the live answer is lost (5xx), HeyGen retries: two copies. B: the live answer is lost and
    // the backfill runs before HeyGen's retry: two copies. C: never reached the relay: the backfill's.
    const [a, b, c] = ['a', 'b', 'c'].map((v) => ({ event_type: 'avatar_video.success', event_data: { video_id: v } }));
    for (const e of [a, b, c] as Ev[]) listed(e);
    loseNext.n = 2;
    expect((await deliver(a as Ev)).statusCode).toBeGreaterThanOrEqual(500);
    expect((await deliver(b as Ev)).statusCode).toBeGreaterThanOrEqual(500);
    expect((await deliver(a as Ev)).statusCode).toBe(200);
    clock.t += 20 * 60_000;
    const run = await backfill(
      { sinceMs: clock.t - HOUR },
      {
        history: {
          listEvents: async () => ({
            events: history.map(({ e, at }, i) => {
              const body = JSON.stringify(e);
              return {
                eventId: `whe_${i}`,
                eventType: e.event_type,
                createdAt: new Date(at).toISOString(),
                eventKey: heygenEventKey(body),
                body,
              };
            }),
            nextToken: null,
          }),
        },
        check: t.check,
        claim: t.claim,
        index: t.index,
        publisher: { publish: async (e) => void bus.push(e) },
        now,
      },
    );
    expect(run.backfilled).toBe(2); // B and C
    expect((await deliver(b as Ev)).statusCode).toBe(200); // HeyGen's retry of B: a duplicate now
    for (const e of [a, b, c] as Ev[]) {
      const copies = bus.filter((x) => (x.data as { video_id: string }).video_id === e.event_data.video_id);
      expect(copies.length).toBeGreaterThanOrEqual(1);
      expect(new Set(copies.map((x) => x.id))).toEqual(new Set([heygenEventKey(JSON.stringify(e))]));
    }
    expect(bus.map((x) => `${(x.data as { video_id: string }).video_id}:${x.origin}`).sort()).toEqual(
      ['a:delivery', 'a:delivery', 'b:delivery', 'b:backfill', 'c:backfill'].sort(),
    );
  });
});
