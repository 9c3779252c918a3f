/**
 * Issue 19, needless-rotation: the ingress tells the evidence WHICH delivery it refused (the body's
 * event key as the provider computes it), only on the refusal path; the recorder keeps distinct keys
 * within its write bound.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import { evidenceRecorder, MemoryEvidenceStore, REFUSED_KEYS_PER_INTERVAL } from '../../functions/core/evidence.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { captureTelemetry } from '../support/aws-mocks.js';

const SECRET = 'whsec_test_refused_key_0123456789';

function pipeline(source?: string) {
  const calls: { provider: string; status: number; refusedKey: string | undefined }[] = [];
  let keyCalls = 0;
  const provider = {
    ...heygen,
    eventKey: (body: Buffer, headers: Record<string, string | undefined>) => {
      keyCalls++;
      return heygen.eventKey?.(body, headers) as string;
    },
  };
  const ingress = createIngress({
    maxBodyBytes: 64 * 1024,
    publisher: { publish: async () => {} },
    telemetry: captureTelemetry(),
    routes: [
      {
        provider,
        ...(source ? { source } : {}),
        path: '/heygen',
        keys: new StaticKeySource([SECRET]),
        timestampToleranceSeconds: 0,
        budgetMs: 1000,
        dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: heygen.defaultDedupMode }),
      },
    ],
    onTrouble: async (p, status, refusedKey) => void calls.push({ provider: p, status, refusedKey }),
  });
  const post = async (raw: string, signature: string) =>
    (
      await ingress({
        method: 'POST',
        path: '/heygen',
        headers: { 'heygen-signature': signature },
        body: Buffer.from(raw),
        requestId: 'r',
      })
    ).statusCode;
  return { calls, post, keyCalls: () => keyCalls };
}

const BODY = '{"event_type":"avatar_video.success","event_data":{"video_id":"v_1","url":"https://x/v.mp4"}}';

describe('The ingress records the refused delivery’s event key', () => {
  it('refused-key: a refused signature reports the body’s event key (the one the history entry has), scoped to the source', async () => {
    const a = pipeline();
    expect(await a.post(BODY, 'ab'.repeat(32))).toBe(401);
    expect(a.calls).toEqual([{ provider: 'heygen', status: 401, refusedKey: heygenEventKey(BODY) }]);
    const b = pipeline('heygen-staging');
    expect(await b.post(BODY, 'ab'.repeat(32))).toBe(401);
    expect(b.calls[0]?.refusedKey).toBe(heygenEventKey(BODY).replace(/^heygen:/, 'heygen-staging:'));
  });

  it('refused-key: a body that does not parse, or holds no event, gives no key', async () => {
    const a = pipeline();
    expect(await a.post('not json at all', 'ab'.repeat(32))).toBe(401);
    expect(await a.post('{"no_event_type":1}', 'ab'.repeat(32))).toBe(401);
    expect(a.calls.map((c) => [c.status, c.refusedKey])).toEqual([
      [401, undefined],
      [401, undefined],
    ]);
  });

  it('refused-key: the hot path does no extra work (a verified delivery computes its key once, as before, and reports nothing)', async () => {
    const a = pipeline();
    expect(await a.post(BODY, sign(SECRET, Buffer.from(BODY)))).toBe(200);
    expect(a.keyCalls()).toBe(1);
    expect(a.calls).toEqual([]);
  });
});

describe('evidenceRecorder: refused keys within the write bound', () => {
  it('writes a refused key at most once per interval, at most REFUSED_KEYS_PER_INTERVAL keys per interval, the stamp once per interval', async () => {
    const store = new MemoryEvidenceStore();
    let t = 1_000_000;
    const record = evidenceRecorder(store, { intervalMs: 10_000, now: () => t });
    for (let i = 0; i < 10; i++) await record('heygen', 401, `heygen:evt:${i}`);
    await record('heygen', 401, 'heygen:evt:0'); // the same key again within the interval: nothing new
    let keys = (await store.read('heygen')).refusedKeys ?? [];
    expect(keys.map((r) => r.key)).toEqual(Array.from({ length: REFUSED_KEYS_PER_INTERVAL }, (_, i) => `heygen:evt:${i}`));
    expect(keys.filter((r) => r.key === 'heygen:evt:0')).toEqual([{ key: 'heygen:evt:0', at: 1_000_000 }]);
    t += 10_000; // the next interval: the next keys, and a key refused again moves forward
    await record('heygen', 401, 'heygen:evt:9');
    await record('heygen', 401, 'heygen:evt:0');
    keys = (await store.read('heygen')).refusedKeys ?? [];
    expect(keys.map((r) => r.key)).toContain('heygen:evt:9');
    expect(keys.filter((r) => r.key === 'heygen:evt:0')).toEqual([{ key: 'heygen:evt:0', at: t }]);
    expect((await store.read('heygen')).lastSignatureRejectionAt).toBe(t);
    await record('heygen', 503); // failures carry no key
    expect((await store.read('heygen')).lastFailureAt).toBe(t);
  });

  it('a failed key write is tried again on that key’s next refusal', async () => {
    const inner = new MemoryEvidenceStore();
    let fail = true;
    const store = {
      record: inner.record.bind(inner),
      read: inner.read.bind(inner),
      recordRefusedKey: async (p: string, k: string, at: number) => {
        if (fail) throw new Error('DynamoDB down');
        return inner.recordRefusedKey(p, k, at);
      },
    };
    const record = evidenceRecorder(store, { intervalMs: 0, now: () => 5 });
    await record('heygen', 401, 'heygen:evt:a');
    fail = false;
    await record('heygen', 401, 'heygen:evt:a');
    expect((await inner.read('heygen')).refusedKeys).toEqual([{ key: 'heygen:evt:a', at: 5 }]);
  });
});
