/**
 * The event key's canonicalizer (functions/core/canonical-json.ts) is hand-written for speed (it
 * runs on every delivery). A changed canonical text would change event keys, so dedup would stop
 * recognising events recorded before the change. It is checked against an independent reference
 * written from the spec by other means (test/support/canonical-json-reference.ts: JSON.parse for
 * what is JSON, a token stack for the tree, BigInt for numbers): the same texts accepted, the same
 * trees and canonical texts, on valid and on broken JSON; and its modes (strings copied from the
 * source, text known to be valid) give exactly the plain parse's trees, texts and errors.
 */
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as fast from '../../functions/core/canonical-json.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { normalizeHeyGen } from '../../providers/heygen/runtime/index.js';
import { referenceCanonical, referenceNumber, referenceTree } from '../support/canonical-json-reference.js';

type Outcome = { ok: true; tree: fast.JsonNode; canonical: string } | { ok: false; error: string; name: string };

/** The fast parser's outcome on `text`, plain or in one of its modes (strings copied from the source, trusting JSON.parse). */
function runFast(text: string, mode?: { validJson: boolean }): Outcome {
  try {
    const tree = mode ? fast.parseLossless(text, mode) : fast.parseLossless(text);
    return { ok: true, tree, canonical: mode ? fast.canonicalize(tree, text) : fast.canonicalize(tree) };
  } catch (err) {
    return { ok: false, error: (err as Error).message, name: (err as Error).name };
  }
}

/** The reference's verdict, in the fast parser's terms (a refusal is a CanonicalJsonError, whatever its message). */
function want(text: string): { ok: true; tree: fast.JsonNode; canonical: string } | { ok: false; name: string } {
  const tree = referenceTree(text);
  return tree ? { ok: true, tree, canonical: referenceCanonical(tree) } : { ok: false, name: 'CanonicalJsonError' };
}

/** The fast parser agrees with the reference, and every mode of it gives the plain parse's outcome exactly. */
function expectSame(text: string): void {
  const plain = runFast(text);
  expect(plain.ok ? plain : { ok: false, name: plain.name }).toEqual(want(text));
  if (!plain.ok) expect(plain.error).toMatch(/^invalid JSON at \d+: /);
  expect(runFast(text, { validJson: false })).toEqual(plain);
  let parses = true;
  try {
    JSON.parse(text);
  } catch {
    parses = false;
  }
  if (parses) expect(runFast(text, { validJson: true })).toEqual(plain);
}

const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '0.0',
    '-0.000',
    '150',
    '150.0',
    '1.5e2',
    '1.50E+2',
    '15e1',
    '1e400',
    '-1e-400',
    '12345678901234567890',
  ),
  fc.constantFrom('1e9999999999999999', '1e-9999999999999999999', '0e5', '10', '100e-2', '0.1', '1.000000000000000000001'),
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9]\d{0,25}$/)),
      fc.option(fc.stringMatching(/^\d{1,20}$/), { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.stringMatching(/^\d{1,18}$/)), {
        nil: undefined,
      }),
    )
    .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === undefined ? '' : `.${frac}`}${exp ? exp.join('') : ''}`),
);

const ws = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
const stringText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"\\u00e9"', '"é"', '"\\ud800"', '"a\\/b"', '"\\"\\\\\\b\\f\\n\\r\\t"', '"__proto__"', '"constructor"'),
);

/** JSON texts with repeated keys, odd whitespace and number spellings JSON.stringify never writes. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    numberText,
    stringText,
    fc.constantFrom('true', 'false', 'null'),
    fc
      .array(fc.tuple(ws, tie('value'), ws), { maxLength: 4 })
      .map((items) => `[${items.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(stringText, fc.constantFrom('"a"', '"b"', '"event_type"')), ws, tie('value')), { maxLength: 5 })
      .map((members) => `{${members.map(([k, w, v]) => `${w}${k}${w}:${w}${v}`).join(',')}}`),
  ),
})).value;

/** Broken texts: a valid one cut, with a character changed or inserted. */
const brokenText = fc
  .tuple(
    jsonText,
    fc.nat(),
    // Inserted: punctuation, escapes, control characters, and whitespace JSON does not take (vertical tab, NBSP, BOM).
    fc.constantFrom(
      '',
      '}',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '\u0001',
      '\u001f',
      '\u0000',
      '\t',
      'x',
      '-',
      '.',
      'e',
      'tru',
      '\\u12',
      '\u000b',
      '\u00a0',
      '\ufeff',
    ),
  )
  .map(([t, at, ins]) => {
    const k = t.length === 0 ? 0 : at % (t.length + 1);
    return `${t.slice(0, k)}${ins}${t.slice(k + (ins === '' ? 1 : 0))}`;
  });

describe('canonical-json: the fast parser agrees with the independent reference', () => {
  it('same tree, canonical text and error on generated valid JSON (incl. repeated keys and number spellings)', () => {
    fc.assert(
      fc.property(fc.tuple(ws, jsonText, ws), ([a, t, b]) => {
        expectSame(`${a}${t}${b}`);
      }),
      { numRuns: 3_000 },
    );
  });

  it('same error (or same result) on broken JSON', () => {
    fc.assert(
      fc.property(brokenText, (text) => expectSame(text)),
      { numRuns: 3_000 },
    );
  });

  it('same on texts JSON.stringify never writes: raw lone surrogates, raw U+2028, any code unit in strings and keys', () => {
    const raw = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 10 }).map((units) => String.fromCharCode(...units));
    const doc: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        raw.map((s) => `"${s}"`),
        raw,
        fc.constantFrom('1', '-0', '1e21', '-0.0e-0', 'null', '"\u2028"', '"\ud800"'),
        fc.array(tie('v'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
        fc
          .array(fc.tuple(fc.oneof(raw, fc.constantFrom('__proto__', 'a')), tie('v')), { maxLength: 4 })
          .map((xs) => `{${xs.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
      ),
    })).v;
    fc.assert(
      fc.property(doc, (text) => expectSame(text)),
      { numRuns: 3_000 },
    );
  });

  it('long strings copied from the source: same text as re-escaped (escapes, lone surrogates, U+2028, non-ASCII)', () => {
    const long = fc
      .tuple(fc.string({ unit: 'binary', maxLength: 8 }), fc.nat({ max: 3_000 }), fc.string({ unit: 'binary', maxLength: 8 }))
      .map(([a, pad, b]) => `${a}${'x'.repeat(pad)}${b}`);
    fc.assert(
      fc.property(fc.array(long, { minLength: 1, maxLength: 4 }), (values) => {
        expectSame(JSON.stringify({ event_type: 't', event_data: Object.fromEntries(values.map((v, i) => [`k${i}`, v])) }));
        // Raw text: the values without what a JSON string cannot hold raw (quotes, backslashes, control characters).
        const raw = [...values.join('","')].filter((c) => c >= ' ' && c !== '"' && c !== '\\').join('');
        expectSame(`["${raw}"]`);
      }),
      { numRuns: 500 },
    );
  });

  it('canonicalPieces, spans read back from the source, is the canonical text', () => {
    fc.assert(
      fc.property(fc.tuple(ws, jsonText, ws), fc.nat({ max: 8 }), ([a, t, b], minSpan) => {
        const text = `${a}${t}${b}`;
        let tree: fast.JsonNode;
        try {
          tree = fast.parseLossless(text);
        } catch {
          return;
        }
        const joined = fast
          .canonicalPieces(tree, text, minSpan)
          .map((p) => (typeof p === 'string' ? p : text.slice(p[0], p[1])))
          .join('');
        expect(joined).toBe(referenceCanonical(referenceTree(text) as fast.JsonNode));
      }),
      { numRuns: 2_000 },
    );
  });

  it('the event key of a large body (long strings hashed from its bytes when ASCII) is the reference key', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.nat({ max: 40_000 }).map((n) => 'x'.repeat(n)),
      fc
        .tuple(fc.nat({ max: 30_000 }), fc.constantFrom('é', '\\', '"', '\u2028', '\ud800'))
        .map(([n, c]) => `${'y'.repeat(n)}${c}`),
      fc.integer(),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 5 }), fc.boolean(), (data, spaced) => {
        const body = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: data }, null, spaced ? 1 : 0));
        const canonical = `{"event_data":${referenceCanonical(referenceTree(JSON.stringify(data)) as fast.JsonNode)},"event_type":"avatar_video.success"}`;
        const want = `heygen:evt:${crypto.createHash('sha256').update(canonical).digest('hex')}`;
        expect(heygenEventKey(body)).toBe(want);
        normalizeHeyGen(body, {}); // the ingress's order: the body is then known to be valid JSON
        expect(heygenEventKey(body)).toBe(want);
      }),
      { numRuns: 300 },
    );
  });

  it('same canonical number for every spelling, exponents beyond 15 digits included', () => {
    fc.assert(
      fc.property(numberText, (t) => {
        expect(fast.canonicalNumber(t)).toBe(referenceNumber(t));
      }),
      { numRuns: 5_000 },
    );
  });

  it('same at the depth limit and past it', () => {
    for (const d of [fast.MAX_DEPTH - 1, fast.MAX_DEPTH, fast.MAX_DEPTH + 1, fast.MAX_DEPTH + 2])
      for (const inner of ['', '1']) expectSame(`${'['.repeat(d)}${inner}${']'.repeat(d)}`);
  });
});
