/**
 * Shortcuts the ingress takes per request (issue #20, hot path) must give what they replace:
 * `isoTime` is `Date#toISOString` (the envelope's `receivedAt`), and the facts walk that trusts
 * decoded text to be well formed gives the facts of the full check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { factsOf } from '../../functions/core/body-facts.js';
import { parseLossless } from '../../functions/core/canonical-json.js';
import { isoTime } from '../../functions/core/ingress.js';

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
