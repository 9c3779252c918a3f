/**
 * The tree tells the flow (issue 22, docs/design.md "Project layout"): runtime code never imports
 * CDK code, the core knows no AWS and no provider, every Lambda entry sits in an `entries/` folder
 * and is registered once, and every function fits a screen (80 lines).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_SOURCES } from '../../lib/function-sources.js';
import { importsOf, longFunctions, packageName, partOf, ROOT, sourceFiles } from '../support/layout.js';

const CODE = sourceFiles('functions', 'providers', 'lib', 'bin');
const CDK_PACKAGES = new Set(['aws-cdk-lib', 'constructs', 'esbuild']);
type Imports = ReturnType<typeof importsOf>;

function runtimeProblems(file: string, { files, packages }: Imports): string[] {
  return [
    ...packages.filter((p) => CDK_PACKAGES.has(packageName(p))).map((p) => `${file} imports ${p}`),
    ...files.filter((f) => ['infra', 'cli'].includes(partOf(f))).map((f) => `${file} imports ${f}`),
  ];
}

const REGISTRIES = ['providers/infra.ts', 'providers/runtime.ts', 'providers/media.ts', 'providers/types.ts'];

function constructProblems(file: string, { files }: Imports): string[] {
  return files.filter((f) => f.startsWith('providers/') && !REGISTRIES.includes(f)).map((f) => `${file} imports ${f}`);
}

function coreProblems(file: string, { files, packages }: Imports): string[] {
  return [
    ...packages.filter((p) => !p.startsWith('node:') && p !== 'aws-lambda').map((p) => `${file} imports the package ${p}`),
    ...files.filter((f) => partOf(f) !== 'core' && f !== 'providers/types.ts').map((f) => `${file} imports ${f}`),
  ];
}

describe('layout: what may import what', () => {
  it('finds the parts (the rules below would pass on an empty tree)', () => {
    const counts = { core: 0, runtime: 0, infra: 0, cli: 0, other: 0 };
    for (const file of CODE) counts[partOf(file)]++;
    expect(counts.core).toBeGreaterThan(15);
    expect(counts.runtime).toBeGreaterThan(50);
    expect(counts.infra).toBeGreaterThan(15);
    expect(counts.cli).toBeGreaterThan(10);
    expect(counts.other).toBe(0);
  });

  it('no runtime file (what a Lambda bundles) imports CDK code, the construct or the CLI', () => {
    const runtime = CODE.filter((f) => partOf(f) === 'runtime' || partOf(f) === 'core');
    expect(runtime.flatMap((file) => runtimeProblems(file, importsOf(file)))).toEqual([]);
  });

  it('the core knows no AWS SDK, no Lambda tooling, no adapter and no provider (only the plug-in contract)', () => {
    const core = CODE.filter((f) => partOf(f) === 'core');
    expect(core.flatMap((file) => coreProblems(file, importsOf(file)))).toEqual([]);
  });

  it('the construct (lib/) reaches providers only through their registries, never one provider folder', () => {
    const problems = CODE.filter((f) => f.startsWith('lib/')).flatMap((file) => constructProblems(file, importsOf(file)));
    expect(problems).toEqual([]);
  });

  it('catches seeded wrong imports (the rules are not empty)', () => {
    expect(constructProblems('lib/heygen-relay.ts', { files: ['providers/heygen/infra/source.ts'], packages: [] })).toHaveLength(
      1,
    );
    const registrar = 'providers/heygen/runtime/registrar.ts';
    expect(runtimeProblems(registrar, { files: [], packages: ['aws-cdk-lib/aws-lambda'] })).toHaveLength(1);
    expect(runtimeProblems(registrar, { files: ['providers/heygen/infra/source.ts'], packages: [] })).toHaveLength(1);
    expect(runtimeProblems(registrar, { files: ['lib/source.ts'], packages: [] })).toHaveLength(1);
    const ingress = 'functions/core/ingress.ts';
    expect(coreProblems(ingress, { files: ['functions/adapters/aws/sdk-config.ts'], packages: [] })).toHaveLength(1);
    expect(coreProblems(ingress, { files: ['providers/heygen/runtime/events.ts'], packages: [] })).toHaveLength(1);
    expect(coreProblems(ingress, { files: [], packages: ['@aws-sdk/client-dynamodb'] })).toHaveLength(1);
    // and it reads real imports: the HeyGen infrastructure does import CDK.
    expect(importsOf('providers/heygen/infra/source.ts').packages.map(packageName)).toContain('aws-cdk-lib');
  });
});

describe('layout: Lambda entries', () => {
  const entries = CODE.filter((f) => f.split('/').includes('entries'));

  it('every entry is registered once in lib/function-sources.ts, and every registered entry exists', () => {
    expect([...entries].sort()).toEqual(Object.values(FUNCTION_SOURCES).sort());
    for (const entry of Object.values(FUNCTION_SOURCES)) expect(existsSync(join(ROOT, entry)), entry).toBe(true);
  });

  it('only entries export a Lambda `handler`', () => {
    const exportsHandler = (file: string) =>
      /export (const|async function|function) handler\b/.test(readFileSync(join(ROOT, file), 'utf8'));
    const outside = CODE.filter((f) => !entries.includes(f) && partOf(f) !== 'cli' && exportsHandler(f));
    expect(outside).toEqual([]);
    for (const entry of entries) expect(exportsHandler(entry), entry).toBe(true);
  });
});

describe('layout: every function fits a screen', () => {
  it('no function in functions/, providers/, lib/ or bin/ passes 80 lines (generated code aside)', () => {
    const long = CODE.flatMap((file) => longFunctions(file, 80)).map((l) => `${l.where} ${l.name}: ${l.lines} lines`);
    expect(long).toEqual([]);
  });

  it('measures lines as a reader sees them (a seeded 81-line function is found, an 80-line one is not)', () => {
    const lines = (n: number) => `function f() {\n${'  x();\n'.repeat(n - 2)}}\n`;
    expect(longFunctionsOf(lines(81))).toEqual([81]);
    expect(longFunctionsOf(lines(80))).toEqual([]);
  });
});

function longFunctionsOf(text: string): number[] {
  const { mkdtempSync, writeFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const dir = mkdtempSync(join(ROOT, 'test', '.layout-'));
  try {
    writeFileSync(join(dir, 'f.ts'), text);
    return longFunctions(`test/${dir.split('/').pop()}/f.ts`, 80).map((l) => l.lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
