import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeJoggAi } from '../fakes/joggai-api.js';
import { registerSensitive } from '../support/log-capture.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';
import { motoStateTable } from '../support/state-table.js';
import { synthRelay } from '../support/synth.js';

/**
 * One `cdk synth`-style bundling (esbuild, SDK bundled) of a stack with both providers: the
 * ingress, HeyGen's registrar and rotation, and the JoggAI registrar. Each bundle is then loaded
 * in a fresh node with only the environment the construct sets (no node_modules on the path).
 */
let assemblyDir: string;
let template: Template;

function bundleOf(match: (fn: { Properties?: Record<string, unknown> }) => boolean): string {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find(match);
  const assetHash = JSON.stringify(fn?.Properties.Code).match(/([0-9a-f]{64})\.zip/)?.[1];
  expect(assetHash).toBeTruthy();
  const bundle = join(assemblyDir, `asset.${assetHash}`, 'index.js');
  expect(existsSync(bundle)).toBe(true);
  const bytes = statSync(bundle).size;
  expect(bytes).toBeGreaterThan(50_000);
  expect(bytes).toBeLessThan(2_000_000);
  return bundle;
}

beforeAll(() => {
  const synth = synthRelay({ relay: { joggai: {} } }, { bundle: true });
  assemblyDir = synth.app.synth().directory;
  template = synth.template;
}, 120_000);

describe('Bundling: the ingress as `cdk synth` builds it (esbuild, SDK bundled)', () => {
  it('produces one self-contained index.js that loads and answers an OPTIONS probe', () => {
    const bundle = bundleOf((f) => JSON.stringify(f.Properties).includes('RELAY_PROVIDERS'));
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler({ rawPath: '/heygen', headers: {}, body: '', isBase64Encoded: false,
        requestContext: { http: { method: 'OPTIONS' }, requestId: 'r' } },
        { awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => 10000 })
        .then((r) => { process.stdout.write(JSON.stringify(r)); });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: assemblyDir,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        RELAY_PROVIDERS: JSON.stringify([
          {
            name: 'heygen',
            path: '/heygen',
            secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
            timestampToleranceSeconds: 300,
          },
        ]),
        EVENT_BUS_NAME: 'bus',
        DEDUP_TABLE_NAME: 'table',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    const result = JSON.parse(out.slice(out.indexOf('{"statusCode"')));
    expect(result.statusCode).toBe(200);
  });
});

describe("Bundling: every function carries the Lambda credential chain, not the SDK's default chain", () => {
  it('the ingress, both registrars, the rotation, the backfill and the temporary-route sweeper alias @aws-sdk/credential-provider-node to lambda-credentials', () => {
    const ours = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
      String(f.Properties?.Description).startsWith('heygen-relay'),
    );
    expect(ours).toHaveLength(6);
    for (const fn of ours) {
      const code = readFileSync(
        bundleOf((f) => f === fn),
        'utf8',
      );
      // lambda-credentials' own error text is in, the default chain's providers are not.
      expect(code).toContain('carries only the environment and container credential providers');
      expect(code).not.toContain('@aws-sdk/credential-provider-node - defaultProvider');
      expect(code).not.toContain('@aws-sdk/credential-provider-ini - fromIni');
      expect(code).not.toContain('@aws-sdk/credential-provider-sso');
      expect(code).not.toContain('sts.amazonaws.com');
    }
  });
});

describe('Bundling: the JoggAI registrar bundle loads and runs against moto and the JoggAI fake', () => {
  const fake = new FakeJoggAi();
  let sm: SecretsManagerClient;
  let signingArn: string;
  let apiKeyArn: string;
  let stateTable: string;
  const relayUrl = 'https://bundle-test.lambda-url.us-east-1.on.aws/joggai';

  beforeAll(async () => {
    await fake.start();
    registerSensitive(fake.apiKey, 'api_key');
    sm = new SecretsManagerClient(awsClientConfig(inject('motoEndpoint')));
    const id = randomUUID().slice(0, 8);
    signingArn = (await sm.send(new CreateSecretCommand({ Name: `bundle-${id}-jogg-signing`, SecretString: '{"secret":null}' })))
      .ARN as string;
    apiKeyArn = (await sm.send(new CreateSecretCommand({ Name: `bundle-${id}-jogg-apikey`, SecretString: '{"apiKey":null}' })))
      .ARN as string;
    stateTable = (await motoStateTable('bundle')).name; // the one-writer lease
  });
  afterAll(async () => {
    for (const e of fake.endpoints.values()) registerSensitive(e.secret, 'secret');
    sm?.destroy();
    await fake.stop();
  });

  /**
   * Invokes the bundle's handler once in a fresh node (asynchronously: moto and the fake answer from
   * this process), with environment credentials unless `credentials` gives other variables.
   */
  async function invoke(
    bundle: string,
    event: unknown,
    credentials: Record<string, string> = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
  ): Promise<{ result: Record<string, unknown>; lines: string[]; stderr: string }> {
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description).includes('JoggAI webhook endpoint'),
    );
    if (!fn) throw new Error('no JoggAI registrar function in the template');
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler(${JSON.stringify(event)}, { awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => 60000 })
        .then((r) => { process.stdout.write('\\nRESULT ' + JSON.stringify(r) + '\\n'); });`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: assemblyDir,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: MOTO_REGION,
        AWS_ENDPOINT_URL: inject('motoEndpoint'),
        ...credentials,
        // What the construct sets, with the references stood in for by moto's ARNs and the fake.
        POWERTOOLS_SERVICE_NAME: String(env.POWERTOOLS_SERVICE_NAME),
        POWERTOOLS_METRICS_NAMESPACE: String(env.POWERTOOLS_METRICS_NAMESPACE),
        EVENTS: String(env.EVENTS),
        SIGNING_SECRET_ARN: signingArn,
        API_KEY_SECRET_ARN: apiKeyArn,
        ENDPOINT_URL: relayUrl,
        JOGGAI_API_URL: fake.url,
        STATE_TABLE_NAME: stateTable,
        LEASE_NAME: `joggai:${signingArn}`,
      },
      encoding: 'utf8',
    });
    const at = stdout.indexOf('\nRESULT ');
    expect(at).toBeGreaterThanOrEqual(0);
    const lines = `${stdout.slice(0, at)}\n${stderr}`.split('\n').filter((l) => l.startsWith('{'));
    return { result: JSON.parse(stdout.slice(at + 8)), lines, stderr };
  }

  it('reports a missing API key (one line naming the secret), then registers once the key is set', async () => {
    const bundle = bundleOf((f) => String(f.Properties?.Description).includes('JoggAI webhook endpoint'));
    const missing = await invoke(bundle, {});
    expect(missing.result).toMatchObject({ action: 'reconcile', outcome: 'missing_api_key' });
    expect(missing.lines.filter((l) => l.includes(apiKeyArn) && l.includes('"WARN"'))).toHaveLength(1);
    const emf = missing.lines.map((l) => JSON.parse(l)).find((j) => j._aws);
    expect(emf).toMatchObject({ provider: 'joggai', Outcome: 'missing_api_key', RegistrarRuns: 1 });
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('HeyGenRelay');

    await sm.send(new PutSecretValueCommand({ SecretId: apiKeyArn, SecretString: JSON.stringify({ apiKey: fake.apiKey }) }));
    const created = await invoke(bundle, {});
    expect(created.result).toMatchObject({ outcome: 'changed' });
    const [ep] = [...fake.endpoints.values()];
    expect(ep?.url).toBe(relayUrl);
    // By stage: moto's read without one serves a stale default version after a stage move (pinned in the contract test).
    const stored = await sm.send(new GetSecretValueCommand({ SecretId: signingArn, VersionStage: 'AWSCURRENT' }));
    expect(JSON.parse(stored.SecretString as string)).toEqual({ secret: ep?.secret, endpointId: ep?.endpoint_id, url: relayUrl });
    expect(created.lines.join('\n')).not.toContain(ep?.secret);
  });

  it('resolves credentials from the container endpoint when the environment has none (SnapStart-style)', async () => {
    const bundle = bundleOf((f) => String(f.Properties?.Description).includes('JoggAI webhook endpoint'));
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('content-type', 'application/json');
      const Expiration = new Date(Date.now() + 3_600_000).toISOString();
      res.end(JSON.stringify({ AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 'testing', Token: 'testing', Expiration }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const run = await invoke(
        bundle,
        {},
        {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/2021-04-23/credentials`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
        },
      );
      // The registrar read both secrets from moto (signed with the container credentials) and found the endpoint in place.
      expect(run.result).toMatchObject({ action: 'reconcile', outcome: 'in_sync' });
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen[0]?.authorization).toBe('container-auth-token');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("without any credentials, fails with the Lambda credential chain's own error", async () => {
    const bundle = bundleOf((f) => String(f.Properties?.Description).includes('JoggAI webhook endpoint'));
    const run = await invoke(bundle, {}, {}).catch((err: { stdout?: string; stderr?: string }) => ({
      result: null,
      lines: [],
      stderr: `${err.stdout ?? ''}\n${err.stderr ?? ''}`,
    }));
    const text = `${run.lines.join('\n')}\n${run.stderr}`;
    expect(text).toContain('No AWS credentials');
    expect(text).toContain('built for Lambda');
  });
});
