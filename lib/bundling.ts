import * as path from 'node:path';

/**
 * How every function of the relay is bundled, in esbuild's own option names: one CommonJS file,
 * minified, ESM-first resolution (so esbuild drops the SDK code a function does not use), the AWS
 * SDK bundled rather than taken from the runtime, and the SDK's default credential chain
 * (`@aws-sdk/credential-provider-node`: shared ini files and profiles, SSO, credential_process,
 * web identity and EC2 instance metadata, with the STS/SSO clients they carry) replaced by
 * functions/adapters/aws/lambda-credentials.ts: environment credentials, which is what Lambda sets
 * from the execution role, then the container credentials endpoint. About 120 KB less bundle and a
 * fifth less module init (BENCHMARKS.md).
 *
 * These options are used in two places only, through lib/function-build.ts: `npm run build`
 * (prebuilt assets shipped in the package) and, in this repository, CDK's local bundling of the
 * same entries. A consumer of the package never runs esbuild.
 */
export interface RelayEsbuildOptions {
  readonly bundle: true;
  readonly platform: 'node';
  readonly format: 'cjs';
  readonly target: string;
  readonly minify: boolean;
  readonly mainFields: string[];
  readonly sourcemap: boolean;
  readonly alias: Record<string, string>;
}

/** functions/ of the repository (the sources the assets are built from). */
export const FUNCTIONS_DIR = path.join(__dirname, '..', 'functions');

/** The module that replaces `@aws-sdk/credential-provider-node` in every bundle. */
export const LAMBDA_CREDENTIALS_MODULE = path.join(FUNCTIONS_DIR, 'adapters', 'aws', 'lambda-credentials.ts');

export const ESBUILD_OPTIONS: RelayEsbuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  sourcemap: false,
  alias: { '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS_MODULE },
};
