/**
 * Review 3 (issue 19): "a person is alarmed whenever events stop flowing". The HeyGenBackfilled alarm
 * watches `BackfilledEvents` (Outcome done|partial), which the backfill Lambda entry emits from the
 * summary scheduledBackfill returns. Fixed in backfill-plan.ts (withFreshPass).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import type { DedupIndex } from '../../providers/heygen/runtime/backfill.js';
import { MemoryBackfillCheckpoint, scheduledBackfill } from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
type Ev = { event_type: string; event_data: Record<string, unknown> };

describe('review3: events a freshness run recovers are counted for the alarm', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  /*
   * Causal chain (backfill-plan.ts scheduledBackfill): an hourly run is a freshness run (a sample of
   * 1 in 10, always the newest). When the sample is missing, fresh() publishes EVERY missing entry of
   * the interval, and scheduledBackfill then plans and runs a sweep (`sample_missed`) and REPLACES
   * `summary` with the sweep's. The sweep finds those entries published (by the freshness run) and
   * reports backfilled 0. The entry (entries/backfill.ts) emits BackfilledEvents = summary.backfilled,
   * so the HeyGenBackfilled alarm ("each one means live delivery failed") stays quiet in the very case
   * it is for: live delivery stopped (a dead secret whose heal is blocked, deliveries lost on the way)
   * between two daily sweeps. Only the unalarmed per-event `Backfilled` metric sees them. Severity:
   * missing alarm (events recovered, but nobody is told live delivery failed). Fix: add the two
   * summaries' counts (backfilled, parked, uncertain, foreign, missing) instead of keeping the last.
   */
  it('review3-fresh-backfilled-uncounted: the run summary counts the events its freshness pass published', async () => {
    const now = () => clock.t;
    const opts = { windowSeconds: WINDOW / 1000, lockSeconds: 15, now };
    const check = new MemoryDedupStore({ ...opts, mode: 'record' });
    const claim = new MemoryDedupStore({ ...opts, mode: 'claim' });
    const entries = (check as unknown as { entries: Map<string, { status: string; expiresAt: number }> }).entries;
    Object.assign(claim, { entries });
    const index: DedupIndex = {
      published: async (keys) =>
        new Set(keys.filter((k) => entries.get(k)?.status === 'COMPLETED' && (entries.get(k)?.expiresAt ?? 0) > now())),
    };
    const ep = hg.fake.seedEndpoint('https://abc123.lambda-url.eu-west-1.on.aws/heygen');
    const bus: RelayEvent[] = [];
    const evidence = new MemoryEvidenceStore();
    const checkpoint = new MemoryBackfillCheckpoint();
    let n = 0;
    const next = (): Ev => ({ event_type: 'avatar_video.success', event_data: { video_id: `v${++n}` } });
    const delivered = async () => {
      const e = next();
      hg.fake.emit(ep.endpoint_id, e, clock.t);
      await check.complete(heygenEventKey(JSON.stringify(e)), `live-${randomUUID()}`);
    };
    const run = () =>
      scheduledBackfill({
        windowMs: WINDOW,
        checkpoint,
        evidence,
        deps: { history: hg.client, check, claim, index, publisher: { publish: async (e) => void bus.push(e) }, evidence, now },
      });
    for (let k = 0; k < 3; k++) {
      await delivered();
      clock.t += 10 * 60_000;
    }
    clock.t += HOUR;
    expect((await run()).plan?.kind).toBe('sweep'); // the first run: nothing missing
    expect(bus).toHaveLength(0);
    // Live delivery stops: 3 events HeyGen lists never reach the relay.
    for (let k = 0; k < 3; k++) {
      clock.t += 10 * 60_000;
      hg.fake.emit(ep.endpoint_id, next(), clock.t);
    }
    clock.t += 30 * 60_000;
    const r = await run();
    expect(bus).toHaveLength(3); // all three recovered, once each
    expect(r.summary?.backfilled).toBe(3); // what BackfilledEvents (and the alarm) gets
  });
});
