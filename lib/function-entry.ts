import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The entry file of a Lambda function (or a module the bundling aliases) in functions/:
 * - in this repository, the TypeScript source;
 * - from the built package (dist/), the ES-module build in dist/functions-esm (`npm run build`
 *   emits it with tsconfig.functions-esm.json). esbuild can drop the SDK code a function does not
 *   use only from ES modules: bundled from the CommonJS build in dist/functions, the ingress came
 *   out about half again as large and twice as slow to initialise (measured once by hand);
 * - failing both, the CommonJS build.
 */
export function functionEntry(name: string): string {
  const root = path.join(__dirname, '..');
  const source = path.join(root, 'functions', `${name}.ts`);
  if (existsSync(source)) return source;
  const esm = path.join(root, 'functions-esm', `${name}.js`);
  return existsSync(esm) ? esm : path.join(root, 'functions', `${name}.js`);
}
