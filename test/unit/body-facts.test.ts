/**
 * core/body-facts.ts walks a body's lossless parse once for the event key's canonical text, the
 * Detail's copy of the data and the fidelity rules. Each fact must be what the function it replaces
 * gives: `canonicalize` (the event key: a different text would change keys), `stringifiedSource`,
 * and `scanBody` (clean exactly when the scan finds no repeated key and no lossy number; same depth).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { factsOf } from '../../functions/core/body-facts.js';
import { canonicalize, member, parseLossless, stringifiedSource } from '../../functions/core/canonical-json.js';
import { scanBody } from '../../functions/core/fidelity.js';

const ws = fc.constantFrom('', '', '', ' ', '\n');
const key = fc.oneof(
  fc.constantFrom('"a"', '"b"', '"event_data"', '"1"', '"01"', '"__proto__"', '"\\u0061"', '"é"', '"\\ud800"', '"x\\"y"'),
  fc.string({ maxLength: 4 }).map((k) => JSON.stringify(k)),
);
const scalar = fc.oneof(
  fc.constantFrom('1', '-0', '12.5', '1.0', '1e2', '1e400', '12345678901234567890', '0.1', 'true', 'false', 'null'),
  fc.constantFrom('"plain"', '"\\u00e9"', '"é"', '"\\n"', '"a\\/b"', '"\u2028"', '"\\ud800"', `"${'x'.repeat(300)}"`),
  fc.string({ unit: 'binary', maxLength: 6 }).map((v) => JSON.stringify(v)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const value: fc.Arbitrary<string> = fc.letrec<{ v: string; o: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    tie('o'),
    fc.array(fc.tuple(ws, tie('v')), { maxLength: 3 }).map((xs) => `[${xs.map(([w, x]) => `${w}${x}`).join(',')}]`),
  ),
  o: fc
    .array(fc.tuple(ws, key, ws, tie('v')), { maxLength: 4 })
    .map((ms) => `{${ms.map(([a, k, b, v]) => `${a}${k}${b}:${v}`).join(',')}}`),
})).v;

describe('One walk gives what the three passes gave', () => {
  it('canonical text, stringified source, clean and depth, on generated bodies', () => {
    let clean = 0;
    let stringified = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 3 }), value, (others, data) => {
        const text = `{${others.map(([k, v]) => `${k}:${v},`).join('')}"event_data":${data}}`;
        const root = parseLossless(text);
        const facts = factsOf(root, text, 'event_data');
        const target = member(root, 'event_data');
        expect(facts.memberCanonical).toBe(target && canonicalize(target));
        const want = target?.t === 'object' ? stringifiedSource(target, text) : undefined;
        expect(facts.memberStringified).toBe(want);
        const scan = scanBody(Buffer.from(text), text);
        expect(facts.clean).toBe(scan.problem === null || scan.problem.reason === 'invalid_utf8');
        if (facts.clean) expect(facts.depth).toBe(scan.depth);
        if (facts.clean) clean++;
        if (want !== undefined) stringified++;
      }),
      { numRuns: 4_000 },
    );
    // Both outcomes were met (a count that stays 0 fails).
    expect(clean).toBeGreaterThan(100);
    expect(stringified).toBeGreaterThan(100);
  });
});
