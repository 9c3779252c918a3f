/**
 * Deliveries recorded under the earlier body key (before HeyGen's events were keyed by content)
 * stay recognised, and the ingress reads that key in the same round trip as its own claim
 * (functions/core/ingress.ts `publishOnce`), not after it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { DedupMode, DedupStore } from '../../functions/core/ports.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { eventId } from '../../providers/runtime.js';
import { captureTelemetry } from '../support/aws-mocks.js';

const SECRET = 'whsec_test_legacy_keys_0123456789';

function setup(mode: DedupMode, wrap: (m: MemoryDedupStore) => DedupStore = (m) => m, provider = heygen) {
  const memory = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode });
  const published: RelayEvent[] = [];
  const ingress = createIngress({
    maxBodyBytes: 1 << 16,
    publisher: { publish: async (e) => void published.push(e) },
    telemetry: captureTelemetry(),
    routes: [
      {
        provider,
        path: '/heygen',
        keys: new StaticKeySource([SECRET]),
        timestampToleranceSeconds: 0,
        budgetMs: 2_000,
        dedup: wrap(memory),
      },
    ],
  });
  return { ingress, memory, published };
}

const body = (id: string) => Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: id } }));
const req = (b: Buffer) => ({
  method: 'POST',
  path: '/heygen',
  headers: { 'heygen-signature': sign(SECRET, b) },
  body: b,
  requestId: 'r',
});
const bodyKey = (b: Buffer) => `heygen:${createHash('sha256').update(b).digest('hex')}`;

describe('Earlier-scheme (body key) records', () => {
  for (const mode of ['record', 'claim'] as const)
    it(`mode ${mode}: a delivery recorded under the body key is a 200 duplicate, not published; its content key is marked`, async () => {
      const { ingress, memory, published } = setup(mode);
      const b = body('legacy-1');
      if (mode === 'claim') await memory.claim(bodyKey(b), 'old');
      await memory.complete(bodyKey(b), 'old');
      const res = await ingress(req(b));
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body).status).toBe('duplicate');
      expect(published).toHaveLength(0);
      const id = JSON.parse(res.body).id as string;
      expect(id).toMatch(/^heygen:evt:/);
      expect(await memory.claim(id, 'later')).toBe('duplicate');
    });

  it('reads the body key while the claim is still in flight (one round trip, not two)', async () => {
    const order: string[] = [];
    let releaseClaim: () => void = () => {};
    const { ingress, published } = setup('record', (m) => ({
      claim: async (k, o) => {
        order.push('claim:start');
        await new Promise<void>((r) => {
          releaseClaim = r;
        });
        order.push('claim:end');
        return m.claim(k, o);
      },
      complete: (k, o) => m.complete(k, o),
      release: (k, o) => m.release(k, o),
      seenLegacy: async (k) => {
        order.push('legacy:start');
        return m.seenLegacy(k);
      },
    }));
    const answer = ingress(req(body('parallel')));
    await new Promise((r) => setTimeout(r, 20));
    releaseClaim();
    expect((await answer).statusCode).toBe(200);
    expect(order.indexOf('legacy:start')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('legacy:start')).toBeLessThan(order.indexOf('claim:end'));
    expect(published).toHaveLength(1);
  });

  it('a failed body-key read: 503 and the claim released when the claim went ahead; ignored when the claim says duplicate', async () => {
    const failing = (m: MemoryDedupStore): DedupStore => ({
      claim: (k, o) => m.claim(k, o),
      complete: (k, o) => m.complete(k, o),
      release: (k, o) => m.release(k, o),
      seenLegacy: async () => {
        throw new Error('DynamoDB down');
      },
    });
    const { ingress, memory, published } = setup('claim', failing);
    const b = body('legacy-fail');
    const res = await ingress(req(b));
    expect(res.statusCode).toBe(503);
    expect(published).toHaveLength(0);
    // The claim was released: nothing holds the key.
    const id = eventId('heygen', b);
    expect(await memory.claim(id, 'probe')).toBe('claimed');
    await memory.release(id, 'probe');
    // A copy whose content key is already recorded answers duplicate although the body-key read fails.
    await memory.claim(id, 'first');
    await memory.complete(id, 'first');
    const copy = await ingress(req(b));
    expect(copy.statusCode).toBe(200);
    expect(JSON.parse(copy.body).status).toBe('duplicate');
  });

  it('only a provider that had body-keyed records pays the extra read (ProviderIngress.legacyBodyKeys)', async () => {
    for (const [provider, reads] of [
      [heygen, 1],
      [{ ...heygen, legacyBodyKeys: false }, 0],
    ] as const) {
      let legacyReads = 0;
      const { ingress, published } = setup(
        'record',
        (m) => ({
          claim: (k, o) => m.claim(k, o),
          complete: (k, o) => m.complete(k, o),
          release: (k, o) => m.release(k, o),
          seenLegacy: async (k) => {
            legacyReads += 1;
            return m.seenLegacy(k);
          },
        }),
        provider,
      );
      expect((await ingress(req(body(`flag-${reads}`)))).statusCode).toBe(200);
      expect(published).toHaveLength(1);
      expect(legacyReads).toBe(reads);
    }
  });
});
