import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { heygenRoute } from '../support/heygen-ingress.js';

const SECRET = 'whsec_test_pipeline_0123456789';

/** The pure pipeline without an adapter in front: its own guards must hold for any caller. */
describe('Function: createIngress (no adapter in front)', () => {
  function pipeline(maxBodyBytes: number) {
    const published: RelayEvent[] = [];
    const ingress = createIngress({
      maxBodyBytes,
      publisher: { publish: async (e) => void published.push(e) },
      telemetry: captureTelemetry(),
      routes: [
        heygenRoute(SECRET, 1000, new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: heygen.defaultDedupMode })),
      ],
    });
    return { ingress, published };
  }

  it('refuses a body over its limit with 413 even when the caller did not check the size', async () => {
    const { ingress, published } = pipeline(64);
    const body = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { pad: 'x'.repeat(100) } }));
    const res = await ingress({
      method: 'POST',
      path: '/heygen',
      headers: { 'heygen-signature': sign(SECRET, body) },
      body,
      requestId: 'r',
    });
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    expect(published).toHaveLength(0);
  });

  it('routes case-insensitively and ignores a trailing slash', async () => {
    const { ingress, published } = pipeline(4096);
    const body = Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"v"}}');
    const res = await ingress({
      method: 'POST',
      path: '/HeyGen/',
      headers: { 'heygen-signature': sign(SECRET, body) },
      body,
      requestId: 'r',
    });
    expect(res.statusCode).toBe(200);
    expect(published).toHaveLength(1);
  });
});
