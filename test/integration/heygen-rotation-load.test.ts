import { describe, expect, it } from 'vitest';
import { runRotationUnderLoad } from '../support/rotation-under-load.js';

describe('HeyGen secret rotation under delivery load', () => {
  it('loses no delivery and rotates exactly once per rotation, a crashed-and-retried one included', async () => {
    const r = await runRotationUnderLoad({
      deliveries: 300,
      concurrency: 10,
      rotations: 3,
      spacingMs: 150,
      crashDelayMs: 100,
      backoffMs: 50,
    });
    expect(r.lost).toBe(0);
    expect(r.delivered).toBe(300);
    expect(r.rotationsAtHeyGen).toBe(3);
    expect(r.rotationLog.some((l) => /createSecret failed/.test(l))).toBe(true);
  });
});
