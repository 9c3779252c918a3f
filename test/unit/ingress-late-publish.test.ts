/**
 * A publish that resolves after the request's deadline answered 503 (a port that finished its
 * PutEvents although the signal fired, or whose answer arrived as the deadline struck): the event is
 * on the bus, and the provider retries because of the 503. The retry must be answered `duplicate`,
 * not published a second time, in both dedup modes. The dedup store here behaves like an SDK
 * client: a call with an already aborted signal is refused at once.
 */
import { describe, expect, it, vi } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { DedupMode, DedupStore } from '../../functions/core/ports.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { heygenRoute, randomHeyGenBody, signedHeyGenRequest } from '../support/heygen-ingress.js';

const SECRET = 'whsec_test_late_publish_0123456789';
const BUDGET_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store over memory that refuses calls made with an aborted signal, as the AWS SDK does. */
function sdkLike(memory: MemoryDedupStore): DedupStore {
  const refuse = (signal?: AbortSignal) => {
    if (signal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
  };
  return {
    claim: async (k, o, s) => {
      refuse(s);
      return memory.claim(k, o);
    },
    complete: async (k, o, s) => {
      refuse(s);
      return memory.complete(k, o);
    },
    release: (k, o) => memory.release(k, o),
  };
}

function setup(mode: DedupMode, lateMs: number) {
  const published: RelayEvent[] = [];
  let late = true;
  const ingress = createIngress({
    maxBodyBytes: 1 << 16,
    publisher: {
      // The first publish lands on the bus `lateMs` after the deadline, ignoring the signal.
      publish: async (e) => {
        if (late) {
          late = false;
          await sleep(BUDGET_MS + lateMs);
        }
        published.push(e);
      },
    },
    telemetry: captureTelemetry(),
    routes: [heygenRoute(SECRET, BUDGET_MS, sdkLike(new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode })))],
  });
  return { ingress, published };
}

const body = randomHeyGenBody;
const request = (b: Buffer) => signedHeyGenRequest(SECRET, b);

describe('A publish that lands after the deadline answered 503', () => {
  for (const mode of ['claim', 'record'] as const)
    it(`mode ${mode}: the provider's retry is answered duplicate, the event is on the bus once`, async () => {
      const { ingress, published } = setup(mode, 30);
      const b = body();
      const first = await ingress(request(b));
      expect(first.statusCode).toBe(503);
      // The late publish lands (on the bus once), then its bookkeeping runs.
      await vi.waitFor(() => expect(published).toHaveLength(1), { timeout: 2_000, interval: 5 });
      await sleep(0);
      const retry = await ingress(request(b));
      expect(JSON.parse(retry.body)).toMatchObject({ status: 'duplicate' });
      expect(published).toHaveLength(1);
    });
});
