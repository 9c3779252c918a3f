/**
 * The relay's Lambda functions and where their code comes from. Adding a function is one line in
 * FUNCTION_SOURCES (lib/function-sources.ts) plus `code: functionCode('<name>'), handler: FUNCTION_HANDLER` where it is created.
 *
 * - In the installed package, each entry was bundled at pack time (`npm run build`, the construct's
 *   own esbuild options) into dist/assets/<name>/index.js, and the function's code is that
 *   directory: a consumer's `cdk synth` needs neither esbuild nor Docker.
 * - In this repository (the TypeScript sources are present), the same build runs as CDK's local
 *   bundling of the same entry, so `cdk synth` and `cdk deploy` here produce what the package ships
 *   (test/package/install.test.ts compares them byte for byte). Docker is never used.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildFunction, functionSource } from './function-build.js';

export { FUNCTION_ENTRIES, FUNCTION_SOURCES } from './function-sources.js';

import { FUNCTION_ENTRIES } from './function-sources.js';

/** The handler of every relay function: its bundle is index.js and exports `handler`. */
export const FUNCTION_HANDLER = 'index.handler';

/**
 * What the relay's request-driven functions (ingress, archiver) share: the entry's code, Node 22 on
 * ARM, JSON logs without Lambda's START/END/REPORT lines (system level WARN).
 */
export function jsonLoggingFunctionProps(entry: string) {
  return {
    code: functionCode(entry),
    handler: FUNCTION_HANDLER,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    loggingFormat: lambda.LoggingFormat.JSON,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
  };
}

/** dist/assets/<name> in the package (lib/ is compiled to dist/lib). */
export function prebuiltAssetDir(name: string): string {
  return path.join(__dirname, '..', 'assets', name);
}

/** The Lambda code of the entry `name`: its prebuilt asset in the package, a local build in the repository. */
export function functionCode(name: string): lambda.Code {
  if (!FUNCTION_ENTRIES.includes(name))
    throw new Error(`heygen-relay: "${name}" is not in FUNCTION_SOURCES (lib/function-sources.ts)`);
  const source = functionSource(name);
  if (existsSync(source)) {
    return lambda.Code.fromAsset(path.dirname(source), {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never used: local bundling always succeeds or throws (Docker is not an option here).
        image: DockerImage.fromRegistry('heygen-relay-bundles-locally'),
        // Part of CDK's bundling cache key (tryBundle is not), so each entry gets its own bundle.
        command: ['build', name],
        local: {
          tryBundle(outputDir: string): boolean {
            buildFunction(name, outputDir);
            return true;
          },
        },
      },
    });
  }
  const asset = prebuiltAssetDir(name);
  if (!existsSync(path.join(asset, 'index.js')))
    throw new Error(
      `heygen-relay: the prebuilt function asset ${asset}/index.js is missing; the package was packed without \`npm run build\``,
    );
  return lambda.Code.fromAsset(asset);
}
