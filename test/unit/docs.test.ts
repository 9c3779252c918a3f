/**
 * The docs stay walkable (issue 22): a README of at most 300 lines with a table of contents and the
 * commands CI runs, every docs/ page with its own contents list, every docs page reachable from the
 * README's map, and every relative link and #anchor in the Markdown files resolving.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokenLinks, contentsProblems, githubSlug, headingAnchors, links, readmeSectionMentions } from '../support/markdown.js';

const ROOT = resolve(__dirname, '../..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const DOCS_PAGES = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const CHECKED = ['README.md', 'BENCHMARKS.md', 'RELIABILITY.md', 'CHANGELOG.md', ...DOCS_PAGES];

describe('docs: the README', () => {
  it('is at most 300 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(300);
  });

  it('has a table of contents that links every section', () => {
    expect(contentsProblems(read('README.md'))).toEqual([]);
  });

  it('says what it is and for whom, and the prerequisites, before any diagram', () => {
    const readme = read('README.md');
    const firstFence = readme.indexOf('```');
    expect(readme.indexOf('Who it is for')).toBeGreaterThan(0);
    expect(readme.indexOf('Who it is for')).toBeLessThan(firstFence);
    for (const prerequisite of ['AWS account', 'cdk bootstrap', 'Node.js 20', 'Python 3']) {
      expect(readme.slice(readme.indexOf('## Prerequisites'))).toContain(prerequisite);
    }
  });

  it('keeps the commands CI and the hooks run', () => {
    const readme = read('README.md');
    for (const command of ['npm ci', 'npm test', 'npm start']) expect(readme).toContain(command);
  });

  it('maps every docs page, BENCHMARKS.md and RELIABILITY.md', () => {
    const targets = new Set(links(read('README.md')).map((l) => l.target.split('#')[0]));
    for (const page of [...DOCS_PAGES, 'BENCHMARKS.md', 'RELIABILITY.md', 'CHANGELOG.md']) {
      expect(targets, `README links ${page}`).toContain(page);
    }
  });
});

describe('docs: every page', () => {
  it.each(DOCS_PAGES)('%s starts with a contents list that links every section', (page) => {
    expect(contentsProblems(read(page))).toEqual([]);
  });

  it.each(['README.md', ...DOCS_PAGES])(
    '%s: every README section it names in prose (README, "Title") is in the README',
    (file) => {
      const readmeAnchors = headingAnchors(read('README.md'));
      const missing = readmeSectionMentions(read(file)).filter((m) => !readmeAnchors.includes(githubSlug(m.target)));
      expect(missing.map((m) => `${file}:${m.line}: README, "${m.target}"`)).toEqual([]);
    },
  );

  it.each(CHECKED)('%s: every relative link and #anchor resolves', (file) => {
    expect(brokenLinks(join(ROOT, file)).map((p) => p.replace(`${ROOT}/`, ''))).toEqual([]);
  });
});

describe('docs: the Markdown helpers', () => {
  it('githubSlug gives the anchors GitHub gives', () => {
    const cases: [string, string][] = [
      ['Sources: providers as plug-ins', 'sources-providers-as-plug-ins'],
      [
        'Nothing can lock the relay out: one writer, checked versions, recorded intents',
        'nothing-can-lock-the-relay-out-one-writer-checked-versions-recorded-intents',
      ],
      ['Evidence, not belief; and the backfill', 'evidence-not-belief-and-the-backfill'],
      [
        'End to end, dedup mode `record` (test/integration/relay-e2e.test.ts)',
        'end-to-end-dedup-mode-record-testintegrationrelay-e2etestts',
      ],
      ["What's new? A *bold* [link](x.md) & more", 'whats-new-a-bold-link--more'],
      ['`snake_case` and _emphasis_', 'snake_case-and-emphasis'],
      ['Émigré café, 2', 'émigré-café-2'],
    ];
    for (const [heading, slug] of cases) expect(githubSlug(heading)).toBe(slug);
  });

  it('headingAnchors numbers repeated headings, skips code blocks, reads <a id>', () => {
    const md = '# A\n## A\n```\n## Not a heading\n```\n### A\n<a id="custom"></a>\n#NotAHeading';
    expect(headingAnchors(md)).toEqual(['a', 'a-1', 'a-2', 'custom']);
  });

  it('links finds inline links, images and definitions, not code', () => {
    const md = [
      'See [a](a.md#x "title") and ![img](pic.png), [nested [b]](b.md), [p](f(1).md).',
      'Not `[code](c.md)`, and ``[x](y.md) ` z``.',
      '```',
      '[fenced](f.md)',
      '```',
      '[ref]: ref.md#y',
    ].join('\n');
    expect(links(md).map((l) => l.target)).toEqual(['a.md#x', 'pic.png', 'b.md', 'f(1).md', 'ref.md#y']);
  });

  it('readmeSectionMentions finds README, "Title" and its variants, not in code', () => {
    const md = 'See README, "Quick start" and README "Dedup modes", the README\'s "Deploy".\n`README, "Code"`';
    expect(readmeSectionMentions(md).map((m) => m.target)).toEqual(['Quick start', 'Dedup modes', 'Deploy']);
  });

  describe('brokenLinks and contentsProblems on seeded mistakes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docs-test-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    write('target.md', '# Target\n\n## Real section\n');

    it('accepts links that resolve, external ones included', () => {
      const file = write(
        'ok.md',
        '[t](target.md) [s](target.md#real-section) [self](#ok) [web](https://example.com/x#y)\n# OK\n',
      );
      expect(brokenLinks(file)).toEqual([]);
    });

    it('reports a missing file, a missing anchor in another page and in the same page', () => {
      const file = write('bad.md', '# Bad\n[a](missing.md)\n[b](target.md#no-such)\n[c](#nowhere)\n');
      expect(brokenLinks(file)).toEqual([
        `${file}:2: missing.md: no such file`,
        `${file}:3: target.md#no-such: no heading with anchor #no-such`,
        `${file}:4: #nowhere: no heading with anchor #nowhere`,
      ]);
    });

    it('contentsProblems: none for a complete list, one per unlisted section, one without a list', () => {
      const good = '# P\n\n**Contents**\n\n- [One](#one)\n  - [Sub](#sub)\n- [Two](#two)\n\n## One\n### Sub\n## Two\n';
      expect(contentsProblems(good)).toEqual([]);
      expect(contentsProblems(good.replace('- [Two](#two)\n', ''))).toEqual([
        'the contents list does not link the section "Two"',
      ]);
      expect(contentsProblems('# P\n\n## One\n')).toEqual(['no contents list (a line "Contents" followed by a list of links)']);
      expect(contentsProblems('# P\n\n## One\n\n## Contents\n\n- [One](#one)\n')).toEqual([
        'the contents list comes after the first section',
      ]);
      expect(contentsProblems('# P\n\n## Contents\n\n- [One](#one)\n\n## One\n')).toEqual([]);
    });
  });
});
