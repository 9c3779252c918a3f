/**
 * Would the envelope carry the provider's `data` exactly? `JSON.parse` silently changes some valid
 * JSON: numbers a double cannot hold (`12345678901234567890` becomes `12345678901234567000`, `1e400`
 * becomes `null`), repeated object keys (the last one wins), and bytes that are not UTF-8 (each
 * becomes U+FFFD). EventBridge also refuses nesting deeper than 1,100 levels. A signed delivery with
 * any of these is parked with the reason (functions/core/ingress.ts), never changed silently.
 *
 * One linear pass over the raw text, which has already parsed as JSON (so the scanner can trust the
 * grammar). It allocates only for object keys.
 */
import { isUtf8 } from 'node:buffer';
import { isAsciiBody } from './body-text.js';

export type FidelityReason = 'invalid_utf8' | 'lossy_number' | 'duplicate_key' | 'too_deep';

export interface FidelityProblem {
  readonly reason: FidelityReason;
  /** For logs and the parked record; never contains body content. */
  readonly message: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A decimal literal as sign, significant digits and exponent (value = 0.digits × 10^exp). */
function decimal(lit: string): { neg: boolean; digits: string; exp: number } {
  const neg = lit.startsWith('-');
  const body = neg ? lit.slice(1) : lit;
  const e = body.search(/[eE]/);
  const mantissa = e < 0 ? body : body.slice(0, e);
  let exp = e < 0 ? 0 : Number(body.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  const fracPart = dot < 0 ? '' : mantissa.slice(dot + 1);
  let digits = intPart + fracPart;
  exp += intPart.length;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  exp -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return { neg: false, digits: '', exp: 0 }; // zero (its sign is not a value)
  return { neg, digits, exp };
}

/** True when `JSON.parse` then `JSON.stringify` keeps the literal's decimal value exactly. */
export function numberRoundTrips(lit: string): boolean {
  const n = Number(lit);
  if (!Number.isFinite(n)) return false;
  // Written back exactly as sent (`12.5`, `42`): the same text is the same value.
  if (String(n) === lit) return true;
  const a = decimal(lit);
  const b = decimal(String(n));
  return a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;
}

/** Reads a JSON string token starting at `i` (the opening quote); returns the index after it. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let k = q - 1; k > i && text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Deepest container nesting of a parsed JSON value (iterative: no stack overflow). */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

export interface BodyScan {
  /** What would not reach the bus exactly as sent, or null. */
  readonly problem: FidelityProblem | null;
  /** Deepest container nesting of the body (`{}` is 1). */
  readonly depth: number;
}

/** Scans a body that parsed as JSON (`text` is its UTF-8 decoding) for what `JSON.parse` would change. */
export function scanBody(body: Buffer, text: string): BodyScan {
  if (!isAsciiBody(body) && !isUtf8(body))
    return { problem: { reason: 'invalid_utf8', message: 'The body is not valid UTF-8' }, depth: 0 };
  // Per open container: the keys seen so far (objects) or null (arrays).
  const keys: (Set<string> | null)[] = [];
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const end = endOfString(text, i);
      const top = keys[keys.length - 1];
      if (top) {
        let j = end;
        while (j < text.length && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
        if (text[j] === ':') {
          const raw = text.slice(i + 1, end - 1);
          const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
          if (top.has(key))
            return { problem: { reason: 'duplicate_key', message: 'An object in the body repeats a key' }, depth: deepest };
          top.add(key);
        }
      }
      i = end;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      keys.push(c === 123 ? new Set() : null);
      depth++;
      if (depth > deepest) deepest = depth;
      i++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      keys.pop();
      depth--;
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const lit = m?.[0] ?? text[i] ?? '';
      if (!numberRoundTrips(lit))
        return {
          problem: {
            reason: 'lossy_number',
            message: 'A number in the body cannot be carried exactly (beyond double precision or range)',
          },
          depth: deepest,
        };
      i += lit.length;
    } else i++;
  }
  return { problem: null, depth: deepest };
}
