/**
 * Issue 20, finding 8: the envelope's Detail takes a HeyGen body's `event_data` text as it is when
 * that text is exactly what JSON.stringify would write (core/canonical-json.ts `stringifiedSource`),
 * sparing a second serialization of the data (at 64 KB about a third of the handler's time). The
 * Detail must be byte for byte `JSON.stringify(event)` in every case, whitespace, escapes, number
 * spellings, repeated and all-digit keys, lone surrogates and bytes that are not UTF-8 included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLossless, stringifiedSource } from '../../functions/core/canonical-json.js';
import { prepareEvent, Unpublishable } from '../../functions/core/ingress.js';
import { normalizeHeyGen } from '../../providers/heygen/runtime/index.js';

const ws = fc.constantFrom('', '', '', ' ', '\n');
const key = fc.oneof(
  fc.constantFrom('"a"', '"b"', '"video_id"', '"1"', '"01"', '"__proto__"', '"\\u0061"', '"é"', '"\\ud800"', '"x\\"y"'),
  fc.string({ maxLength: 5 }).map((k) => JSON.stringify(k)),
);
const scalar = fc.oneof(
  fc.constantFrom('1', '-0', '12.5', '1.0', '1e2', '12345678901234567890', '0.1', 'true', 'false', 'null'),
  fc.constantFrom('"plain"', '"\\u00e9"', '"é"', '"\\n"', '"a\\/b"', '"\u2028"', '"\\ud800"', `"${'x'.repeat(3000)}"`),
  fc.string({ unit: 'binary', maxLength: 8 }).map((v) => JSON.stringify(v)),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const value: fc.Arbitrary<string> = fc.letrec<{ v: string; o: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    tie('o'),
    fc.array(tie('v'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
  ),
  o: fc
    .array(fc.tuple(ws, key, ws, tie('v')), { maxLength: 4 })
    .map((ms) => `{${ms.map(([a, k, b, v]) => `${a}${k}${b}:${v}`).join(',')}}`),
})).o;

function detailOf(body: Buffer) {
  const delivery = normalizeHeyGen(body, {});
  const out = prepareEvent('heygen', body, delivery, 'heygen:evt:x', '2026-01-01T00:00:00.000Z', {
    exact: false,
    source: 'heygen',
  });
  if (out instanceof Unpublishable) return undefined;
  return { out, usedSource: delivery.dataJson !== undefined };
}

describe('The Detail from the body text is JSON.stringify(event), byte for byte', () => {
  it('for generated event_data (whitespace, escapes, number spellings, repeated and all-digit keys)', () => {
    let fromSource = 0;
    fc.assert(
      fc.property(value, fc.boolean(), (data, prefix) => {
        const text = `{${prefix ? '"event_id":"e1",' : ''}"event_type":"avatar_video.success","event_data":${data}}`;
        try {
          JSON.parse(text);
        } catch {
          return;
        }
        const got = detailOf(Buffer.from(text));
        if (!got) return;
        if (got.usedSource) fromSource++;
        expect(got.out.detail).toBe(JSON.stringify(got.out.event));
      }),
      { numRuns: 3_000 },
    );
    // The fast path is taken (not only the fallback): a count that would stay 0 fails.
    expect(fromSource).toBeGreaterThan(100);
  });

  it('bytes that are not UTF-8, and a body of 64 KB', () => {
    const bad = Buffer.concat([
      Buffer.from('{"event_type":"t","event_data":{"a":"'),
      Buffer.from([0xff, 0xc0]),
      Buffer.from('"}}'),
    ]);
    const got = detailOf(bad);
    expect(got?.out.detail).toBe(JSON.stringify(got?.out.event));
    const big = Buffer.from(JSON.stringify({ event_type: 't', event_data: { video_id: 'v', pad: 'x'.repeat(65_000), n: 12.5 } }));
    const g2 = detailOf(big);
    expect(g2?.usedSource).toBe(true);
    expect(g2?.out.detail).toBe(JSON.stringify(g2?.out.event));
  });

  it('stringifiedSource refuses what JSON.stringify would write differently', () => {
    const of = (t: string) => stringifiedSource(parseLossless(t), t);
    expect(of('{"a":1,"b":[true,null,"x"]}')).toBe('{"a":1,"b":[true,null,"x"]}');
    // An escaped lone surrogate is written back the same; a raw one is escaped by JSON.stringify.
    expect(of('{"\\ud800":1}')).toBe('{"\\ud800":1}');
    const raw = `{"${String.fromCharCode(0xd800)}":1}`;
    for (const t of ['{"a": 1}', '{"a":1.0}', '{"a":"\\u0061"}', '{"1":1,"a":2}', '{"a":1,"a":2}', '{"a":-0}', '[1 ]', raw])
      expect(of(t)).toBeUndefined();
  });
});
