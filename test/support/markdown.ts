/**
 * Just enough Markdown to check the docs (test/unit/docs.test.ts): ATX headings and the anchors
 * GitHub gives them, inline links and reference definitions outside code, contents lists, and
 * whether a relative link resolves. No Markdown library is installed; this one is tested there.
 * Setext headings (underlined with === or ---) are not recognised: the docs do not use them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** GitHub's anchor for a heading's text (github-slugger's rule: lowercase, drop punctuation, space -> '-'). */
export function githubSlug(text: string): string {
  return plainText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a document's headings (and of its `<a id=...>` tags), in order. */
export function headingAnchors(markdown: string): string[] {
  const htmlAnchors = [
    ...stripCode(markdown)
      .join('\n')
      .matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g),
  ].map((m) => m[1] ?? '');
  return [...sluggedHeadings(markdown).map((h) => h.slug), ...htmlAnchors];
}

/** Each heading with its anchor; a repeated slug gets -1, -2, ... as on GitHub. */
export function sluggedHeadings(markdown: string): (Heading & { readonly slug: string })[] {
  const seen = new Map<string, number>();
  return headings(markdown).map((heading) => {
    const base = githubSlug(heading.text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return { ...heading, slug: count === 0 ? base : `${base}-${count}` };
  });
}

export interface Heading {
  readonly level: number;
  readonly text: string;
  readonly line: number;
}

/** ATX headings (`## Title`) outside fenced code blocks. */
export function headings(markdown: string): Heading[] {
  const found: Heading[] = [];
  stripCode(markdown, { keepInlineCode: true }).forEach((line, index) => {
    const match = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (match) found.push({ level: (match[1] ?? '').length, text: match[2] ?? '', line: index + 1 });
  });
  return found;
}

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** Inline link and image destinations, and reference definitions, outside code. */
export function links(markdown: string): Link[] {
  const found: Link[] = [];
  stripCode(markdown).forEach((line, index) => {
    for (const m of line.matchAll(/!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(/g)) {
      const target = destination(line.slice((m.index ?? 0) + m[0].length));
      if (target !== undefined) found.push({ target, line: index + 1 });
    }
    const definition = /^ {0,3}\[[^\]]+\]:[ \t]*(<[^>]*>|\S+)/.exec(line);
    if (definition) found.push({ target: (definition[1] ?? '').replace(/^<|>$/g, ''), line: index + 1 });
  });
  return found;
}

/** What fails to resolve among a file's relative links: a missing file, or an anchor no heading has. */
export function brokenLinks(file: string): string[] {
  const problems: string[] = [];
  for (const { target, line } of links(readFileSync(file, 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    const [rawPath, rawAnchor] = splitOnce(target, '#');
    const path = decodeURIComponent(rawPath.replace(/\?.*$/, ''));
    const targetFile = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(targetFile)) {
      problems.push(`${file}:${line}: ${target}: no such file`);
      continue;
    }
    if (rawAnchor === undefined || !targetFile.endsWith('.md')) continue;
    const anchor = decodeURIComponent(rawAnchor);
    if (!headingAnchors(readFileSync(targetFile, 'utf8')).includes(anchor)) {
      problems.push(`${file}:${line}: ${target}: no heading with anchor #${anchor}`);
    }
  }
  return problems;
}

/** Sections named in prose as `README, "Title"` (or `README "Title"`, `README's "Title"`), outside code. */
export function readmeSectionMentions(markdown: string): Link[] {
  return stripCode(markdown).flatMap((line, index) =>
    [...line.matchAll(/README(?:'s)?,? "([^"]+)"/g)].map((m) => ({ target: m[1] ?? '', line: index + 1 })),
  );
}

/**
 * What is wrong with a page's contents list: there must be a list right after a line that says
 * "Contents" (a heading or a bold line), before the page's first other `##` section, and it must
 * link every `##` heading of the page.
 */
export function contentsProblems(markdown: string): string[] {
  const lines = stripCode(markdown, { keepInlineCode: true });
  const title = lines.findIndex((l) => /^ {0,3}(?:#{1,6}[ \t]+|\*\*)?(?:table of )?contents:?(?:\*\*)?[ \t]*$/i.test(l));
  const sections = headings(markdown).filter((h) => h.level === 2 && h.line !== title + 1);
  if (title < 0) return ['no contents list (a line "Contents" followed by a list of links)'];
  if ((sections[0]?.line ?? Number.POSITIVE_INFINITY) < title + 1) return ['the contents list comes after the first section'];
  const listed = new Set(contentsAnchors(lines.slice(title + 1)));
  if (listed.size === 0) return ['"Contents" is not followed by a list of links to the page\'s headings'];
  return sluggedHeadings(markdown)
    .filter((h) => h.level === 2 && h.line !== title + 1 && !listed.has(h.slug))
    .map((h) => `the contents list does not link the section "${h.text}"`);
}

/** The `#anchor` links of the list that starts at the first non-blank line. */
function contentsAnchors(after: readonly string[]): string[] {
  const start = after.findIndex((l) => l.trim() !== '');
  const anchors: string[] = [];
  for (const line of after.slice(Math.max(start, 0))) {
    if (!/^\s*(?:[-*+]|\d+[.)])\s+/.test(line)) break;
    for (const { target } of links(line)) if (target.startsWith('#')) anchors.push(decodeURIComponent(target.slice(1)));
  }
  return anchors;
}

/** A heading's text as rendered: no code backticks, link targets, emphasis markers or HTML tags. */
function plainText(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`+/g, '')
    .replace(/(^|\W)_+|_+(?=\W|$)/g, '$1')
    .trim();
}

/** The link destination at the start of `rest` (after `](`), or undefined if it is not one. */
function destination(rest: string): string | undefined {
  const text = rest.trimStart();
  if (text.startsWith('<')) {
    const end = text.indexOf('>');
    return end < 0 ? undefined : text.slice(1, end);
  }
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth-- === 0) return text.slice(0, i).trim().split(/\s+/)[0] ?? '';
    else if (/\s/.test(c) && depth === 0) return text.slice(0, i);
  }
  return undefined;
}

/** Lines with fenced code blocks blanked, and (unless kept) inline code spans removed. */
function stripCode(markdown: string, options: { keepInlineCode?: boolean } = {}): string[] {
  let fence: string | undefined;
  return markdown.split(/\r?\n/).map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) {
      fence = marker;
      return '';
    }
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      return '';
    }
    return options.keepInlineCode ? line : line.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, '');
  });
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
