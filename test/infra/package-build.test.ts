/**
 * The construct used from the built package (`npm run build` → dist/) bundles its functions from
 * the ES-module build (dist/functions-esm), so esbuild drops the SDK code they do not use, as it
 * does from the sources. (Bundled from the CommonJS build instead, the ingress came out about
 * 470 KB with twice the init time; measured once by hand, not by a checked-in command.) The test
 * fails if the package's bundle differs from the source bundle by 2 % or more.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
// Inside the repository, so esbuild resolves the packages from its node_modules.
const OUT = join(ROOT, '.build-test', `dist-${process.pid}`);
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface BundlingLike {
  esbuildArgs?: Record<string, string | boolean | string[]>;
}

/** Bundles `entry` the way the construct's BUNDLING says (minify, ESM-first, SDK bundled, the alias). */
async function bundle(entry: string, bundling: BundlingLike) {
  const aliases = [bundling.esbuildArgs?.['--alias'] ?? []].flat() as string[];
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
    alias: Object.fromEntries(aliases.map((a) => a.split('=') as [string, string])),
  });
  return { bytes: result.outputFiles[0]?.contents.byteLength ?? 0, inputs: Object.keys(result.metafile.inputs) };
}

beforeAll(() => {
  mkdirSync(OUT, { recursive: true });
  // The package's build (package.json "build"), into a scratch directory.
  execFileSync(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--outDir', OUT], { cwd: ROOT, stdio: 'pipe' });
  execFileSync(process.execPath, [TSC, '-p', 'tsconfig.functions-esm.json', '--outDir', join(OUT, 'functions-esm')], {
    cwd: ROOT,
    stdio: 'pipe',
  });
}, 120_000);

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe('Package: the construct from the built package', () => {
  it('points the functions and the credential alias at the ES-module build', () => {
    const { functionEntry } = require(join(OUT, 'lib', 'function-entry.js')) as { functionEntry(name: string): string };
    expect(functionEntry('ingress')).toBe(join(OUT, 'functions-esm', 'ingress.js'));
    const { BUNDLING } = require(join(OUT, 'lib', 'heygen-relay.js')) as { BUNDLING: BundlingLike };
    expect(BUNDLING.esbuildArgs?.['--alias']).toEqual([
      `@aws-sdk/credential-provider-node=${join(OUT, 'functions-esm', 'adapters', 'aws', 'lambda-credentials.js')}`,
    ]);
  });

  it('bundles the ingress as small as from the sources, without the default credential chain', async () => {
    const built = require(join(OUT, 'lib', 'heygen-relay.js')) as { BUNDLING: BundlingLike };
    const source = await import('../../lib/heygen-relay.js');
    const fromPackage = await bundle(join(OUT, 'functions-esm', 'ingress.js'), built.BUNDLING);
    const fromSource = await bundle(join(ROOT, 'functions', 'ingress.ts'), source.BUNDLING);
    expect(fromPackage.inputs.some((i) => i.includes('credential-provider-ini'))).toBe(false);
    // The same code either way; the JS build differs from the TS sources only in trivia.
    expect(Math.abs(fromPackage.bytes - fromSource.bytes) / fromSource.bytes).toBeLessThan(0.02);
  }, 60_000);
});
