/**
 * `npm run build` (and so `npm pack`, through prepack), after tsc: bundles every entry of
 * FUNCTION_ENTRIES with the relay's esbuild options into dist/assets/<name>/index.js, the assets
 * the installed construct deploys (lib/function-assets.ts). Prints each bundle's size.
 */
import { rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FUNCTION_ENTRIES } from '../lib/function-assets';
import { buildFunction } from '../lib/function-build';

const root = join(__dirname, '..');
const out = join(root, 'dist', 'assets');
rmSync(out, { recursive: true, force: true });
for (const name of FUNCTION_ENTRIES) {
  const file = buildFunction(name, join(out, name));
  process.stdout.write(`${relative(root, file)}  ${(statSync(file).size / 1024).toFixed(1)} KB\n`);
}
