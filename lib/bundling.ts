import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { functionEntry } from './function-entry.js';

/**
 * esbuild alias (used by every function's bundling) that replaces the SDK's default credential
 * chain, `@aws-sdk/credential-provider-node` (environment, shared ini/credentials files and
 * profiles, SSO, login, credential_process, web identity, container and EC2 instance metadata, with
 * the nested STS/SSO clients they carry), by functions/adapters/aws/lambda-credentials: environment
 * credentials, which is what Lambda sets from the execution role, then the container credentials
 * endpoint. About 120 KB less bundle and a fifth less module init (BENCHMARKS.md). The path is
 * absolute: bundling must run with a local esbuild (it does when `esbuild` is installed), not in Docker.
 */
export const LAMBDA_CREDENTIALS_ALIAS = `@aws-sdk/credential-provider-node=${functionEntry('adapters/aws/lambda-credentials')}`;

/** Bundling of every function of the relay: minified, ESM-first resolution, AWS SDK bundled (Lambda credential chain). */
export const BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  mainFields: ['module', 'main'],
  sourceMap: false,
  target: 'node22',
  externalModules: [],
  esbuildArgs: { '--alias': [LAMBDA_CREDENTIALS_ALIAS] },
};
