import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { HeyGenSource, StandardWebhooksSource } from '../../lib/sources.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';
import { relayProviders, synthRelay } from '../support/synth.js';

describe('Construct: a Standard Webhooks source', () => {
  const { template, stack } = synthRelay({
    relay: { sources: [new HeyGenSource(), new StandardWebhooksSource({ timestampTolerance: Duration.seconds(120) })] },
  });

  it('routes /standard-webhooks with its own empty-safe secret, claim dedup and its tolerance; no registrar', () => {
    const route = relayProviders(template).find((r) => r.name === 'standard-webhooks');
    expect(route).toMatchObject({ path: '/standard-webhooks', timestampToleranceSeconds: 120, dedupMode: 'claim' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('Standard Webhooks signing secret'),
      SecretString: '{"secret":null}',
    });
    const fns = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(fns.filter((id) => /StandardWebhooks/.test(id))).toEqual([]);
  });

  it('outputs its URL and secret ARN under names of its own (the HeyGen ones keep theirs)', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'StandardWebhooksWebhookUrl',
        'StandardWebhooksSigningSecretArn',
        'HeyGenWebhookUrl',
        'SigningSecretArn',
      ]),
    );
    expect(stack.relay.boundSources['standard-webhooks']?.webhookUrl).toBeDefined();
  });

  it('refuses a tolerance over an hour (the signed timestamp is the replay defence)', () => {
    expect(() => new StandardWebhooksSource({ timestampTolerance: Duration.hours(2) })).toThrowError(/at most an hour/);
  });
});

/**
 * The ingress bundle as `cdk synth` builds it (esbuild) carries the standardwebhooks library and
 * runs it: in a fresh node without node_modules, against moto's Secrets Manager, a delivery signed
 * with another secret is 401 invalid_signature and one signed with the stored secret passes
 * verification (then 503: there is no bus to publish to, which is the point where verification is over).
 */
describe('Bundling: the ingress with a Standard Webhooks route', () => {
  let bundle: string;
  let dir: string;
  let secretArn: string;
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  beforeAll(async () => {
    const synth = synthRelay({ relay: { sources: [new StandardWebhooksSource()] } }, { bundle: true });
    dir = synth.app.synth().directory;
    const fn = Object.values(synth.template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f.Properties).includes('RELAY_PROVIDERS'),
    );
    const hash = JSON.stringify(fn?.Properties.Code).match(/([0-9a-f]{64})\.zip/)?.[1];
    bundle = join(dir, `asset.${hash}`, 'index.js');
    const sm = new SecretsManagerClient(awsClientConfig(inject('motoEndpoint')));
    secretArn = (
      await sm.send(
        new CreateSecretCommand({
          Name: `sw-bundle-${randomUUID().slice(0, 8)}`,
          SecretString: JSON.stringify({ secret: SECRET }),
        }),
      )
    ).ARN as string;
    sm.destroy();
  }, 180_000);

  async function deliver(secret: string): Promise<{ statusCode: number; body: string }> {
    const body = JSON.stringify({ type: 'video.completed', data: { id: 'v1' } });
    const id = 'msg_bundle';
    const ts = Math.floor(Date.now() / 1000);
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
    const event = {
      rawPath: '/standard-webhooks',
      headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature },
      body,
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' }, requestId: 'r' },
    };
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler(${JSON.stringify(event)}, { awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => 10000 })
        .then((r) => { process.stdout.write('\\nRESULT ' + JSON.stringify(r) + '\\n'); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: MOTO_REGION,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_ENDPOINT_URL: inject('motoEndpoint'),
        RELAY_PROVIDERS: JSON.stringify([
          { name: 'standard-webhooks', path: '/standard-webhooks', secretId: secretArn, timestampToleranceSeconds: 300 },
        ]),
        EVENT_BUS_NAME: `no-such-bus-${randomUUID().slice(0, 8)}`,
        DEDUP_ENABLED: 'false',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    return JSON.parse(line?.slice('RESULT '.length) ?? '{}');
  }

  it('verifies with the bundled library: another secret 401, the stored one gets past verification', async () => {
    const wrong = await deliver('whsec_b3RoZXItc2VjcmV0LWZvci10aGUtdGFibGUtMTIzNA==');
    expect([wrong.statusCode, JSON.parse(wrong.body).error.code]).toEqual([401, 'invalid_signature']);
    const right = await deliver(SECRET);
    expect(right.statusCode).not.toBe(401);
    expect(right.statusCode).toBeGreaterThanOrEqual(500);
  }, 60_000);
});
