/**
 * The per-request deadline (functions/core/ingress.ts `respond`) when a port ignores its signal and
 * never returns: the answer still comes at the budget, and the key's in-flight slot in the
 * environment is freed, so copies neither wait forever nor publish twice.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { DedupStore } from '../../functions/core/ports.js';
import { sign } from '../../functions/core/verify.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { heygenRoute } from '../support/heygen-ingress.js';

const SECRET = 'whsec_test_deadline_0123456789';
const BUDGET_MS = 150;
const never = new Promise<never>(() => {});

function pipeline(options: { publish: (e: RelayEvent) => Promise<void>; dedup?: DedupStore }) {
  return createIngress({
    maxBodyBytes: 1 << 16,
    publisher: { publish: options.publish },
    telemetry: captureTelemetry(),
    routes: [
      heygenRoute(
        SECRET,
        BUDGET_MS,
        options.dedup ?? new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }),
      ),
    ],
  });
}

function request(body: Buffer) {
  return { method: 'POST', path: '/heygen', headers: { 'heygen-signature': sign(SECRET, body) }, body, requestId: 'r' };
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t0 };
}

const body = () =>
  Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v${Math.random()}` } }));

describe('Deadline with a port that ignores its signal', () => {
  it('a hanging publish answers 503 at the budget; a copy waiting on it is freed and answered by its own deadline; later the key publishes', async () => {
    let hang = true;
    const published: RelayEvent[] = [];
    const ingress = pipeline({
      publish: async (e) => {
        if (hang) return never;
        published.push(e);
      },
    });
    const b = body();
    const first = timed(ingress(request(b)));
    await new Promise((r) => setTimeout(r, 50));
    const copy = timed(ingress(request(b)));
    const [f, c] = await Promise.all([first, copy]);
    expect(f.value.statusCode).toBe(503);
    expect(JSON.parse(f.value.body).error.code).toBe('deadline_exceeded');
    expect(f.ms).toBeLessThan(BUDGET_MS + 100);
    expect(c.value.statusCode).toBe(503);
    expect(c.ms).toBeLessThan(BUDGET_MS + 100);
    hang = false;
    const retry = await ingress(request(b));
    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body).status).toBe('published');
    expect(published).toHaveLength(1);
  });

  it('published, then the dedup write hangs: 200 within the budget plus the grace; a waiting copy answers 200 duplicate, nothing twice', async () => {
    const published: RelayEvent[] = [];
    const memory = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' });
    const dedup: DedupStore = {
      claim: (k, o) => memory.claim(k, o),
      complete: () => never,
      release: (k, o) => memory.release(k, o),
    };
    const ingress = pipeline({ publish: async (e) => void published.push(e), dedup });
    const b = body();
    const first = timed(ingress(request(b)));
    await new Promise((r) => setTimeout(r, 20));
    const copy = timed(ingress(request(b)));
    const [f, c] = await Promise.all([first, copy]);
    expect(f.value.statusCode).toBe(200);
    expect(JSON.parse(f.value.body).status).toBe('published');
    expect(f.ms).toBeLessThan(BUDGET_MS + 500 + 150); // the budget plus the 500 ms grace
    expect(c.value.statusCode).toBe(200);
    expect(JSON.parse(c.value.body).status).toBe('duplicate');
    expect(c.ms).toBeLessThan(BUDGET_MS + 100);
    expect(published).toHaveLength(1);
  });
});
