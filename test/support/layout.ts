/**
 * Reads the source tree the way docs/design.md's layout rules talk about it: which folder a file
 * belongs to, what it imports, and how long its functions are. Used by test/unit/layout.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(__dirname, '../..');

/** Every .ts source (not .d.ts) under the given folders, as repository-relative posix paths. */
export function sourceFiles(...folders: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const folder of folders) walk(folder);
  return out.sort();
}

/** What kind of code a file is, by where it lives (docs/design.md, "Project layout"). */
export type Part = 'core' | 'runtime' | 'infra' | 'cli' | 'other';

export function partOf(file: string): Part {
  if (file.startsWith('functions/core/')) return 'core';
  if (file.startsWith('functions/')) return 'runtime';
  if (/^providers\/[^/]+\/runtime\//.test(file)) return 'runtime';
  if (['providers/runtime.ts', 'providers/types.ts', 'providers/normalize.ts', 'providers/media.ts'].includes(file))
    return 'runtime';
  if (file.startsWith('lib/') || /^providers\/[^/]+\/infra\//.test(file) || file === 'providers/infra.ts') return 'infra';
  if (file.startsWith('bin/')) return 'cli';
  return 'other';
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
}

/** A file's imports: relative ones resolved to repository paths (`.ts`), packages as written. */
export function importsOf(file: string): { files: string[]; packages: string[] } {
  const files: string[] = [];
  const packages: string[] = [];
  const add = (spec: string) => {
    if (!spec.startsWith('.')) {
      packages.push(spec);
      return;
    }
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec))
      .split('\\')
      .join('/');
    files.push(target.replace(/\.js$/, '.ts'));
  };
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return { files, packages };
}

/** The package an import names (`aws-cdk-lib/aws-s3` → `aws-cdk-lib`, `@aws-sdk/client-s3` stays). */
export function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

export interface LongFunction {
  readonly where: string;
  readonly name: string;
  readonly lines: number;
}

/** Functions (declarations, methods, constructors, arrows with a body) longer than `max` lines. */
export function longFunctions(file: string, max: number): LongFunction[] {
  const source = parse(file);
  const out: LongFunction[] = [];
  const nameOf = (node: ts.SignatureDeclaration): string => {
    if (ts.isConstructorDeclaration(node))
      return `${(node.parent as ts.ClassDeclaration).name?.getText() ?? '<class>'} constructor`;
    if (node.name) return node.name.getText();
    const parent = node.parent;
    if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)))
      return parent.name.getText();
    return '<anonymous>';
  };
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) out.push({ where: `${file}:${start + 1}`, name: nameOf(node), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
