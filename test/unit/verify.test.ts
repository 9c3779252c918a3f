import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sign, verify, verifyWithFallback } from '../../functions/core/verify.js';

describe('Function: verify', () => {
  it("matches HeyGen's sample: lowercase hex HMAC-SHA256 of the raw body keyed with the secret string", () => {
    const body = Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}');
    const expected = createHmac('sha256', 'whsec_k7x9m2').update(body).digest('hex');
    expect(sign('whsec_k7x9m2', body)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(verify('whsec_k7x9m2', body, expected)).toBe(true);
  });

  it('returns false for another secret, a changed body, or malformed signatures', () => {
    const body = Buffer.from('{"a":1}');
    const sig = sign('s1', body);
    expect(verify('s2', body, sig)).toBe(false);
    expect(verify('s1', Buffer.from('{"a":2}'), sig)).toBe(false);
    expect(verify('s1', body, sig.slice(0, 63))).toBe(false);
    expect(verify('s1', body, `${sig}00`)).toBe(false);
    expect(verify('s1', body, `sha256=${sig}`)).toBe(false);
    expect(verify('s1', body, '')).toBe(false);
  });

  it('verifies any body against its own signature and rejects any single-bit change (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 512 }),
        fc.string({ minLength: 1 }),
        fc.nat(),
        (bytes, secret, flip) => {
          const body = Buffer.from(bytes);
          const sig = sign(secret, body);
          expect(verify(secret, body, sig)).toBe(true);
          if (body.length > 0) {
            const changed = Buffer.from(body);
            const i = flip % changed.length;
            changed[i] = (changed[i] ?? 0) ^ 1;
            expect(verify(secret, changed, sig)).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tries every key in order and names the one that matched', () => {
    const body = Buffer.from('x');
    const keys = [
      { secret: 'a', label: 'AWSCURRENT' },
      { secret: 'b', label: 'AWSPENDING' },
    ];
    expect(verifyWithFallback(keys, body, sign('b', body))?.label).toBe('AWSPENDING');
    expect(verifyWithFallback(keys, body, sign('c', body))).toBeUndefined();
    expect(verifyWithFallback([], body, sign('a', body))).toBeUndefined();
  });
});
