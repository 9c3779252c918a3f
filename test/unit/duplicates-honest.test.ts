/**
 * Issue 19 finding 3, the ingress's side: every copy of one event carries the same envelope `id` on
 * every path (live, the provider's retry, the backfill; a second account too), the duplicates one
 * fault can cause are counted (`PossibleDuplicatePublished` by reason), and only a PutEvents failure
 * that proves nothing was stored is retried by the SDK. The wire-level proof (real SDK, moto, fault
 * proxy) is test/integration/duplicates-honest.test.ts; the table is docs/guarantees.md.
 */
import { describe, expect, it } from 'vitest';
import { putEventsNotStored, StoredOnceRetryStrategy } from '../../functions/adapters/aws/put-events-outcome.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { DependencyError } from '../../functions/core/errors.js';
import type { DedupStore, EventPublisher } from '../../functions/core/ports.js';
import { backfill } from '../../providers/heygen/runtime/backfill.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { eventId } from '../../providers/runtime.js';
import { heygenBody, TENANTS, tenantDelivery, tenantRelay } from '../support/tenants.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe('PutEvents outcomes (functions/adapters/aws/put-events-outcome.ts)', () => {
  it.each([
    ['a throttling answer', sdkError('ThrottlingException', { $metadata: { httpStatusCode: 400 } }), true],
    ['a 429', sdkError('TooManyRequests', { $metadata: { httpStatusCode: 429 } }), true],
    ['connection refused', sdkError('Error', { code: 'ECONNREFUSED' }), true],
    ['DNS failure', sdkError('Error', { code: 'ENOTFOUND' }), true],
    [
      'the connect timeout',
      sdkError('TimeoutError', { message: 'the request socket did not establish a connection with the server within 1000 ms.' }),
      true,
    ],
    ['every entry failed (the publisher)', new DependencyError('publish', 'EventBridge did not accept the event'), true],
    ['the request timeout (the bytes left)', sdkError('TimeoutError', { code: 'ETIMEDOUT' }), false],
    ['a reset connection', sdkError('Error', { code: 'ECONNRESET' }), false],
    ['a 500', sdkError('InternalException', { $metadata: { httpStatusCode: 500 } }), false],
    ['a 503', sdkError('ServiceUnavailable', { $metadata: { httpStatusCode: 503 } }), false],
    ['an abort (the deadline)', sdkError('AbortError'), false],
    ['anything else', 'boom', false],
  ])('dup-classify: %s: not stored = %s', (_name, error, notStored) => {
    expect(putEventsNotStored(error)).toBe(notStored);
  });

  it('dup-sdk-retries: the retry strategy retries a throttled attempt and refuses to retry a lost answer', async () => {
    const strategy = new StoredOnceRetryStrategy(3);
    const token = await strategy.acquireInitialRetryToken('events');
    const throttled = sdkError('ThrottlingException', { $metadata: { httpStatusCode: 400 } });
    const retried = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', error: throttled as never });
    expect(retried.getRetryCount()).toBe(1);
    const lost = sdkError('TimeoutError', { code: 'ETIMEDOUT' });
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT', error: lost as never })).rejects.toThrow(
      /may have stored/,
    );
  });
});

describe('Issue 19 finding 3 (ingress): one id on every path, each extra copy counted', () => {
  it('dup-same-id-every-path: live, retry after a lost answer and backfill after an unwritten record carry one id, for a second account too', async () => {
    const staging = TENANTS['heygen-staging'];
    const dedup = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' });
    const bus: RelayEvent[] = [];
    const faults: ('lose-answer' | 'none')[] = ['lose-answer'];
    const publisher: EventPublisher = {
      async publish(e) {
        bus.push(e); // stored on the bus ...
        if (faults.shift() === 'lose-answer') throw Object.assign(new Error('lost'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
      },
      notStored: putEventsNotStored,
    };
    // (b) the answer is lost: 503; HeyGen's retry publishes a second copy.
    let recordFails = false;
    const flaky: DedupStore = {
      claim: (k, o) => dedup.claim(k, o),
      complete: async (k, o) => {
        if (recordFails) throw new Error('DynamoDB is down');
        return dedup.complete(k, o);
      },
      release: (k, o) => dedup.release(k, o),
    };
    const relay = tenantRelay([staging], () => flaky, { publish: publisher });
    const lostBody = heygenBody('v_lost_answer');
    const first = await relay.ingress(tenantDelivery(staging, lostBody));
    const retry = await relay.ingress(tenantDelivery(staging, lostBody));
    expect([first.statusCode, retry.statusCode]).toEqual([503, 200]);

    // (a) published, but the record is not written: the backfill publishes it again from the history.
    recordFails = true;
    const unrecorded = heygenBody('v_unrecorded');
    expect((await relay.ingress(tenantDelivery(staging, unrecorded))).statusCode).toBe(200);
    const now = Date.now();
    const entry = { eventId: 'whe_1', eventType: 'avatar_video.success', createdAt: new Date(now - 3_600_000).toISOString() };
    const summary = await backfill(
      { sinceMs: now - 7_200_000 },
      {
        history: {
          listEvents: async () => ({
            events: [{ ...entry, body: unrecorded, eventKey: heygenEventKey(unrecorded) }],
            nextToken: null,
          }),
        },
        check: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }),
        claim: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 360, mode: 'claim' }),
        publisher,
        source: 'heygen-staging',
        now: () => now,
      },
    );
    expect(summary.backfilled).toBe(1);

    const ids = bus.map((e) => [e.origin, e.source, e.id]);
    const lostId = eventId('heygen', Buffer.from(lostBody), {}, 'heygen-staging');
    const unrecordedId = eventId('heygen', Buffer.from(unrecorded), {}, 'heygen-staging');
    expect(ids).toEqual([
      ['delivery', 'heygen-staging', lostId],
      ['delivery', 'heygen-staging', lostId],
      ['delivery', 'heygen-staging', unrecordedId],
      ['backfill', 'heygen-staging', unrecordedId],
    ]);
    expect(lostId).toMatch(/^heygen-staging:evt:/);
    const counted = relay.telemetry.counts.filter((c) => c.metric === 'PossibleDuplicatePublished');
    expect(counted.map((c) => c.dimensions)).toEqual([
      { provider: 'heygen-staging', reason: 'publish_unconfirmed' },
      { provider: 'heygen-staging', reason: 'record_not_written' },
    ]);
  });

  it('dup-not-counted: a failure that proves nothing was stored (throttled, every entry failed) is not a possible duplicate', async () => {
    const heygen = TENANTS.heygen;
    const failures = [
      new DependencyError('publish', 'EventBridge did not accept the event'),
      sdkError('ThrottlingException', { $metadata: { httpStatusCode: 400 } }),
    ];
    const relay = tenantRelay([heygen], () => new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }), {
      publish: {
        async publish() {
          const f = failures.shift();
          if (f) throw f;
        },
        notStored: putEventsNotStored,
      },
    });
    const body = heygenBody('v_refused');
    expect((await relay.ingress(tenantDelivery(heygen, body))).statusCode).toBe(503);
    expect((await relay.ingress(tenantDelivery(heygen, body))).statusCode).toBe(503);
    expect((await relay.ingress(tenantDelivery(heygen, body))).statusCode).toBe(200);
    expect(relay.telemetry.counts.filter((c) => c.metric === 'PossibleDuplicatePublished')).toEqual([]);
  });

  it('dup-concurrent-copy: in record mode two copies in flight in two environments are both published and counted', async () => {
    const heygen = TENANTS.heygen;
    const shared = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' });
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const bus: string[] = [];
    const publish: EventPublisher = {
      publish: async (e) => {
        await gate;
        bus.push(e.id);
      },
    };
    // Two execution environments: two ingress instances over one table.
    const a = tenantRelay([heygen], () => shared, { publish });
    const b = tenantRelay([heygen], () => shared, { publish });
    const body = heygenBody('v_concurrent');
    const both = Promise.all([a.ingress(tenantDelivery(heygen, body)), b.ingress(tenantDelivery(heygen, body))]);
    await new Promise((r) => setTimeout(r, 10));
    open();
    await both;
    expect(bus).toHaveLength(2);
    expect(new Set(bus).size).toBe(1);
    const counted = [...a.telemetry.counts, ...b.telemetry.counts].filter((c) => c.metric === 'PossibleDuplicatePublished');
    expect(counted.map((c) => c.dimensions?.reason)).toEqual(['concurrent_copy']);
  });
});
