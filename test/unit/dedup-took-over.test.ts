/**
 * Issue 19, chaos kind `duplicate-uncounted`: a second copy on the bus that no metric counted, when
 * the ingress and the backfill meet on one dedup record.
 *
 * - The backfill's PutEvents lands but its answer is lost: it keeps its claim (6 min lock) so that the
 *   next sweep knows. A live retry arriving after that lock passed goes ahead and publishes again;
 *   the store now says `took_over` (ports.ts `ClaimResult`) and the ingress counts the copy
 *   (`PossibleDuplicatePublished`, reason `took_over`), in both dedup modes.
 * - `record` mode: a live copy that read the record before the backfill claimed it publishes and
 *   writes its record over the backfill's live claim; the write now says `raced` (`concurrent_copy`).
 *
 * The store-level contract against moto: test/integration/dedup-modes.test.ts ("Unfinished claims").
 */
import { describe, expect, it } from 'vitest';
import { putEventsNotStored } from '../../functions/adapters/aws/put-events-outcome.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { DependencyError } from '../../functions/core/errors.js';
import type { DedupMode, EventPublisher } from '../../functions/core/ports.js';
import type { HistoryEvent } from '../../providers/heygen/runtime/api/client.js';
import { BACKFILL_DEFAULTS, backfill } from '../../providers/heygen/runtime/backfill.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { heygenBody, TENANTS, tenantDelivery, tenantRelay } from '../support/tenants.js';

const HOUR = 3_600_000;
const WINDOW_S = 48 * 3600;

/** The ingress's store and the backfill's two views (`record` check, `claim` claim) over one table. */
function table(mode: DedupMode, now: () => number) {
  const live = new MemoryDedupStore({ windowSeconds: WINDOW_S, lockSeconds: 15, mode, now });
  const entries = (live as unknown as { entries: unknown }).entries;
  const view = (m: DedupMode) =>
    Object.assign(
      new MemoryDedupStore({ windowSeconds: WINDOW_S, lockSeconds: BACKFILL_DEFAULTS.claimLockSeconds, mode: m, now }),
      {
        entries,
      },
    );
  return { live, check: view('record'), claim: view('claim') };
}

function historyOf(body: string, createdAt: number): { listEvents: () => Promise<{ events: HistoryEvent[]; nextToken: null }> } {
  const entry: HistoryEvent = {
    eventId: 'whe_took_over',
    eventType: 'avatar_video.success',
    createdAt: new Date(createdAt).toISOString(),
    body,
    eventKey: heygenEventKey(body),
  } as HistoryEvent;
  return { listEvents: async () => ({ events: [entry], nextToken: null }) };
}

const lostAnswer = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ETIMEDOUT' });

/** A bus whose first PutEvents stores the event and loses its answer; later ones succeed. */
function firstAnswerLost(bus: RelayEvent[]): EventPublisher {
  let loseNext = true;
  return {
    async publish(e) {
      bus.push(e);
      if (loseNext) {
        loseNext = false;
        throw lostAnswer();
      }
    },
    notStored: putEventsNotStored,
  };
}

describe("Issue 19 duplicate-uncounted: the ingress and the backfill's unfinished claims", () => {
  for (const mode of ['record', 'claim'] as const)
    it(`took-over-backfill-claim (${mode}): a live retry after the lock of the claim the backfill kept (its PutEvents landed, answer lost) publishes again, counted took_over`, async () => {
      let t = Date.parse('2026-11-29T12:00:00Z');
      const now = () => t;
      const stores = table(mode, now);
      const bus: RelayEvent[] = [];
      const body = heygenBody('v_backfill_lost_answer');
      // The backfill: PutEvents stores the event, its answer is lost; the claim is kept.
      const publisher = firstAnswerLost(bus);
      const run = await backfill(
        { sinceMs: t - 2 * HOUR },
        { history: historyOf(body, t - HOUR), check: stores.check, claim: stores.claim, publisher, now },
      );
      expect(run).toMatchObject({ failed: 1, backfilled: 0 });
      // HeyGen's retry of the live delivery, after the claim's 6 min lock.
      t += (BACKFILL_DEFAULTS.claimLockSeconds + 60) * 1000;
      const relay = tenantRelay([TENANTS.heygen], () => stores.live, { publish: publisher, now });
      const res = await relay.ingress(tenantDelivery(TENANTS.heygen, body));
      expect(res.statusCode).toBe(200);
      expect(bus.map((e) => e.origin)).toEqual(['backfill', 'delivery']);
      expect(new Set(bus.map((e) => e.id)).size).toBe(1);
      const counted = relay.telemetry.counts.filter((c) => c.metric === 'PossibleDuplicatePublished');
      expect(counted.map((c) => c.dimensions)).toEqual([{ provider: 'heygen', reason: 'took_over' }]);
      expect(relay.telemetry.lines.some((l) => l.level === 'warn' && /unfinished claim/.test(l.message))).toBe(true);
    });

  it("took-over-then-failed (claim): a live retry that took over the backfill's kept claim and then failed before publishing leaves it unfinished: the next backfill run's republish is counted BackfillUncertain (chaos --seed 593219033 --path 1037)", async () => {
    let t = Date.parse('2026-11-29T12:00:00Z');
    const now = () => t;
    const stores = table('claim', now);
    const bus: RelayEvent[] = [];
    const body = heygenBody('v_took_over_then_failed');
    const publisher = firstAnswerLost(bus);
    const deps = { history: historyOf(body, t - HOUR), check: stores.check, claim: stores.claim, publisher, now };
    expect(await backfill({ sinceMs: t - 2 * HOUR }, deps)).toMatchObject({ failed: 1 });
    t += (BACKFILL_DEFAULTS.claimLockSeconds + 60) * 1000;
    // HeyGen's retry takes the claim over, then EventBridge refuses it (nothing stored): 5xx, claim released.
    const refusing: EventPublisher = {
      publish: async () => {
        throw new DependencyError('publish', 'EventBridge did not accept the event');
      },
      notStored: putEventsNotStored,
    };
    const relay = tenantRelay([TENANTS.heygen], () => stores.live, { publish: refusing, now });
    expect((await relay.ingress(tenantDelivery(TENANTS.heygen, body))).statusCode).toBe(503);
    // The next sweep: the backfill's first copy may be on the bus, so this one is counted.
    t += HOUR;
    const uncertain: string[] = [];
    const again = await backfill({ sinceMs: t - 3 * HOUR }, { ...deps, onUncertain: (e) => void uncertain.push(e.id) });
    expect(again).toMatchObject({ backfilled: 1, uncertain: 1 });
    expect(bus.map((e) => e.origin)).toEqual(['backfill', 'backfill']);
    expect(uncertain).toEqual([bus[0]?.id]);
  });

  it("record-over-backfill-claim: in record mode a live copy that read before the backfill claimed, published and recorded over the backfill's live claim, counted concurrent_copy", async () => {
    const t = Date.parse('2026-11-29T12:00:00Z');
    const now = () => t;
    const stores = table('record', now);
    const bus: RelayEvent[] = [];
    const body = heygenBody('v_record_over_claim');
    let release: () => void = () => {};
    const backfillMayPublish = new Promise<void>((r) => {
      release = r;
    });
    let claimed: () => void = () => {};
    const backfillClaimed = new Promise<void>((r) => {
      claimed = r;
    });
    let run: Promise<unknown> | undefined;
    // The live copy's PutEvents: meanwhile the backfill (which read nothing either) claims the key.
    const livePublisher: EventPublisher = {
      async publish(e) {
        run = backfill(
          { sinceMs: t - 2 * HOUR },
          {
            history: historyOf(body, t - HOUR),
            check: stores.check,
            claim: stores.claim,
            publisher: {
              async publish(b) {
                claimed();
                await backfillMayPublish;
                bus.push(b);
              },
            },
            now,
          },
        );
        await backfillClaimed;
        bus.push(e);
      },
    };
    const relay = tenantRelay([TENANTS.heygen], () => stores.live, { publish: livePublisher, now });
    const res = await relay.ingress(tenantDelivery(TENANTS.heygen, body));
    release();
    await run;
    expect(res.statusCode).toBe(200);
    expect(bus.map((e) => e.origin)).toEqual(['delivery', 'backfill']);
    const counted = relay.telemetry.counts.filter(
      (c) => c.metric === 'PossibleDuplicatePublished' || c.metric === 'ConcurrentDuplicate',
    );
    expect(counted.map((c) => `${c.metric}:${c.dimensions?.reason ?? ''}`)).toEqual([
      'ConcurrentDuplicate:',
      'PossibleDuplicatePublished:concurrent_copy',
    ]);
  });
});
