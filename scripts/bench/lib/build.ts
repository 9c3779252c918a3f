/**
 * Builds bundles exactly as the construct's NodejsFunction does: esbuild with `BUNDLING` from
 * lib/heygen-relay.ts mapped to esbuild options (bundle, platform node, cjs unless BUNDLING says
 * otherwise), plus `metafile: true` so the contributors can be listed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BUNDLING } from '../../../lib/heygen-relay';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT_DIR = join(ROOT, '.bench-tmp');

/** BUNDLING → esbuild options, the way aws-lambda-nodejs passes them to the esbuild CLI. */
export function esbuildOptionsFromBundling(): esbuild.BuildOptions & { unmapped: string[] } {
  const b = BUNDLING as Record<string, unknown>;
  const known = new Set([
    'minify',
    'mainFields',
    'sourceMap',
    'target',
    'externalModules',
    'format',
    'define',
    'keepNames',
    'loader',
    'tsconfig',
    'banner',
    'footer',
    'charset',
    'logLevel',
  ]);
  const unmapped = Object.keys(b).filter((k) => !known.has(k) && b[k] !== undefined);
  const format = b.format === 'esm' ? 'esm' : 'cjs';
  return {
    bundle: true,
    platform: 'node',
    format,
    minify: Boolean(b.minify),
    mainFields: (b.mainFields as string[] | undefined) ?? undefined,
    sourcemap: Boolean(b.sourceMap),
    target: (b.target as string | undefined) ?? 'node22',
    external: (b.externalModules as string[] | undefined) ?? ['@aws-sdk/*'],
    define: b.define as Record<string, string> | undefined,
    keepNames: Boolean(b.keepNames),
    loader: b.loader as Record<string, esbuild.Loader> | undefined,
    charset: b.charset as esbuild.Charset | undefined,
    banner: b.banner ? { js: b.banner as string } : undefined,
    footer: b.footer ? { js: b.footer as string } : undefined,
    unmapped,
  };
}

export interface Contributor {
  name: string;
  bytes: number;
  share: number;
}

export interface BundleFigures {
  name: string;
  entry: string;
  outfile: string;
  bytes: number;
  gzipBytes: number;
  top: Contributor[];
}

function packageOf(inputPath: string): string {
  const i = inputPath.lastIndexOf('node_modules/');
  if (i < 0)
    return inputPath.startsWith('functions/')
      ? `(project) ${inputPath.split('/').slice(0, 2).join('/')}`
      : `(project) ${inputPath}`;
  const rest = inputPath.slice(i + 'node_modules/'.length).split('/');
  return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? inputPath);
}

export async function buildBundle(name: string, entry: string, extra: esbuild.BuildOptions = {}): Promise<BundleFigures> {
  mkdirSync(OUT_DIR, { recursive: true });
  const { unmapped, ...options } = esbuildOptionsFromBundling();
  if (unmapped.length > 0) console.warn(`bench: BUNDLING keys not mapped to esbuild: ${unmapped.join(', ')}`);
  const outfile = join(OUT_DIR, `${name}.js`);
  const result = await esbuild.build({
    ...options,
    ...extra,
    entryPoints: [entry],
    outfile,
    metafile: true,
    absWorkingDir: ROOT,
    logLevel: 'warning',
  });
  const output = Object.values(result.metafile.outputs)[0];
  if (!output) throw new Error(`no output for ${entry}`);
  const byPkg = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
    byPkg.set(packageOf(input), (byPkg.get(packageOf(input)) ?? 0) + bytesInOutput);
  const content = readFileSync(outfile);
  const top = [...byPkg.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([n, bytes]) => ({ name: n, bytes, share: bytes / content.length }));
  return {
    name,
    entry: relative(ROOT, entry),
    outfile: relative(ROOT, outfile),
    bytes: content.length,
    gzipBytes: gzipSync(content, { level: 9 }).length,
    top,
  };
}
