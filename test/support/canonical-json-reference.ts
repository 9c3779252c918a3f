/**
 * An INDEPENDENT reference (test only) for functions/core/canonical-json.ts, written from its spec
 * with other means than the fast parser, so that test/unit/canonical-json-fast.test.ts checks the
 * parser against something that could disagree with it:
 *
 * - What is JSON: what `JSON.parse` takes, nested at most MAX_DEPTH levels (the root is level 0).
 * - The tree: a regular expression cuts the (valid) text into tokens, and an explicit stack, not
 *   recursive descent, puts the tokens together, each node spanning its source text.
 * - The canonical text: members sorted by key (UTF-16 code units: the default sort), the last of a
 *   repeated key winning (`Object.fromEntries`), strings written by `JSON.stringify`, no whitespace.
 * - A number: its decimal value by BigInt arithmetic, `[-]<digits without trailing zeros>e<exp>`,
 *   or `0` (so `150`, `150.0`, `1.5e2` and `1.50E+2` are all `15e1`, and `-0` is `0`).
 */
import { type JsonNode, MAX_DEPTH } from '../../functions/core/canonical-json.js';

/** A token of valid JSON: a string, a punctuation mark, or a number or literal (whitespace falls between). */
const TOKEN = /"(?:[^"\\]|\\.)*"|[{}[\],:]|[^\s{}[\],:"]+/g;

/** A container not closed yet: where it starts, what it holds so far, and an object's key awaiting its value. */
type Open = { readonly start: number; key?: string } & (
  | { readonly entries: [string, JsonNode][] }
  | { readonly items: JsonNode[] }
);

/** The tree of `text`, or undefined when it is not JSON (or is nested deeper than MAX_DEPTH). */
export function referenceTree(text: string): JsonNode | undefined {
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  const open: Open[] = [];
  let root: JsonNode | undefined;
  let deepest = 0;
  const place = (node: JsonNode): void => {
    deepest = Math.max(deepest, open.length);
    const parent = open.at(-1);
    if (parent === undefined) root = node;
    else if ('items' in parent) parent.items.push(node);
    else {
      parent.entries.push([parent.key as string, node]);
      parent.key = undefined;
    }
  };
  for (const m of text.matchAll(TOKEN)) {
    const [token] = m;
    const start = m.index;
    const end = start + token.length;
    if (token === '{') open.push({ start, entries: [] });
    else if (token === '[') open.push({ start, items: [] });
    else if (token === '}' || token === ']') {
      const done = open.pop() as Open;
      place(
        'items' in done
          ? { t: 'array', items: done.items, start: done.start, end }
          : { t: 'object', entries: done.entries, start: done.start, end },
      );
    } else if (token.startsWith('"')) {
      const parent = open.at(-1);
      const value = JSON.parse(token) as string;
      if (parent !== undefined && 'entries' in parent && parent.key === undefined) parent.key = value;
      else place({ t: 'string', value, start, end });
    } else if (token !== ',' && token !== ':')
      place({ t: ['true', 'false', 'null'].includes(token) ? 'literal' : 'number', text: token, start, end });
  }
  return deepest > MAX_DEPTH ? undefined : root;
}

/** The canonical text of a tree (see the header). */
export function referenceCanonical(node: JsonNode): string {
  if (node.t === 'string') return JSON.stringify(node.value);
  if (node.t === 'array') return `[${node.items.map(referenceCanonical).join(',')}]`;
  if (node.t !== 'object') return node.t === 'number' ? referenceNumber(node.text) : node.text;
  const members = Object.fromEntries(node.entries);
  const keys = Object.keys(members).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceCanonical(members[k] as JsonNode)}`).join(',')}}`;
}

/** The canonical text of a JSON number (see the header). */
export function referenceNumber(text: string): string {
  const [mantissa = '', exponent = '0'] = text.toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = mantissa.replace('-', '').split('.');
  let digits = BigInt(`${whole}${fraction}`);
  let power = BigInt(exponent) - BigInt(fraction.length);
  if (digits === 0n) return '0';
  while (digits % 10n === 0n) {
    digits /= 10n;
    power += 1n;
  }
  return `${negative ? '-' : ''}${digits}e${power}`;
}
