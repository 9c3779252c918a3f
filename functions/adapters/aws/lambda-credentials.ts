/**
 * What the relay's Lambda bundles use in place of `@aws-sdk/credential-provider-node` (the SDK's
 * default credential chain): the bundling options alias that package to this module (see
 * `LAMBDA_CREDENTIALS_ALIAS` in lib/bundling.ts), so every SDK client in the bundle resolves
 * its credentials here when none are passed to it.
 *
 * Lambda hands a Node.js function its execution role's credentials in `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; environments that refresh credentials instead
 * (SnapStart-style restores, containers) set `AWS_CONTAINER_CREDENTIALS_FULL_URI` /
 * `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`. Those are the two sources kept here, in the default
 * chain's order and with the SDK's own providers. Left out: shared config/credentials files and
 * profiles (`AWS_PROFILE`), SSO, `credential_process`, web identity token files, the EC2 instance
 * metadata service: none of them exist in Lambda, and the code that reads them (with the nested
 * STS/SSO clients it carries) was ~80 KB of the bundle and about a fifth of its module init.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from '@smithy/core';
import { fromContainerMetadata } from '@smithy/credential-provider-imds';

// The container providers are imported statically, not with `import()`: a dynamic import that esbuild
// follows makes it wrap the imported package and everything it depends on (most of the SDK's core,
// shared with the clients) in lazy initializers: about a tenth of the ingress's module init in an
// interleaved comparison made with this change (test/unit/ingress-bundle.test.ts keeps it out). Their
// module code is small; they run only when used.
// The names of `@smithy/credential-provider-imds`'s ENV_CMDS_FULL_URI / ENV_CMDS_RELATIVE_URI
// (test/unit/lambda-credentials.test.ts holds them equal).
export const ENV_CMDS_FULL_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
export const ENV_CMDS_RELATIVE_URI = 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI';

type Credentials = Awaited<ReturnType<ReturnType<typeof fromEnv>>>;
type Provider = (options?: { forceRefresh?: boolean }) => Promise<Credentials>;

/** What the SDK passes to `credentialDefaultProvider` (the client's resolved config); only these are read. */
export interface LambdaCredentialsInit {
  readonly logger?: { debug?: (...content: unknown[]) => void; warn?: (...content: unknown[]) => void };
  /** Container credentials: per-attempt timeout (ms) and retries, as in the SDK's providers. */
  readonly timeout?: number;
  readonly maxRetries?: number;
}

export class LambdaCredentialsError extends Error {
  /** Read by the SDK's provider chains: there is nothing further to try. */
  readonly tryNextLink = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialsProviderError';
  }
}

function containerCredentialsConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env[ENV_CMDS_FULL_URI] || env[ENV_CMDS_RELATIVE_URI]);
}

/** The credentials chain: environment variables, then the container endpoint when one is configured. */
function lambdaChain(init: LambdaCredentialsInit): Provider {
  const env = fromEnv(init as Parameters<typeof fromEnv>[0]);
  return async () => {
    try {
      return await env();
    } catch (envError) {
      if (!containerCredentialsConfigured(process.env)) {
        const profile = process.env.AWS_PROFILE ? ` (AWS_PROFILE is set, but this bundle does not read profiles)` : '';
        throw new LambdaCredentialsError(
          `No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them from the execution role), or ${ENV_CMDS_FULL_URI} / ${ENV_CMDS_RELATIVE_URI}${profile}. This bundle was built for Lambda and carries only the environment and container credential providers, not the SDK's full default chain.`,
          { cause: envError },
        );
      }
    }
    // The SDK's own order for container credentials: the HTTP provider, then the container metadata provider.
    try {
      return await fromHttp(init as Parameters<typeof fromHttp>[0])();
    } catch (httpError) {
      init.logger?.debug?.('lambda-credentials: fromHttp failed, trying fromContainerMetadata', httpError);
      return (await fromContainerMetadata(init as Parameters<typeof fromContainerMetadata>[0])()) as Credentials;
    }
  };
}

/**
 * Drop-in for `defaultProvider` of `@aws-sdk/credential-provider-node`: same signature, memoized the
 * way the SDK memoizes identities (cached; refreshed within 5 minutes of `expiration`, when set).
 */
export function defaultProvider(init: LambdaCredentialsInit = {}): Provider {
  return memoizeIdentityProvider(lambdaChain(init), isIdentityExpired, doesIdentityRequireRefresh) as Provider;
}

/** Also exported by `@aws-sdk/credential-provider-node`; same meaning. */
export const credentialsWillNeedRefresh = (credentials?: Credentials) => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials?: Credentials) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
