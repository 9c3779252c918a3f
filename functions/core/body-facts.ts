/**
 * What the hot path needs to know about a body's JSON, from ONE walk of its lossless parse
 * (core/body-text.ts `bodyTree`) instead of three passes (the event key's canonical text, the
 * Detail's copy of the data, the fidelity scan):
 * - the canonical text of one member (core/canonical-json.ts `canonicalize`, the event key's input);
 * - that member's source text when it is exactly what JSON.stringify writes (`stringifiedSource`);
 * - whether the body is clean for the fidelity rules (core/fidelity.ts): no repeated key, every
 *   number carried exactly, and its depth. A body that is not clean is scanned by `scanBody` itself,
 *   which names the first problem; so these facts only ever shorten the clean case.
 * test/unit/body-facts.test.ts checks every fact against the function it replaces.
 */
import { bodyText, bodyTree } from './body-text.js';
import { canonicalNumber, isAllDigits, type JsonNode, plainSource } from './canonical-json.js';
import { type BodyScan, numberRoundTrips } from './fidelity.js';

export interface BodyFacts {
  /** The member's canonical text, or undefined when the body is no object with that member. */
  readonly memberCanonical: string | undefined;
  /** The member's source text when it is an object and exactly its JSON.stringify, else undefined. */
  readonly memberStringified: string | undefined;
  /** No repeated key and every number exact (the fidelity rules other than UTF-8). */
  readonly clean: boolean;
  /** Deepest container nesting (`{}` is 1). */
  readonly depth: number;
}

/**
 * The facts of `root` (parsed from `source`), with `member` of the top-level object singled out.
 * `wellFormed`: `source` is known to hold no lone surrogate (text decoded from bytes, as
 * `Buffer#toString` writes U+FFFD for any invalid sequence), so only escapes keep a string's source
 * text from being its canonical text (`plainSource`).
 */
export function factsOf(root: JsonNode, source: string, member: string, wellFormed = false): BodyFacts {
  const walk = new FactsWalk(source, memberOf(root, member), wellFormed);
  walk.walk(root, 0);
  return {
    memberCanonical: walk.targetCanonical,
    memberStringified: walk.targetStringified,
    clean: walk.clean,
    depth: walk.deepest,
  };
}

/** The last `member` of a top-level object (the one JSON.parse keeps), or undefined. */
function memberOf(root: JsonNode, member: string): JsonNode | undefined {
  if (root.t !== 'object') return undefined;
  for (let k = root.entries.length - 1; k >= 0; k--) {
    const entry = root.entries[k] as readonly [string, JsonNode];
    if (entry[0] === member) return entry[1];
  }
  return undefined;
}

/**
 * One walk of a tree: every node's canonical text (bottom up), counting the places where the source
 * text is not what JSON.stringify writes (`violations`), with the facts gathered on the way.
 */
class FactsWalk {
  clean = true;
  /** Places where the source text is not what JSON.stringify writes. */
  private violations = 0;
  deepest = 0;
  targetCanonical: string | undefined;
  targetStringified: string | undefined;

  constructor(
    private readonly source: string,
    private readonly target: JsonNode | undefined,
    private readonly wellFormed: boolean,
  ) {}

  /** The canonical text of `n`; for the target, its facts too. */
  walk(n: JsonNode, depth: number): string {
    const before = this.violations;
    const canonical = n.t === 'object' ? this.object(n, depth + 1) : n.t === 'array' ? this.array(n, depth + 1) : this.scalar(n);
    if (n === this.target) {
      this.targetCanonical = canonical;
      if (this.violations === before && n.t === 'object') this.targetStringified = this.source.slice(n.start, n.end);
    }
    return canonical;
  }

  private scalar(n: JsonNode): string {
    if (n.t === 'string') {
      const raw = this.plain(n);
      if (raw !== undefined) return raw;
      this.violations++;
      return JSON.stringify(n.value);
    }
    if (n.t === 'number') {
      if (String(Number(n.text)) !== n.text) {
        this.violations++;
        if (!numberRoundTrips(n.text)) this.clean = false;
      }
      return canonicalNumber(n.text);
    }
    return (n as { text: string }).text;
  }

  /** `plainSource(n, source)`; for well-formed source text only the check for escapes is needed. */
  private plain(n: Extract<JsonNode, { t: 'string' }>): string | undefined {
    if (!this.wellFormed) return plainSource(n, this.source);
    const raw = this.source.slice(n.start, n.end);
    return raw.indexOf('\\') < 0 ? raw : undefined;
  }

  private array(n: Extract<JsonNode, { t: 'array' }>, depth: number): string {
    const source = this.source;
    if (depth > this.deepest) this.deepest = depth;
    let pos = n.start + 1;
    let out = '[';
    for (let k = 0; k < n.items.length; k++) {
      const item = n.items[k] as JsonNode;
      if (k > 0) {
        out += ',';
        if (source.charCodeAt(pos++) !== 44) this.violations++;
      }
      if (item.start !== pos) this.violations++;
      out += this.walk(item, depth);
      pos = item.end;
    }
    if (source.charCodeAt(pos) !== 93 || pos + 1 !== n.end) this.violations++;
    return `${out}]`;
  }

  private object(n: Extract<JsonNode, { t: 'object' }>, depth: number): string {
    const source = this.source;
    if (depth > this.deepest) this.deepest = depth;
    const parts: [string, string][] = [];
    let pos = n.start + 1;
    for (let k = 0; k < n.entries.length; k++) {
      const [key, v] = n.entries[k] as readonly [string, JsonNode];
      if (k > 0 && source.charCodeAt(pos++) !== 44) this.violations++;
      const written = quoted(key);
      if (isAllDigits(key) || !source.startsWith(written, pos)) this.violations++;
      pos += written.length;
      if (source.charCodeAt(pos++) !== 58 || v.start !== pos) this.violations++;
      parts.push([key, `${written}:${this.walk(v, depth)}`]);
      pos = v.end;
    }
    if (source.charCodeAt(pos) !== 125 || pos + 1 !== n.end) this.violations++;
    return this.sortedObject(sortByKey(parts));
  }

  /** `{...}` of the sorted members; of a repeated key the last one wins (as JSON.parse), and the body is not clean. */
  private sortedObject(sorted: [string, string][]): string {
    let out = '{';
    for (let k = 0; k < sorted.length; k++) {
      const [key, text] = sorted[k] as [string, string];
      if (k + 1 < sorted.length && (sorted[k + 1] as [string, string])[0] === key) {
        this.clean = false;
        this.violations++;
        continue;
      }
      out += `${out.length > 1 ? ',' : ''}${text}`;
    }
    return `${out}}`;
  }
}

/** `JSON.stringify(key)`, remembered for the keys seen most (a provider's payloads repeat theirs). */
const quotedKeys = new Map<string, string>();
function quoted(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (key.length <= 64) {
      if (quotedKeys.size >= 1_024) quotedKeys.clear();
      quotedKeys.set(key, q);
    }
  }
  return q;
}

/**
 * Sorted by key, UTF-16 code units (as core/canonical-json.ts), stable (repeated keys stay in order):
 * an insertion sort for the few members of a typical object, else Array#sort (also stable).
 */
function sortByKey(parts: [string, string][]): [string, string][] {
  if (parts.length > 16) return parts.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < parts.length; i++) {
    const item = parts[i] as [string, string];
    let j = i - 1;
    while (j >= 0 && (parts[j] as [string, string])[0] > item[0]) {
      parts[j + 1] = parts[j] as [string, string];
      j--;
    }
    parts[j + 1] = item;
  }
  return parts;
}

let last: { body: Buffer; member: string; facts: BodyFacts | null } | undefined;

/**
 * The facts of a body's JSON (once per body and member), or null when its text does not parse
 * losslessly (then every caller takes its own path).
 */
export function bodyFacts(body: Buffer, member: string): BodyFacts | null {
  if (last?.body === body && last.member === member) return last.facts;
  let facts: BodyFacts | null;
  try {
    // Text decoded from bytes is well formed (core/body-text.ts: `Buffer#toString`).
    facts = factsOf(bodyTree(body), bodyText(body), member, true);
  } catch (err) {
    if (!(err instanceof Error) || (err.name !== 'CanonicalJsonError' && !(err instanceof RangeError))) throw err;
    facts = null;
  }
  last = { body, member, facts };
  return facts;
}

/**
 * `scanBody`'s answer for a clean body whose facts are already known (no text scan), else undefined.
 * UTF-8 is the caller's check (it comes first).
 */
export function knownCleanScan(body: Buffer): BodyScan | undefined {
  const facts = last?.body === body ? last.facts : null;
  return facts?.clean ? { problem: null, depth: facts.depth } : undefined;
}
