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

describe('The ingress bundle', () => {
  it('holds no @aws-sdk/client-s3 nor the S3 middleware, and still the three clients it uses', async () => {
    const result = await esbuild.build({
      ...ESBUILD_OPTIONS,
      mainFields: [...ESBUILD_OPTIONS.mainFields],
      entryPoints: [join(ROOT, 'functions', 'entries', 'ingress.ts')],
      write: false,
      outfile: 'ingress.js',
      metafile: true,
      absWorkingDir: ROOT,
      logLevel: 'silent',
    });
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
});
