/**
 * Builds one function of the relay into `<outDir>/index.js` with ESBUILD_OPTIONS. Used by
 * `npm run build` (scripts/build-assets.ts, the assets shipped in the package) and by CDK's local
 * bundling in this repository (lib/function-assets.ts). esbuild is a devDependency: it is loaded
 * only when something is built, never from an installed package.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ESBUILD_OPTIONS, FUNCTIONS_DIR } from './bundling.js';
import { FUNCTION_SOURCES } from './function-sources.js';

/** The source of a function entry, e.g. `ingress` → <repository>/functions/entries/ingress.ts. */
export function functionSource(name: string): string {
  const entry = FUNCTION_SOURCES[name];
  if (!entry) throw new Error(`heygen-relay: "${name}" is not in FUNCTION_SOURCES (lib/function-sources.ts)`);
  return path.join(FUNCTIONS_DIR, '..', entry);
}

/**
 * Functions that park deliveries (functions/adapters/aws/parked-store.ts): they also get the S3
 * client as a file of its own, `s3-client.js`, loaded only when a delivery is parked.
 */
export const PARKING_FUNCTIONS: ReadonlySet<string> = new Set(['ingress', 'backfill']);

/** Bundles the entry `name` to `<outDir>/index.js` (synchronously: CDK's local bundling is synchronous). */
export function buildFunction(name: string, outDir: string): string {
  const esbuild = require('esbuild') as typeof import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, 'index.js');
  const build = (entry: string, out: string) =>
    esbuild.buildSync({
      ...ESBUILD_OPTIONS,
      entryPoints: [entry],
      outfile: out,
      // Paths esbuild writes into the output are relative to this; fixed, so a build is reproducible.
      absWorkingDir: path.join(FUNCTIONS_DIR, '..'),
      logLevel: 'warning',
    });
  build(functionSource(name), outfile);
  if (PARKING_FUNCTIONS.has(name))
    build(path.join(FUNCTIONS_DIR, 'adapters', 'aws', 's3-client-chunk.ts'), path.join(outDir, 's3-client.js'));
  return outfile;
}
