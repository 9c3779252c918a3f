/**
 * What the ingress's cold start compiles: its bundle, built with the functions' own esbuild options
 * (lib/bundling.ts), must not carry the S3 client: parking loads it from a file of its own the
 * first time a delivery is parked (functions/adapters/aws/parked-store.ts, lib/function-build.ts).
 * BENCHMARKS.md measures the init time this buys.
 */
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ESBUILD_OPTIONS } from '../../lib/bundling.js';

const ROOT = join(__dirname, '..', '..');

/** `entry` built as the functions are (unminified when `minify` is false, to read the output). */
function build(entry: string, minify = true) {
  return esbuild.build({
    ...ESBUILD_OPTIONS,
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    minify,
    entryPoints: [join(ROOT, entry)],
    write: false,
    outfile: 'out.js',
    metafile: true,
    absWorkingDir: ROOT,
    logLevel: 'silent',
  });
}

/** Modules esbuild wrapped in a lazy initializer (`__esm`) in an unminified output. */
function lazyInitialized(code: string): string[] {
  return [...code.matchAll(/__esm\(\{\s+"([^"]+)"\(\)/g)].map((m) => m[1] as string);
}

describe('The ingress bundle', () => {
  it('holds no @aws-sdk/client-s3 nor the S3 middleware, and still the three clients it uses', async () => {
    const result = await build('functions/entries/ingress.ts');
    const output = Object.values(result.metafile.outputs)[0];
    const inputs = Object.entries(output?.inputs ?? {})
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([k]) => k);
    const s3 = inputs.filter((p) =>
      /node_modules\/@aws-sdk\/(client-s3|middleware-sdk-s3|middleware-flexible-checksums)\//.test(p),
    );
    expect(s3).toEqual([]);
    for (const client of ['client-dynamodb', 'client-eventbridge', 'client-secrets-manager'])
      expect(inputs.some((p) => p.includes(`node_modules/@aws-sdk/${client}/`))).toBe(true);
  }, 60_000);

  // An import() or require() that esbuild follows makes it wrap the imported module and everything
  // that module depends on in lazy initializers; reached from the relay's own code, that was most of
  // the SDK's core (shared with the clients), about a tenth of the ingress's module init
  // (BENCHMARKS.md, "Cold start"). The SDK wraps some of its own modules (event streams); the ingress
  // must wrap no more than a bundle that only imports its three clients, built the same way.
  it("reaches no module through an import() or require() that esbuild follows from the relay's own code", async () => {
    const result = await build('functions/entries/ingress.ts');
    const followed = Object.entries(result.metafile.inputs).flatMap(([from, input]) =>
      input.imports
        .filter((i) => !i.external && i.kind !== 'import-statement' && !from.includes('node_modules/'))
        .map((i) => `${from} -> ${i.path} (${i.kind})`),
    );
    expect(followed).toEqual([]);
  }, 60_000);

  it('wraps no more modules in lazy initializers than a bundle of only its three SDK clients', async () => {
    const [ingress, clients] = await Promise.all([
      build('functions/entries/ingress.ts', false),
      build('scripts/bench/entries/baseline.ts', false),
    ]);
    const wrapped = lazyInitialized(ingress.outputFiles[0]?.text ?? '');
    const clientsWrapped = new Set(lazyInitialized(clients.outputFiles[0]?.text ?? ''));
    expect(clientsWrapped.size).toBeGreaterThan(0); // the pattern still matches esbuild's output
    expect(wrapped.filter((m) => !clientsWrapped.has(m))).toEqual([]);
  }, 60_000);

  // middy's core imports node:stream/web at load (for streamed responses): about 3 % of the ingress's
  // module init. The ingress handler uses Powertools without middy (functions/wiring/ingress-handler.ts).
  it('loads neither middy nor node:stream/web', async () => {
    const result = await build('functions/entries/ingress.ts');
    const inputs = Object.entries(result.metafile.inputs);
    expect(inputs.map(([k]) => k).filter((k) => k.includes('node_modules/@middy/'))).toEqual([]);
    const webStreams = inputs.filter(([, v]) => v.imports.some((i) => i.path === 'node:stream/web' || i.path === 'stream/web'));
    expect(webStreams.map(([k]) => k)).toEqual([]);
  }, 60_000);
});
