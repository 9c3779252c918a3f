/**
 * Issue 19, "HeyGen history that does not reach back far enough": HeyGen documents no retention, so
 * the backfill reports a period the listing no longer reaches unless it can PROVE nothing there was
 * dropped (providers/heygen/runtime/history-proof.ts: the listing reaches past the checkpoint, HeyGen
 * was seen keeping entries that long, or runs watched the listing at most 6 h apart and saw nothing
 * there). Sound: an outage longer than HeyGen's history, before any walk saw how long that is, is
 * reported (chaos `lost`, KNOWN_OPEN until this). Quiet: a quiet account, an empty or young history, a
 * young account whose first events come after deploy report nothing. The real backfill and plan
 * (scheduledBackfill, as the Lambda runs it) against the fake HeyGen; in-memory dedup and bus.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { describeUncovered } from '../../bin/commands/backfill-run.js';
import { describeHistoryWatch } from '../../bin/commands/status.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { ourEndpoint, type UncoveredPeriod } from '../../providers/heygen/runtime/backfill.js';
import { firstRunOrigin, MemoryBackfillCheckpoint, scheduledBackfill } from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { historyProof, WATCH_GAP_MS } from '../../providers/heygen/runtime/history-proof.js';
import { LOG_SKEW_MS } from '../../providers/heygen/runtime/subscription-log.js';
import { sharedMemoryDedup } from '../support/backfill-dedup.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
const OUR_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';

describe('Issue 19: HeyGen history that does not reach back far enough is reported, and only then', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  afterEach(() => {
    hg.fake.historyRetentionMs = Number.POSITIVE_INFINITY;
  });

  /** Our endpoint (created now, as at deploy), a dedup table, a bus; `retentionMs`: what HeyGen keeps. */
  async function world(retentionMs = Number.POSITIVE_INFINITY) {
    hg.fake.historyRetentionMs = retentionMs;
    const now = () => clock.t;
    const { check, claim } = sharedMemoryDedup(now, WINDOW);
    const ep = hg.fake.seedEndpoint(OUR_URL, null);
    /** The stack's birth (its signing secret's CreatedDate, which the Lambda reads): at deploy, as the endpoint. */
    const bornAtMs = clock.t;
    const bus: RelayEvent[] = [];
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    let n = 0;
    /** HeyGen lists an event for our endpoint at `at`; `live`: the relay published it then. */
    const event = async (at = clock.t, live = false) => {
      const e = { event_type: 'avatar_video.success', event_data: { video_id: `v${++n}-${randomUUID()}` } };
      hg.fake.emit(ep.endpoint_id, e, at);
      const key = heygenEventKey(JSON.stringify(e));
      if (live) {
        const wall = clock.t;
        clock.t = at;
        await check.complete(key, 'live');
        clock.t = wall;
        bus.push({ id: key, origin: 'delivery' } as RelayEvent);
      }
      return key;
    };
    const scheduled = async () =>
      scheduledBackfill({
        windowMs: WINDOW,
        checkpoint,
        evidence,
        deps: {
          history: hg.client,
          endpoint: await ourEndpoint(hg.client, OUR_URL, null),
          bornAtMs,
          check,
          claim,
          publisher: { publish: async (e) => void bus.push(e) },
          now,
        },
      });
    /** Hourly runs for `hours` (the production schedule), each a completed run. */
    const hourly = async (hours: number, each?: (h: number) => Promise<unknown>) => {
      for (let h = 1; h <= hours; h++) {
        clock.t += HOUR;
        await each?.(h);
        const run = await scheduled();
        expect(run.outcome).toBe('done');
      }
    };
    const periods = (reason?: UncoveredPeriod['reason']) =>
      (checkpoint.state.uncovered ?? []).filter((p) => reason === undefined || p.reason === reason);
    return { ep, bornAtMs, bus, checkpoint, evidence, event, scheduled, hourly, periods };
  }

  it('an outage longer than HeyGen keeps its history, before any walk saw how long that is: the period the listing no longer reaches is reported (history, entries unknown), and kept after good runs (chaos lost)', async () => {
    const w = await world(30 * HOUR); // HeyGen keeps 30 h (undocumented; the relay cannot know)
    await w.hourly(3); // deployed, quiet: the listing is empty
    const checked = w.checkpoint.state.checkedThrough as number;
    expect(w.checkpoint.state.historyKeptMs ?? null).toBeNull(); // never seen to keep anything
    // Down 36 h: HeyGen lists an event of ours every 12 h, none reaches the relay.
    const start = clock.t;
    const lost = [];
    for (const h of [1, 13, 25]) lost.push({ key: await w.event(start + h * HOUR), at: start + h * HOUR });
    clock.t = start + 36 * HOUR;
    const run = await w.scheduled();
    expect(run.plan?.kind).toBe('sweep');
    const oldestListed = start + 13 * HOUR; // the event 1 h into the outage was dropped unseen
    expect(run.summary?.uncovered).toEqual([{ reason: 'history', fromMs: checked, untilMs: oldestListed, entries: null }]);
    expect(w.bus.map((e) => e.id).sort()).toEqual(
      lost
        .slice(1)
        .map((x) => x.key)
        .sort(),
    );
    // Good runs after: the period stays until a person acknowledges it (the alarm does not clear).
    await w.hourly(26);
    expect(w.periods()).toEqual([{ reason: 'history', fromMs: checked, untilMs: oldestListed, entries: null }]);
  });

  it('an outage while HeyGen lists nothing at all: an empty listing after 8 h unwatched is reported by the next sweep as not confirmed (no events, or history that does not reach back)', async () => {
    const w = await world(2 * HOUR);
    await w.hourly(2);
    const checked = w.checkpoint.state.checkedThrough as number;
    const start = clock.t;
    await w.event(start + HOUR); // dropped 2 h later, while the relay is down
    clock.t = start + 8 * HOUR;
    await w.scheduled(); // a freshness run: it judges nothing; the watch now has an 8 h gap
    let sweep: Awaited<ReturnType<typeof w.scheduled>> | undefined;
    while (sweep === undefined) {
      clock.t += HOUR;
      const run = await w.scheduled();
      if (run.plan?.kind === 'sweep') sweep = run;
    }
    expect(sweep.summary?.uncovered).toEqual([
      { reason: 'history', fromMs: checked, untilMs: sweep.summary?.untilMs, entries: null },
    ]);
  });

  it('a quiet account (hourly runs, no events for days, an empty listing) raises no history period', async () => {
    const w = await world(30 * HOUR);
    await w.hourly(24 * 5);
    expect(w.periods()).toEqual([]);
  });

  it('a quiet account whose history is young (its last events aged out of a 26 h history days ago) raises no history period', async () => {
    const w = await world(26 * HOUR);
    await w.scheduled();
    for (let k = 0; k < 3; k++) await w.event(clock.t - 2 * HOUR + k * 10 * 60_000, true);
    await w.hourly(24 * 4); // the events age out on day 2; two days of an empty listing follow
    expect(w.periods()).toEqual([]);
    expect(w.bus).toHaveLength(3);
  });

  it('a young account whose first events arrive after deploy raises no history period (one 5 h after deploy, one 30 min before the daily sweep, then busy days)', async () => {
    const w = await world(30 * HOUR);
    await w.scheduled(); // the first run, minutes after the registrar created the endpoint
    const deploy = clock.t;
    await w.hourly(48, async (h) => {
      if (h === 5) await w.event(clock.t - 30 * 60_000, true);
      if (h === 24) await w.event(deploy + 23.5 * HOUR, true);
      if (h > 24) await w.event(clock.t - 20 * 60_000, h % 3 !== 0); // one in three never arrives
    });
    expect(w.periods()).toEqual([]);
    const lostKeys = w.bus.filter((e) => e.origin === 'backfill');
    expect(lostKeys.length).toBeGreaterThan(0);
  });

  it("a first run: nothing is reported before our endpoint existed, and a young account's empty listing is no gap", async () => {
    const w = await world(30 * HOUR);
    clock.t += 50 * 60_000; // the backfill's first run, 50 min after the registrar created the endpoint
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run' });
    expect(run.summary?.uncovered).toEqual([]);
  });

  it("first-run-before-birth: a neighbour's entry of our types created before the stack was born is not published", async () => {
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks', null);
    const before = { event_type: 'avatar_video.success', event_data: { video_id: `before-${randomUUID()}` } };
    hg.fake.emit(neighbour.endpoint_id, before, clock.t - 2 * HOUR); // inside the dedup window, 2 h before our birth
    const w = await world(30 * HOUR);
    // Ours, after the birth and before the first run: still recovered. A neighbour's of our type made
    // then is another matter (the subscription-log rules), not this test's.
    const lost = await w.event(w.bornAtMs + 20 * 60_000);
    clock.t += 50 * 60_000;
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run', sinceMs: w.bornAtMs - LOG_SKEW_MS }); // originFloor: the log's skew bound
    const ids = w.bus.map((x) => x.id);
    expect(ids).not.toContain(heygenEventKey(JSON.stringify(before)));
    expect(ids).toEqual([lost]);
    expect(run.summary?.uncovered).toEqual([]); // the pre-birth entry is no gap: it was never ours
    expect(w.checkpoint.state.originMs).toBe(w.bornAtMs);
  });

  it("first-run-before-birth, later sweeps: a sweep hours after the first run (its 6 h overlap reaches before the birth) does not publish a neighbour's pre-birth entry either (the checkpoint keeps the origin)", async () => {
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks', null);
    const before = { event_type: 'avatar_video.success', event_data: { video_id: `before-${randomUUID()}` } };
    hg.fake.emit(neighbour.endpoint_id, before, clock.t - 2 * HOUR);
    const w = await world(30 * HOUR);
    clock.t += 50 * 60_000;
    await w.scheduled();
    clock.t += HOUR;
    await w.evidence.record('heygen', 'failure', clock.t - 5 * 60_000); // the ingress answered a 5xx: a sweep
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'trouble' });
    // It starts at the checkpoint and takes the 6 h before it too (entries listed late): the entry's time.
    expect(run.plan).toMatchObject({ stopEarly: { lateMs: 6 * HOUR } });
    expect(w.bus.map((x) => x.id)).not.toContain(heygenEventKey(JSON.stringify(before)));
    expect(run.summary?.foreign).toBeGreaterThanOrEqual(1);
    expect(w.periods()).toEqual([]);
  });

  it('a first run long after our endpoint was created (the backfill failed for 3 days after deploy): entries of ours before the dedup window are reported (dedup_window, counting those HeyGen still lists)', async () => {
    const w = await world(60 * HOUR);
    const created = Date.parse(w.ep.created_at);
    for (let h = 1; h < 72; h += 6) await w.event(created + h * HOUR);
    clock.t = created + 72 * HOUR;
    const run = await w.scheduled();
    const oldest = clock.t - WINDOW + 15 * 60_000;
    // From the stack's birth (the signing secret, created just before the registrar's endpoint).
    expect(w.bornAtMs).toBeLessThanOrEqual(created);
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run', gapFromMs: w.bornAtMs });
    const listedBefore = [13, 19].length; // listed (kept 60 h) and older than the window: 1 h and 7 h were dropped
    expect(run.summary?.uncovered).toEqual([
      { reason: 'dedup_window', fromMs: w.bornAtMs, untilMs: oldest, entries: listedBefore },
    ]);
  });

  it("our endpoint deleted at HeyGen before the backfill's first run, the registrar made a new one: the first run judges from the stack's birth (the signing secret's CreatedDate), so our events older than the window, sent to the old endpoint, are reported (chaos lost)", async () => {
    const w = await world(60 * HOUR);
    for (let h = 1; h < 72; h += 6) await w.event(w.bornAtMs + h * HOUR);
    clock.t = w.bornAtMs + 70 * HOUR;
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id); // deleted (or its URL edited away) while the relay was down
    const renewed = hg.fake.seedEndpoint(OUR_URL, null); // the registrar registers a new one
    clock.t = w.bornAtMs + 72 * HOUR;
    const run = await w.scheduled();
    const oldest = clock.t - WINDOW + 15 * 60_000;
    expect(Date.parse(renewed.created_at)).toBeGreaterThan(oldest); // its creation alone would report nothing
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run', gapFromMs: w.bornAtMs });
    const listedBefore = [13, 19].length; // listed (kept 60 h) and older than the window
    // Those inside the window, made before the new endpoint, were sent to the deleted one or, as far as
    // the backfill can tell, to a neighbour's: unsure, reported, never published (first-log-starts-at-our-endpoint).
    const inWindowBefore = [25, 31, 37, 43, 49, 55, 61, 67].length;
    expect(run.summary?.uncovered).toEqual([
      expect.objectContaining({ reason: 'subscription', entries: inWindowBefore }),
      { reason: 'dedup_window', fromMs: w.bornAtMs, untilMs: oldest, entries: listedBefore },
    ]);
  });

  it('deployed 3 days before the API key was put: the first run judges from the last run without a key, not from the deploy (a young account stays quiet)', async () => {
    const w = await world(30 * HOUR);
    hg.fake.deleteBehindOurBack(w.ep.endpoint_id); // no endpoint yet: the registrar needs the key
    for (let h = 1; h <= 72; h++) {
      clock.t += HOUR;
      await w.checkpoint.noteKeyMissing(clock.t); // the hourly run finds no key
    }
    clock.t += 30 * 60_000;
    hg.fake.seedEndpoint(OUR_URL, null); // the key is put; the registrar registers our endpoint
    clock.t += 30 * 60_000;
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'first_run' });
    expect(run.plan).not.toHaveProperty('gapFromMs');
    expect(run.summary?.uncovered).toEqual([]);
    expect(firstRunOrigin(w.bornAtMs, null, clock.t)).toBe(w.bornAtMs); // without the key's mark: the deploy
  });

  it('an entry a freshness run saw after the checkpoint that is gone by the sweep: the period is reported though the runs watched hourly', async () => {
    const w = await world(3 * HOUR);
    await w.hourly(2);
    const checked = w.checkpoint.state.checkedThrough as number;
    // Three in one hour: the freshness run samples the first and the last (published live), not the
    // middle one (never arrived). HeyGen drops all three after 3 h; the daily sweep comes later.
    await w.event(clock.t + 10 * 60_000, true);
    const unseen = await w.event(clock.t + 20 * 60_000);
    await w.event(clock.t + 30 * 60_000, true);
    await w.hourly(24);
    expect(w.checkpoint.state.lastSweepAt).toBeGreaterThan(clock.t - 2 * HOUR);
    const history = w.periods('history');
    expect(history).toHaveLength(1);
    expect(history[0]?.fromMs).toBe(checked);
    expect(w.bus.some((e) => e.id === unseen)).toBe(false);
  });

  it('an upgrade: a checkpoint written before the watch existed raises no history period on a quiet account (the rule before it, once), and the sweep starts the watch', async () => {
    const w = await world(30 * HOUR);
    await w.hourly(30);
    const { watch: _dropped, ...before } = w.checkpoint.state;
    w.checkpoint.state = before; // as the previous version wrote it
    await w.hourly(24);
    expect(w.periods()).toEqual([]);
    expect(w.checkpoint.state.watch).toBeTruthy();
  });

  it('the proof rule itself: listed past the checkpoint, kept that long, watched; each alone', () => {
    const base = {
      now: 100 * HOUR,
      needMs: 76 * HOUR,
      listedFromMs: undefined,
      untilMs: 100 * HOUR - 600_000,
      keptMs: null,
      watch: null,
    };
    expect(historyProof({ ...base, needMs: null })).toBe('first_run');
    expect(historyProof({ ...base, listedFromMs: 70 * HOUR })).toBe('listed');
    expect(historyProof({ ...base, listedFromMs: 90 * HOUR, keptMs: 24 * HOUR })).toBe('kept');
    expect(historyProof({ ...base, listedFromMs: 90 * HOUR, keptMs: 23 * HOUR })).toBeNull();
    const watch = { lastAt: 99 * HOUR, maxGapMs: WATCH_GAP_MS, oldestAfterMs: null };
    expect(historyProof({ ...base, listedFromMs: undefined, watch })).toBe('watched');
    expect(historyProof({ ...base, listedFromMs: undefined, watch: { ...watch, maxGapMs: WATCH_GAP_MS + 1 } })).toBeNull();
    // A gap longer than 6 h is still watched when HeyGen was seen keeping entries longer than it.
    expect(historyProof({ ...base, listedFromMs: 90 * HOUR, watch: { ...watch, maxGapMs: 9 * HOUR } })).toBe('watched');
    expect(historyProof({ ...base, listedFromMs: 90 * HOUR, watch: { ...watch, oldestAfterMs: 80 * HOUR } })).toBeNull();
  });
});

describe('Issue 19: status shows the history rule', () => {
  it('status says how long HeyGen was seen keeping entries, when its listing was last read to the end, and a history period as not confirmed', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const item = {
      historyKeptMs: { N: String(30 * HOUR) },
      watch: { S: JSON.stringify({ lastAt: now - 2 * HOUR, maxGapMs: 7 * HOUR, oldestAfterMs: null }) },
    };
    const line = describeHistoryWatch(item, now);
    expect(line).toContain('HeyGen seen keeping entries 30 h');
    expect(line).toContain('longest gap since the last sweep 7 h; up to 6 h watched');
    expect(describeHistoryWatch({}, now)).toBe('HeyGen never seen keeping an entry');
    const [period] = describeUncovered([{ reason: 'history', fromMs: now - 40 * HOUR, untilMs: now - 20 * HOUR, entries: null }]);
    expect(period).toContain("could not be confirmed: HeyGen's history does not reach back that far");
    expect(period).toContain('entries unknown');
  });
});
