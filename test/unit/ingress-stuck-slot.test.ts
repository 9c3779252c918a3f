/**
 * A request cut short by its deadline while it was still before the in-flight bookkeeping (here: a
 * signing-key read that ignores its signal and returns later) must not take the key's in-flight slot
 * afterwards: nothing would ever free it (the deadline that frees slots has already fired), and a
 * publish that then hangs would make every later copy of the event in this execution environment
 * wait for its own deadline and answer 503, for the environment's lifetime.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { DedupMode } from '../../functions/core/ports.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { heygenRoute, randomHeyGenBody, signedHeyGenRequest } from '../support/heygen-ingress.js';

const SECRET = 'whsec_test_stuck_slot_0123456789';
const BUDGET_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = new Promise<never>(() => {});

const body = randomHeyGenBody;
const request = (b: Buffer) => signedHeyGenRequest(SECRET, b);

describe('A request past its deadline takes no in-flight slot', () => {
  for (const mode of ['claim', 'record'] as const satisfies readonly DedupMode[])
    it(`mode ${mode}: the key read returns after the 503, the first publish would hang: the retry still publishes`, async () => {
      const published: RelayEvent[] = [];
      const keys = new StaticKeySource([SECRET]);
      let slowKeys = true;
      const ingress = createIngress({
        maxBodyBytes: 1 << 16,
        publisher: {
          // A publish made after the deadline (the late request's) hangs for good, ignoring the signal.
          publish: async (e, signal) => {
            if (signal?.aborted) return never;
            published.push(e);
          },
        },
        telemetry: captureTelemetry(),
        routes: [
          {
            provider: heygen,
            path: '/heygen',
            keys: {
              // The first read ignores the signal and answers 20 ms after the deadline.
              getKeys: async () => {
                if (slowKeys) {
                  slowKeys = false;
                  await sleep(BUDGET_MS + 20);
                }
                return keys.getKeys();
              },
              refresh: () => keys.refresh(),
            },
            timestampToleranceSeconds: 0,
            budgetMs: BUDGET_MS,
            dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode }),
          },
        ],
      });
      const b = body();
      expect((await ingress(request(b))).statusCode).toBe(503);
      await sleep(60); // the late key read returns; the request it belonged to is answered already
      const retry = await ingress(request(b));
      expect(retry.statusCode).toBe(200);
      expect(JSON.parse(retry.body).status).toBe('published');
      expect(published).toHaveLength(1);
    });
});

describe('An abandoned request frees only its own in-flight slot', () => {
  it('record mode: the late end of an abandoned request leaves the slot of the copy that took over', async () => {
    const B = 300;
    const published: RelayEvent[] = [];
    let call = 0;
    const ingress = createIngress({
      maxBodyBytes: 1 << 16,
      publisher: {
        publish: async (e) => {
          call++;
          // A's publish fails 30 ms after A's deadline, ignoring the signal; W's takes 100 ms.
          if (call === 1) {
            await sleep(B + 30);
            throw new Error('EventBridge unavailable');
          }
          await sleep(100);
          published.push(e);
        },
      },
      telemetry: captureTelemetry(),
      routes: [heygenRoute(SECRET, B, new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }))],
    });
    const b = body();
    const a = ingress(request(b)); // t 0: publishes until 330
    await sleep(B - 20);
    const w = ingress(request(b)); // t 280: waits for A; A's deadline (300) frees it; publishes 300..400
    await sleep(70);
    const x = ingress(request(b)); // t 350, after A's late end (330), while W publishes: waits for W
    const [ra, rw, rx] = await Promise.all([a, w, x]);
    expect(ra.statusCode).toBe(503);
    expect(JSON.parse(rw.body).status).toBe('published');
    expect(JSON.parse(rx.body).status).toBe('duplicate');
    expect(published).toHaveLength(1);
  });
});
