import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The entry file of a Lambda function in functions/: the TypeScript source in this repository, or
 * the compiled JavaScript when the construct is used from the built package (dist/).
 */
export function functionEntry(name: string): string {
  const base = path.join(__dirname, '..', 'functions', name);
  return existsSync(`${base}.ts`) ? `${base}.ts` : `${base}.js`;
}
