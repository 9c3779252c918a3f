/**
 * Review of the backfill's early stop (issue 19): the scheduled backfill as the Lambda runs it, the fake
 * HeyGen history, in-memory dedup. HeyGen's OpenAPI promises no order for GET /v3/webhooks/events; a
 * listing sorted by `created_at` (newest first) is as "in order" as one sorted by the moment an entry
 * was listed, and there an entry listed late sits BELOW entries the last walk already saw.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backfillSince } from '../../bin/commands/backfill-run.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { type DedupIndex, ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import { MemoryBackfillCheckpoint, scheduledBackfill } from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const WINDOW = 48 * HOUR;
const OUR_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
type Ev = { event_type: string; event_data: Record<string, unknown> };

describe('review2: the early stop and entries HeyGen lists late', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  async function world() {
    const now = () => clock.t;
    const opts = { windowSeconds: WINDOW / 1000, lockSeconds: 15, now };
    const check = new MemoryDedupStore({ ...opts, mode: 'record' });
    const claim = new MemoryDedupStore({ ...opts, mode: 'claim', lockSeconds: 360 });
    const entries = (check as unknown as { entries: Map<string, { status: string; expiresAt: number; lockUntil: number }> })
      .entries;
    Object.assign(claim, { entries });
    const index: DedupIndex = {
      published: async (keys) => new Set(keys.filter((k) => entries.get(k)?.status === 'COMPLETED')),
      lookup: async (keys) => ({
        published: new Set(keys.filter((k) => entries.get(k)?.status === 'COMPLETED')),
        unfinished: new Set(
          keys.filter((k) => entries.get(k)?.status === 'IN_PROGRESS' && (entries.get(k)?.lockUntil ?? 0) < now()),
        ),
      }),
    };
    const client = hg.client;
    const ep = hg.fake.seedEndpoint(OUR_URL, null);
    // Made at deploy, before the entries these tests list (nothing before it was addressed to us), in
    // an account whose history reaches further back (another app's entry): a first run proves from it
    // that HeyGen dropped nothing since our endpoint was made (history-proof.ts, 'listed').
    ep.created_at = new Date(clock.t - 40 * HOUR).toISOString();
    hg.fake.emit('ep_other_app', { event_type: 'photo_avatar.success', event_data: { id: 'older' } }, clock.t - 41 * HOUR);
    const endpoint = await ourEndpoint(client, OUR_URL, null);
    const bus: RelayEvent[] = [];
    const failing = new Set<string>();
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    const uncertain = { n: 0 };
    let n = 0;
    const next = (): Ev => ({ event_type: 'avatar_video.success', event_data: { video_id: `v${++n}` } });
    const key = (e: Ev) => heygenEventKey(JSON.stringify(e));
    const lost = (at: number, e = next()) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      return e;
    };
    const delivered = async (at: number, e = next()) => {
      hg.fake.emit(ep.endpoint_id, e, at);
      await check.complete(key(e), `live-${randomUUID()}`);
      bus.push({ id: key(e), origin: 'delivery' } as RelayEvent);
      return e;
    };
    /** HeyGen's listing sorted by `created_at` (stable): an entry listed late goes to its creation time's place. */
    const sortByCreation = () => hg.fake.history.sort((a, b) => a.created_at.localeCompare(b.created_at));
    const publisher = {
      publish: async (e: RelayEvent) => {
        if (failing.has(e.id)) throw Object.assign(new Error('InternalFailure'), { $metadata: { httpStatusCode: 500 } });
        bus.push(e);
      },
    };
    const scheduled = async (trouble = false) => {
      if (trouble) await evidence.record('heygen', 'failure', clock.t - MIN);
      return scheduledBackfill({
        windowMs: WINDOW,
        checkpoint,
        evidence,
        deps: { history: client, endpoint, check, claim, index, publisher, evidence, now, onUncertain: () => void uncertain.n++ },
      });
    };
    const copies = (e: Ev) => bus.filter((b) => b.id === key(e)).length;
    return { lost, delivered, sortByCreation, scheduled, copies, failing, key, checkpoint, entries, uncertain, ep };
  }

  /** 30 h of delivered entries, a first walk to the end (in order), then one early-stop-eligible sweep at `ra`. */
  async function walkedInOrder(w: Awaited<ReturnType<typeof world>>) {
    for (let k = 0; k < 150; k++) await w.delivered(clock.t - 30 * HOUR + k * 12 * MIN);
    clock.t += 20 * MIN;
    const first = await w.scheduled();
    expect(first.summary).toMatchObject({ reachedEnd: true, ordered: true });
    clock.t += HOUR;
    await w.delivered(clock.t - MIN); // the head of the next walk
    const a = await w.scheduled(true);
    expect(a.plan?.kind).toBe('sweep');
    return clock.t;
  }

  it('a listing sorted by created_at: an entry listed 17 min late (created before the checkpoint, below the last head) is published by the next early-stopping sweep, not passed over', async () => {
    const w = await world();
    const ra = await walkedInOrder(w);
    // Created 12 min before walk A (2 min before its checkpoint, now − settle), listed 5 min after it.
    const x = w.lost(ra - 12 * MIN);
    clock.t = ra + 5 * MIN;
    w.sortByCreation();
    for (let k = 0; k < 5; k++) await w.delivered(ra + (10 + k) * MIN);
    w.sortByCreation();
    clock.t = ra + HOUR;
    const b = await w.scheduled(true);
    expect(b.summary?.stoppedEarly).toBe(true); // the early stop is what is tried here
    expect(b.summary?.ordered).toBe(true); // a created_at-sorted listing is "in order"
    for (let h = 0; h < 30; h++) {
      clock.t += HOUR;
      await w.scheduled();
    }
    const state = await w.checkpoint.read();
    // Either on the bus once, or at least reported; dfd2de7's walk to the end (overlap 6 h) found it.
    expect({ copies: w.copies(x), uncovered: state.uncovered?.length ?? 0 }).toEqual({ copies: 1, uncovered: 0 });
  });
  it('an entry listed more than 6 h late above the last head whose publish fails (5xx) is published by a later sweep, not passed over because the head moved past it', async () => {
    const w = await world();
    // A quiet account: entries 30 h to 20 h ago, then nothing; a first walk to the end sees them in order.
    for (let k = 0; k < 50; k++) await w.delivered(clock.t - 30 * HOUR + k * 12 * MIN);
    clock.t += 20 * MIN;
    const first = await w.scheduled();
    expect(first.summary).toMatchObject({ reachedEnd: true, ordered: true });
    // Listed now, created 10 h ago (HeyGen listing it late); EventBridge answers 500 to its publish.
    const x = w.lost(clock.t - 10 * HOUR);
    w.failing.add(w.key(x));
    clock.t += HOUR;
    const b = await w.scheduled(true);
    expect(b.summary).toMatchObject({ listedLate: 1, failed: 1, stoppedEarly: true });
    w.failing.clear();
    for (let h = 0; h < 30; h++) {
      clock.t += HOUR;
      await w.scheduled();
    }
    const state = await w.checkpoint.read();
    expect({ copies: w.copies(x), uncovered: state.uncovered?.length ?? 0 }).toEqual({ copies: 1, uncovered: 0 });
  });
  it('a freshness run whose sample missed publishes the rest of its entries: one held by an unfinished claim of a dead ingress (PutEvents landed) is counted uncertain (BackfillUncertain), not published again silently', async () => {
    const w = await world();
    for (let k = 0; k < 20; k++) await w.delivered(clock.t - 10 * HOUR + k * 12 * MIN);
    clock.t += 20 * MIN;
    await w.scheduled(); // the first run: a sweep
    clock.t += 30 * MIN;
    for (let k = 0; k < 5; k++) await w.delivered(clock.t - 25 * MIN + k * MIN);
    // The ingress (claim mode) claimed e, PutEvents landed (e is on the bus), then it died before the record.
    // Listed second of 7: not picked by the sample (every 10th and the last).
    const e = w.lost(clock.t - 15 * MIN);
    w.entries.set(w.key(e), { status: 'IN_PROGRESS', expiresAt: clock.t + WINDOW, lockUntil: clock.t - 10 * MIN });
    w.lost(clock.t - 13 * MIN); // the newest: sampled, missing
    clock.t += 30 * MIN;
    const run = await w.scheduled();
    expect(run.plan).toMatchObject({ kind: 'sweep', reason: 'sample_missed' }); // the sweep right after the freshness run
    // The ingress's copy is not in this bus double: the backfill's is, once, and counted.
    expect({ copies: w.copies(e), uncertain: w.uncertain.n }).toEqual({ copies: 1, uncertain: 1 });
  });
});

describe('review2: our subscription when HeyGen lists two endpoints at our URL', () => {
  const hg = useFakeHeyGen();
  it("entries of a type only the second endpoint at our URL subscribes to are ours (HeyGen delivered them to our URL), not a neighbour's", async () => {
    const client = hg.client;
    // A stale endpoint at our URL (an earlier stack, a copied one) listed first, and the one we hold the secret of.
    hg.fake.seedEndpoint(OUR_URL, ['video_translate.success']);
    hg.fake.seedEndpoint(OUR_URL, ['avatar_video.success', 'avatar_video.fail']);
    hg.fake.seedEndpoint('https://other-app.example.com/hooks', ['photo_avatar.success']);
    const ours = await ourEndpoint(client, OUR_URL, null);
    expect({ found: ours.found, events: [...(ours.events ?? [])].sort() }).toEqual({
      found: true,
      events: ['avatar_video.fail', 'avatar_video.success', 'video_translate.success'],
    });
    hg.fake.seedEndpoint(OUR_URL, null); // one of them takes every type: so does our URL
    expect((await ourEndpoint(client, OUR_URL, ['avatar_video.success'])).events).toBeNull();
  });
});

describe("review2: the CLI's window arithmetic at the edges", () => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  it('a --dedup-window no longer than the 15 min margin plus the 10 min settle is refused with one line, not a start in the future that looks at nothing', () => {
    for (const windowMs of [10 * MIN, 25 * MIN]) {
      expect(() => backfillSince({ since: undefined, windowMs, now })).toThrow(/leaves nothing to look at/);
      expect(() => backfillSince({ since: '5m', windowMs, now })).toThrow(/leaves nothing to look at/);
    }
    expect(backfillSince({ since: '2h', windowMs: 10 * MIN, allowDuplicates: true, now })).toBe(now - 2 * HOUR);
    expect(backfillSince({ since: undefined, windowMs: 26 * MIN, now })).toBe(now - 11 * MIN);
  });
  it('--since exactly the window is refused (its oldest entries may have lost their records); the window less the margin is taken', () => {
    expect(() => backfillSince({ since: '48h', windowMs: 48 * HOUR, now })).toThrow(/use --since 47h45m/);
    expect(backfillSince({ since: '47h45m', windowMs: 48 * HOUR, now })).toBe(now - (48 * HOUR - 15 * MIN));
  });
});
