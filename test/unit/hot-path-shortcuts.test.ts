/**
 * Shortcuts the ingress takes per request (issue #20, hot path) must give what they replace:
 * `isoTime` is `Date#toISOString` (the envelope's `receivedAt`), and the facts walk that trusts
 * decoded text to be well formed gives the facts of the full check; the published line is built only
 * when the logger keeps DEBUG lines.
 */
import { createHmac } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import { factsOf } from '../../functions/core/body-facts.js';
import { parseLossless } from '../../functions/core/canonical-json.js';
import { createIngress, isoTime } from '../../functions/core/ingress.js';
import { noDedup } from '../../functions/core/noop-dedup.js';
import { powertoolsTelemetry } from '../../functions/wiring/observability.js';
import { getProvider } from '../../providers/runtime.js';

describe('isoTime', () => {
  it('is new Date(ms).toISOString() for any time, in any order of calls', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 253_402_300_799_999 }),
            fc.integer({ min: 1_700_000_000_000, max: 1_700_000_002_000 }),
            fc.constantFrom(0, 999, 1000, 1001, -1, -1000, 253_402_300_800_000, 1.5, 1_700_000_000_000.25),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        (times) => {
          for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('factsOf on decoded text', () => {
  it('gives the same facts with wellFormed as without, for text decoded from any bytes', () => {
    const piece = fc.oneof(
      fc.constantFrom('"a"', '"\\ud800"', '"\\u00e9"', '"é"', '12.5', '1e400', '"x\\"y"', 'null'),
      fc.uint8Array({ maxLength: 8 }).map((b) => JSON.stringify(Buffer.from(b).toString('utf8'))),
      // A lone surrogate's bytes (CESU-8): decoding writes U+FFFD, never the surrogate.
      fc.constant(`"${Buffer.from([0xed, 0xa0, 0x80]).toString('utf8')}"`),
    );
    let strings = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'event_data', '1'), piece), { maxLength: 5 }), (members) => {
        const text = Buffer.from(`{"event_data":{${members.map(([k, v]) => `"${k}":${v}`).join(',')}}}`).toString('utf8');
        const root = parseLossless(text);
        expect(factsOf(root, text, 'event_data', true)).toEqual(factsOf(root, text, 'event_data'));
        if (members.some(([, v]) => v.startsWith('"'))) strings++;
      }),
      { numRuns: 2_000 },
    );
    expect(strings).toBeGreaterThan(100);
  });
});

describe('the published line at DEBUG', () => {
  const delivery = (secret: string) => {
    const body = Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}');
    return {
      method: 'POST',
      path: '/heygen',
      headers: { 'heygen-signature': createHmac('sha256', secret).update(body).digest('hex') },
      body,
      requestId: 'r',
    };
  };
  it.each([
    ['DEBUG', true, 1],
    ['INFO', false, 0],
  ] as const)(
    'logger at %s: debugEnabled is %s, the line is built %i time(s), the delivery published either way',
    async (level, enabled, lines) => {
      const logger = new Logger({ serviceName: 'test', logLevel: level });
      const telemetry = powertoolsTelemetry(logger, new Metrics({ namespace: 'test', serviceName: 'test' }));
      expect(telemetry.debugEnabled?.()).toBe(enabled);
      const debug = vi.spyOn(telemetry, 'debug').mockImplementation(() => {});
      const published: string[] = [];
      const ingress = createIngress({
        routes: [
          {
            provider: getProvider('heygen'),
            path: '/heygen',
            keys: new StaticKeySource(['whsec_test_0123456789abcdef0123456789abcdef']),
            timestampToleranceSeconds: 0,
            budgetMs: 5_000,
            dedup: noDedup,
          },
        ],
        maxBodyBytes: 1 << 20,
        publisher: { publish: async (event) => void published.push(event.id) },
        telemetry,
      });
      const res = await ingress(delivery('whsec_test_0123456789abcdef0123456789abcdef'));
      expect(res.statusCode).toBe(200);
      expect(published).toHaveLength(1);
      expect(debug.mock.calls.filter(([m]) => m === 'Delivery published')).toHaveLength(lines);
    },
  );
});
