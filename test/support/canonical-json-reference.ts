/**
 * REFERENCE COPY (test only) of functions/core/canonical-json.ts as it was before its fast rewrite
 * (commit 9ced12c): test/unit/canonical-json-fast.test.ts checks the rewrite gives exactly these trees,
 * texts and errors. Do not change it.
 *
 * Canonical JSON for event identity, lossless: the same event, whatever bytes carried it (a live
 * delivery, an entry of the provider's event history), gives the same canonical text.
 *
 * - Object members sorted by key (UTF-16 code units, as RFC 8785), no whitespace, strings
 *   re-escaped by JSON.stringify (so `"\u00e9"` and `"é"` are the same string).
 * - Numbers are NOT parsed into IEEE doubles (RFC 8785 does, and so would lose the digits of a
 *   large integer id and merge two ids that differ past the 16th digit). A number is kept as its
 *   decimal value and written in one form: sign, significant digits, exponent
 *   (`150`, `150.0`, `1.5e2`, `1.50E+2` all become `15e1`; `-0` becomes `0`). Two texts of the same
 *   decimal value agree; two different values never do.
 * A small recursive-descent parser over the raw text does this; it also gives the source text of
 * any value (the backfill republishes a history entry's `event_data` from its raw text).
 */

export type JsonNode =
  | {
      readonly t: 'object';
      readonly entries: readonly (readonly [string, JsonNode])[];
      readonly start: number;
      readonly end: number;
    }
  | { readonly t: 'array'; readonly items: readonly JsonNode[]; readonly start: number; readonly end: number }
  | { readonly t: 'string'; readonly value: string; readonly start: number; readonly end: number }
  | { readonly t: 'number' | 'literal'; readonly text: string; readonly start: number; readonly end: number };

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

/** Deeper than EventBridge's 1,100 levels (such a delivery is parked, never published), within the JS stack. */
export const MAX_DEPTH = 2_000;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings; this excludes them.
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS = /[ \t\n\r]*/y;

/** Parses JSON text into a tree that keeps every number's digits and every value's source span. */
export function parseLossless(text: string): JsonNode {
  let i = 0;
  const ws = () => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const fail = (what: string): never => {
    throw new CanonicalJsonError(`invalid JSON at ${i}: ${what}`);
  };
  const value = (depth: number): JsonNode => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JsonNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { t: 'object', entries, start, end: i };
      }
      for (;;) {
        ws();
        const key = value(depth + 1);
        if (key.t !== 'string') fail('object key is not a string');
        ws();
        if (text[i++] !== ':') fail('expected :');
        entries.push([(key as { value: string }).value, value(depth + 1)]);
        ws();
        const sep = text[i++];
        if (sep === '}') return { t: 'object', entries, start, end: i };
        if (sep !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { t: 'array', items, start, end: i };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        const sep = text[i++];
        if (sep === ']') return { t: 'array', items, start, end: i };
        if (sep !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') {
      STRING.lastIndex = i;
      const m = STRING.exec(text);
      if (!m) return fail('bad string');
      i = STRING.lastIndex;
      return { t: 'string', value: JSON.parse(m[0]) as string, start, end: i };
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { t: 'literal', text: lit, start, end: i };
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0] === '') return fail('unexpected character');
    i = NUMBER.lastIndex;
    return { t: 'number', text: m[0], start, end: i };
  };
  const root = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return root;
}

/** One text per decimal value: `[-]<digits without leading/trailing zeros>e<exponent>`, or `0`. */
export function canonicalNumber(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new CanonicalJsonError(`not a JSON number: ${text}`);
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = BigInt(exp) - BigInt(frac.length);
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${sign}${digits}e${exponent}`;
}

/** The canonical text of a parsed value. */
export function canonicalize(node: JsonNode): string {
  switch (node.t) {
    case 'object': {
      // A repeated key: the last one wins, as in JSON.parse (what normalize saw).
      const last = new Map(node.entries);
      const sorted = [...last.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(',')}}`;
    }
    case 'array':
      return `[${node.items.map(canonicalize).join(',')}]`;
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
      return canonicalNumber(node.text);
    case 'literal':
      return node.text;
  }
}

/** A member of a parsed object, or undefined. */
export function member(node: JsonNode, key: string): JsonNode | undefined {
  if (node.t !== 'object') return undefined;
  for (let i = node.entries.length - 1; i >= 0; i--) if (node.entries[i]?.[0] === key) return node.entries[i]?.[1];
  return undefined;
}
