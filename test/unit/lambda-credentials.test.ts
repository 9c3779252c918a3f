import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as imds from '@smithy/credential-provider-imds';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultProvider,
  ENV_CMDS_FULL_URI,
  ENV_CMDS_RELATIVE_URI,
  LambdaCredentialsError,
} from '../../functions/adapters/aws/lambda-credentials.js';

/**
 * The credential chain the Lambda bundles use in place of @aws-sdk/credential-provider-node
 * (lib/bundling.ts LAMBDA_CREDENTIALS_ALIAS): environment credentials, then the container
 * credentials endpoint, memoized like the SDK's own chain.
 */
const VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_PROFILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
] as const;
let saved: Record<string, string | undefined>;

beforeEach(() => {
  saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
  for (const k of VARS) delete process.env[k];
});
afterEach(() => {
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('lambda-credentials: environment credentials (what Lambda sets from the execution role)', () => {
  it('returns AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    process.env.AWS_SESSION_TOKEN = 'env-token';
    const creds = await defaultProvider()();
    expect(creds).toMatchObject({ accessKeyId: 'ASIAENV', secretAccessKey: 'env-secret', sessionToken: 'env-token' });
  });

  it('memoizes credentials without an expiration (as the SDK chain does)', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAFIRST';
    process.env.AWS_SECRET_ACCESS_KEY = 's1';
    const provider = defaultProvider();
    const first = await provider();
    process.env.AWS_ACCESS_KEY_ID = 'ASIASECOND';
    expect(await provider()).toBe(first);
    expect((await provider({ forceRefresh: true })).accessKeyId).toBe('ASIASECOND');
  });

  it('refreshes credentials that expire within 5 minutes', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAOLD';
    process.env.AWS_SECRET_ACCESS_KEY = 's1';
    process.env.AWS_CREDENTIAL_EXPIRATION = new Date(Date.now() + 60_000).toISOString();
    const provider = defaultProvider();
    expect((await provider()).accessKeyId).toBe('ASIAOLD');
    process.env.AWS_ACCESS_KEY_ID = 'ASIANEW';
    process.env.AWS_CREDENTIAL_EXPIRATION = new Date(Date.now() + 3_600_000).toISOString();
    expect((await provider()).accessKeyId).toBe('ASIANEW');
    process.env.AWS_ACCESS_KEY_ID = 'ASIALATER';
    expect((await provider()).accessKeyId).toBe('ASIANEW');
  });

  it('is what an SDK client resolves when given as its credentialDefaultProvider', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIACLIENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'client-secret';
    const client = new SecretsManagerClient({ region: 'us-east-1', credentialDefaultProvider: defaultProvider });
    try {
      const creds = await client.config.credentials();
      expect(creds).toMatchObject({ accessKeyId: 'ASIACLIENT', secretAccessKey: 'client-secret' });
    } finally {
      client.destroy();
    }
  });

  it('fails with a clear error when there are neither environment nor container credentials', async () => {
    process.env.AWS_PROFILE = 'dev';
    const err = await defaultProvider()().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LambdaCredentialsError);
    expect(err).toMatchObject({ name: 'CredentialsProviderError', tryNextLink: false });
    const message = (err as Error).message;
    expect(message).toContain('AWS_ACCESS_KEY_ID');
    expect(message).toContain('AWS_CONTAINER_CREDENTIALS_FULL_URI');
    expect(message).toContain('AWS_PROFILE is set');
    expect(message).toContain('built for Lambda');
  });
});

describe('lambda-credentials: container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)', () => {
  let server: Server;
  let url: string;
  const requests: IncomingHttpHeaders[] = [];
  const expiration = new Date(Date.now() + 3_600_000).toISOString();

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 'c-secret', Token: 'c-token', Expiration: expiration }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/2021-04-23/credentials`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('is used when there are no environment credentials, with the authorization token', async () => {
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = url;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'auth-token-1';
    requests.length = 0;
    const creds = await defaultProvider()();
    expect(creds).toMatchObject({ accessKeyId: 'ASIACONTAINER', secretAccessKey: 'c-secret', sessionToken: 'c-token' });
    expect(creds.expiration?.toISOString()).toBe(expiration);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.authorization).toBe('auth-token-1');
  });

  it('comes after environment credentials (the SDK chain order)', async () => {
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = url;
    process.env.AWS_ACCESS_KEY_ID = 'ASIAENVFIRST';
    process.env.AWS_SECRET_ACCESS_KEY = 's';
    requests.length = 0;
    expect((await defaultProvider()()).accessKeyId).toBe('ASIAENVFIRST');
    expect(requests).toHaveLength(0);
  });
});

describe('container credential variables', () => {
  it('are the names the SDK reads', () => {
    expect(ENV_CMDS_FULL_URI).toBe(imds.ENV_CMDS_FULL_URI);
    expect(ENV_CMDS_RELATIVE_URI).toBe(imds.ENV_CMDS_RELATIVE_URI);
  });
});
