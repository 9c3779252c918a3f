/**
 * Builds bundles exactly as the construct's NodejsFunction does: esbuild with `BUNDLING` from
 * lib/bundling.ts mapped to esbuild options (bundle, platform node, cjs unless BUNDLING says
 * otherwise, `esbuildArgs` aliases), plus `metafile: true` so the contributors can be listed.
 * `{ standardSdk: true }` builds without the construct's credential-chain alias
 * (LAMBDA_CREDENTIALS_ALIAS): the AWS SDK as a plain import bundles it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BUNDLING, LAMBDA_CREDENTIALS_ALIAS } from '../../../lib/bundling';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT_DIR = join(ROOT, '.bench-tmp');

/** `esbuildArgs` `--alias` values (a string or a list of `from=to`) → esbuild's `alias` option. */
function aliasesFromEsbuildArgs(args: Record<string, unknown> | undefined, standardSdk: boolean) {
  const raw = args?.['--alias'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
  const alias: Record<string, string> = {};
  for (const item of list) {
    if (standardSdk && item === LAMBDA_CREDENTIALS_ALIAS) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`bench: cannot map esbuildArgs --alias ${item}`);
    alias[item.slice(0, eq)] = item.slice(eq + 1);
  }
  const otherArgs = Object.keys(args ?? {}).filter((k) => k !== '--alias');
  return { alias: Object.keys(alias).length > 0 ? alias : undefined, otherArgs };
}

/** BUNDLING → esbuild options, the way aws-lambda-nodejs passes them to the esbuild CLI. */
export function esbuildOptionsFromBundling(standardSdk = false): esbuild.BuildOptions & { unmapped: string[] } {
  const b = BUNDLING as Record<string, unknown>;
  const { alias, otherArgs } = aliasesFromEsbuildArgs(b.esbuildArgs as Record<string, unknown> | undefined, standardSdk);
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
    'esbuildArgs',
  ]);
  const unmapped = [
    ...Object.keys(b).filter((k) => !known.has(k) && b[k] !== undefined),
    ...otherArgs.map((k) => `esbuildArgs ${k}`),
  ];
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
    alias,
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
  /** Built without the credential-chain alias (a plain SDK import). */
  standardSdk: boolean;
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

export interface BuildVariant {
  /** Without the construct's credential-chain alias: the SDK as a plain import bundles it. */
  standardSdk?: boolean;
}

export async function buildBundle(
  name: string,
  entry: string,
  extra: esbuild.BuildOptions = {},
  variant: BuildVariant = {},
): Promise<BundleFigures> {
  mkdirSync(OUT_DIR, { recursive: true });
  const { unmapped, ...options } = esbuildOptionsFromBundling(variant.standardSdk ?? false);
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
    standardSdk: variant.standardSdk ?? false,
    outfile: relative(ROOT, outfile),
    bytes: content.length,
    gzipBytes: gzipSync(content, { level: 9 }).length,
    top,
  };
}
