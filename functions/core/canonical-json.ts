/**
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
 * A small recursive-descent parser over the raw text does this (hand-written: it runs on every delivery); it also gives the source text of
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
const HEX4 = /^[0-9a-fA-F]{4}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings; this stops at them.
const PLAIN = /[^"\\\u0000-\u001f]*/y;

export interface ParseOptions {
  /**
   * The text has already parsed with `JSON.parse` (core/body-text.ts `isKnownJson`): the grammar
   * inside strings is trusted, so a string's end is found natively (`indexOf`) instead of checked
   * character by character. Gives the same tree as without; never set it for text not so parsed.
   */
  readonly validJson?: boolean;
}

/** Parses JSON text into a tree that keeps every number's digits and every value's source span. */
export function parseLossless(text: string, options: ParseOptions = {}): JsonNode {
  // Hand-written scanner (charCodeAt, no regex per string): every delivery's event key goes through
  // it. test/unit/canonical-json-fast.test.ts checks its trees, texts and refusals against an
  // independent reference (test/support/canonical-json-reference.ts).
  const scanner = new LosslessScanner(text, options.validJson === true);
  const root = scanner.value(0);
  scanner.ws();
  if (scanner.i !== text.length) scanner.fail('trailing characters');
  return root;
}

/** One pass of `parseLossless` over a text: the position, and what the last string scanned had. */
class LosslessScanner {
  /** The position in the text. */
  i = 0;
  /** Whether the last string scanned had a backslash. */
  private escaped = false;
  /** Where the next backslash is (`nextBackslash`). */
  private backslash = -1;
  private readonly n: number;

  constructor(
    private readonly text: string,
    /** The text has parsed with JSON.parse (`ParseOptions.validJson`). */
    private readonly trusted: boolean,
  ) {
    this.n = text.length;
  }

  ws(): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.i);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.i++;
      else return;
    }
  }

  fail(what: string): never {
    throw new CanonicalJsonError(`invalid JSON at ${this.i}: ${what}`);
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    this.ws();
    const c = this.text.charCodeAt(this.i);
    if (c === 123 /* { */) return this.object(depth);
    if (c === 91 /* [ */) return this.array(depth);
    if (c === 34 /* " */) return this.string();
    return this.literalOrNumber(c);
  }

  private object(depth: number): JsonNode {
    const text = this.text;
    const start = this.i++;
    const entries: [string, JsonNode][] = [];
    this.ws();
    if (text.charCodeAt(this.i) === 125) {
      this.i++;
      return { t: 'object', entries, start, end: this.i };
    }
    for (;;) {
      this.ws();
      const key = this.value(depth + 1);
      if (key.t !== 'string') this.fail('object key is not a string');
      this.ws();
      if (text.charCodeAt(this.i++) !== 58 /* : */) this.fail('expected :');
      entries.push([(key as { value: string }).value, this.value(depth + 1)]);
      this.ws();
      const sep = text.charCodeAt(this.i++);
      if (sep === 125) return { t: 'object', entries, start, end: this.i };
      if (sep !== 44) this.fail('expected , or }');
    }
  }

  private array(depth: number): JsonNode {
    const text = this.text;
    const start = this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (text.charCodeAt(this.i) === 93) {
      this.i++;
      return { t: 'array', items, start, end: this.i };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.ws();
      const sep = text.charCodeAt(this.i++);
      if (sep === 93) return { t: 'array', items, start, end: this.i };
      if (sep !== 44) this.fail('expected , or ]');
    }
  }

  private string(): JsonNode {
    const start = this.i;
    const end = this.trusted ? this.trustedStringEnd(start) : this.stringEnd(start);
    if (end < 0) return this.fail('bad string');
    this.i = end;
    const v = this.escaped ? (JSON.parse(this.text.slice(start, end)) as string) : this.text.slice(start + 1, end - 1);
    return { t: 'string', value: v, start, end };
  }

  private literalOrNumber(c: number): JsonNode {
    const text = this.text;
    const start = this.i;
    const literal =
      c === 116 /* t */ && text.startsWith('true', start)
        ? 'true'
        : c === 102 /* f */ && text.startsWith('false', start)
          ? 'false'
          : c === 110 /* n */ && text.startsWith('null', start)
            ? 'null'
            : undefined;
    if (literal !== undefined) {
      this.i += literal.length;
      return { t: 'literal', text: literal, start, end: this.i };
    }
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(text);
    if (!m || m[0] === '') return this.fail('unexpected character');
    this.i = NUMBER.lastIndex;
    return { t: 'number', text: m[0], start, end: this.i };
  }

  /** The end (after the closing quote) of a valid JSON string at `start`, or -1; `escaped` if it has a backslash. */
  private stringEnd(start: number): number {
    const text = this.text;
    this.escaped = false;
    for (let j = start + 1; ; ) {
      // Skip the run of plain characters natively, then look at what stopped it.
      PLAIN.lastIndex = j;
      PLAIN.test(text);
      j = PLAIN.lastIndex;
      const c = text.charCodeAt(j);
      if (c === 34) return j + 1;
      if (c !== 92) return -1; // a raw control character, or the end of the text
      this.escaped = true;
      const e = text.charCodeAt(j + 1);
      // \" \\ \/ \b \f \n \r \t
      if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) j += 2;
      else if (e === 117 && HEX4.test(text.slice(j + 2, j + 6))) j += 6;
      else return -1;
    }
  }

  /** Where the next backslash at or after `from` is (n when none): found once per stretch, so O(n) in all. */
  private nextBackslash(from: number): number {
    if (this.backslash < from) {
      this.backslash = this.text.indexOf('\\', from);
      if (this.backslash < 0) this.backslash = this.n;
    }
    return this.backslash;
  }

  /** `stringEnd` for text known to be valid JSON: the first unescaped quote ends the string. */
  private trustedStringEnd(start: number): number {
    const text = this.text;
    const q = text.indexOf('"', start + 1);
    if (q >= 0 && this.nextBackslash(start + 1) > q) {
      this.escaped = false;
      return q + 1;
    }
    this.escaped = true;
    for (let j = start + 1; j < this.n; ) {
      const c = text.charCodeAt(j);
      if (c === 34) return j + 1;
      j += c === 92 ? 2 : 1;
    }
    return -1;
  }
}

const NUMBER_PARTS = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** One text per decimal value: `[-]<digits without leading/trailing zeros>e<exponent>`, or `0`. */
export function canonicalNumber(text: string): string {
  const plain = plainDecimal(text);
  if (plain !== undefined) return plain;
  const m = NUMBER_PARTS.exec(text);
  if (!m) throw new CanonicalJsonError(`not a JSON number: ${text}`);
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = `${int}${frac}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const kept = digits.replace(/0+$/, '');
  const trailing = digits.length - kept.length;
  digits = kept;
  // Exponents of up to 15 digits are exact as doubles (and print alike); beyond, BigInt.
  const exponent = exp.length <= 15 ? Number(exp) - frac.length + trailing : BigInt(exp) - BigInt(frac.length) + BigInt(trailing);
  return `${sign}${digits}e${exponent}`;
}

/** `canonicalNumber` of `-?digits(.digits)?` (no exponent: the common case), without regular expressions; else undefined. */
function plainDecimal(text: string): string | undefined {
  const n = text.length;
  const i = text.charCodeAt(0) === 45 ? 1 : 0;
  let dot = -1;
  for (let j = i; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 46 && dot < 0 && j > i) dot = j;
    else if (c < 48 || c > 57) return undefined;
  }
  if (i === n || dot === n - 1) return undefined;
  const digits = dot < 0 ? text.slice(i) : `${text.slice(i, dot)}${text.slice(dot + 1)}`;
  let a = 0;
  while (a < digits.length && digits.charCodeAt(a) === 48) a++;
  if (a === digits.length) return '0';
  let b = digits.length;
  while (b > a && digits.charCodeAt(b - 1) === 48) b--;
  return `${i === 1 ? '-' : ''}${digits.slice(a, b)}e${digits.length - b - (dot < 0 ? 0 : n - dot - 1)}`;
}

const byKey = (a: readonly [string, JsonNode], b: readonly [string, JsonNode]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * The canonical text of a string node: its source text itself when that is what `JSON.stringify`
 * writes (no escape sequence, no lone surrogate; the parser has refused raw control characters),
 * which spares re-escaping a long string; else `JSON.stringify` of its value.
 */
function canonicalString(node: StringNode, source?: string): string {
  return (source !== undefined && plainSource(node, source)) || JSON.stringify(node.value);
}

type StringNode = { readonly value: string; readonly start: number; readonly end: number };

/** The string node's source text (quotes included) when that is its canonical text, else undefined. */
export function plainSource(node: StringNode, source: string): string | undefined {
  const raw = source.slice(node.start, node.end);
  return raw.indexOf('\\') < 0 && (raw as unknown as { isWellFormed(): boolean }).isWellFormed() ? raw : undefined;
}

/**
 * The source text of `node` when it is exactly what `JSON.stringify(JSON.parse(it))` writes (so a
 * caller can use it instead of serializing the parsed value again), else undefined: no whitespace,
 * strings without escapes or lone surrogates, numbers as JavaScript prints them, no repeated keys
 * and no all-digit keys (JSON.parse would move array-index keys first).
 */
export function stringifiedSource(node: JsonNode, source: string): string | undefined {
  let pos = node.start;
  const at = (code: number): boolean => {
    if (source.charCodeAt(pos) !== code) return false;
    pos++;
    return true;
  };
  const same = (n: JsonNode): boolean => {
    if (n.start !== pos) return false;
    if (n.t === 'string') {
      if (plainSource(n, source) === undefined) return false;
    } else if (n.t === 'number') {
      if (String(Number(n.text)) !== n.text) return false;
    } else if (n.t === 'array') {
      pos++;
      for (let k = 0; k < n.items.length; k++) if ((k > 0 && !at(44)) || !same(n.items[k] as JsonNode)) return false;
      if (!at(93)) return false;
    } else if (n.t === 'object') {
      pos++;
      const keys = new Set<string>();
      for (let k = 0; k < n.entries.length; k++) {
        const [key, v] = n.entries[k] as readonly [string, JsonNode];
        if (keys.has(key) || isAllDigits(key) || (k > 0 && !at(44))) return false;
        keys.add(key);
        const written = JSON.stringify(key);
        if (!source.startsWith(written, pos)) return false;
        pos += written.length;
        if (!at(58) || !same(v)) return false;
      }
      if (!at(125)) return false;
    }
    pos = n.end;
    return true;
  };
  return same(node) ? source.slice(node.start, node.end) : undefined;
}

export const ALL_DIGITS = /^\d+$/;

/** `ALL_DIGITS.test(key)`, the regular expression run only for a key that starts with a digit (few do). */
export function isAllDigits(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && ALL_DIGITS.test(key);
}

/** A stretch `[start, end)` of the source text that is copied verbatim into a canonical text. */
export type SourceSpan = readonly [start: number, end: number];

/**
 * `canonicalize(node, source)` as pieces, in order: text, and spans of `source` for strings of at
 * least `minSpan` characters whose source text is their canonical text. A caller holding the bytes
 * `source` was decoded from (ASCII: character offsets are byte offsets) can hash those spans from
 * the bytes, sparing a copy and a UTF-8 encoding of the longest parts.
 */
export function canonicalPieces(node: JsonNode, source: string, minSpan = 4_096): (string | SourceSpan)[] {
  const out: (string | SourceSpan)[] = [];
  let text = '';
  const walk = (n: JsonNode): void => {
    if (n.t === 'object') {
      const sorted = n.entries.length <= 1 ? n.entries : [...n.entries].sort(byKey);
      text += '{';
      let first = true;
      for (let k = 0; k < sorted.length; k++) {
        const [key, v] = sorted[k] as readonly [string, JsonNode];
        if (k + 1 < sorted.length && (sorted[k + 1] as readonly [string, JsonNode])[0] === key) continue; // the last one wins
        text += `${first ? '' : ','}${JSON.stringify(key)}:`;
        first = false;
        walk(v);
      }
      text += '}';
    } else if (n.t === 'array') {
      text += '[';
      for (let k = 0; k < n.items.length; k++) {
        if (k > 0) text += ',';
        walk(n.items[k] as JsonNode);
      }
      text += ']';
    } else if (n.t === 'string' && n.end - n.start >= minSpan && plainSource(n, source) !== undefined) {
      if (text) out.push(text);
      text = '';
      out.push([n.start, n.end]);
    } else text += canonicalize(n, source);
  };
  walk(node);
  if (text) out.push(text);
  return out;
}

/**
 * The canonical text of a parsed value. `source`, the text the node was parsed from (optional, the
 * same result either way), lets strings be copied from it instead of re-escaped.
 */
export function canonicalize(node: JsonNode, source?: string): string {
  switch (node.t) {
    case 'object': {
      const entries = node.entries;
      if (entries.length === 0) return '{}';
      // Sorted by key (a stable sort); of a repeated key the last one wins, as in JSON.parse (what normalize saw).
      const sorted = entries.length === 1 ? entries : [...entries].sort(byKey);
      let out = '{';
      for (let k = 0; k < sorted.length; k++) {
        const [key, v] = sorted[k] as readonly [string, JsonNode];
        if (k + 1 < sorted.length && (sorted[k + 1] as readonly [string, JsonNode])[0] === key) continue;
        out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalize(v, source)}`;
      }
      return `${out}}`;
    }
    case 'array': {
      let out = '[';
      for (let k = 0; k < node.items.length; k++) out += `${k > 0 ? ',' : ''}${canonicalize(node.items[k] as JsonNode, source)}`;
      return `${out}]`;
    }
    case 'string':
      return canonicalString(node, source);
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
