/**
 * Builds bundles exactly as the relay's functions are built (lib/function-build.ts): esbuild with
 * ESBUILD_OPTIONS from lib/bundling.ts, plus `metafile: true` so the contributors can be listed.
 * `{ standardSdk: true }` builds without the credential-chain alias: the AWS SDK as a plain import
 * bundles it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { ESBUILD_OPTIONS } from '../../../lib/bundling';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT_DIR = join(ROOT, '.bench-tmp');

/** The functions' esbuild options; without the credential-chain alias when `standardSdk`. */
export function relayEsbuildOptions(standardSdk = false): esbuild.BuildOptions {
  const { alias, ...rest } = ESBUILD_OPTIONS;
  return { ...rest, mainFields: [...rest.mainFields], ...(standardSdk ? {} : { alias: { ...alias } }) };
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
  const options = relayEsbuildOptions(variant.standardSdk ?? false);
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
