import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { RelayConfigError } from '../../lib/config.js';
import { HeyGenSource, StandardWebhooksSource } from '../../providers/infra.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';
import { relayProviders, synthRelay } from '../support/synth.js';

describe('Construct: a Standard Webhooks source', () => {
  const { template, stack } = synthRelay({
    relay: {
      sources: [
        new HeyGenSource(),
        new StandardWebhooksSource({ timestampTolerance: Duration.seconds(120) }),
        new StandardWebhooksSource({ id: 'replicate', typeField: 'status', typePrefix: 'prediction', dataField: null }),
      ],
    },
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

  it('writes a body rule into the route as options, only where one is set', () => {
    const routes = relayProviders(template).filter((r) => r.name === 'standard-webhooks');
    expect(routes.map((r) => [r.path, (r as { options?: unknown }).options])).toEqual([
      ['/standard-webhooks', undefined],
      ['/replicate', { typeField: 'status', typePrefix: 'prediction', dataField: null }],
    ]);
    expect(routes[1]).toMatchObject({ source: 'replicate', timestampToleranceSeconds: 300, dedupMode: 'claim' });
  });

  it.each([
    [{ typeField: 'event.type' }, /^replicate\.typeField must be a top-level field name .*got "event\.type"$/],
    [{ dataField: '' }, /^replicate\.dataField must be a top-level field name, or null for the whole body/],
    [{ typeField: 'status', dataField: 'status' }, /^replicate\.typeField and dataField name the same field "status"/],
    [{ typePrefix: 'a..b' }, /^replicate\.typePrefix must be/],
    [{ subjectKind: 'pre diction' }, /^replicate\.subjectKind must be/],
  ])('refuses a bad body rule at synth: %j', (rule, message) => {
    expect(() => new StandardWebhooksSource({ id: 'replicate', ...rule })).toThrowError(RelayConfigError);
    expect(() => new StandardWebhooksSource({ id: 'replicate', ...rule })).toThrowError(message);
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
  // Not the libraries' example secret: that one is refused as a key (a published example).
  const SECRET = 'whsec_YnVuZGxlLXRlc3Qta2V5LTI0LWJ5dGVzLWFiYw==';

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

  /** What the construct writes for a Replicate source (checked above). */
  const REPLICATE_ROUTE = { path: '/replicate', options: { typeField: 'status', typePrefix: 'prediction', dataField: null } };

  async function deliver(
    secret: string,
    delivery: { body?: string; route?: { path: string; options?: unknown } } = {},
  ): Promise<{ statusCode: number; body: string }> {
    const body = delivery.body ?? JSON.stringify({ type: 'video.completed', data: { id: 'v1' } });
    const route = delivery.route ?? { path: '/standard-webhooks' };
    const id = 'msg_bundle';
    const ts = Math.floor(Date.now() / 1000);
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
    const event = {
      rawPath: route.path,
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
          { name: 'standard-webhooks', secretId: secretArn, timestampToleranceSeconds: 300, ...route },
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

  it('reads a Replicate prediction by the route options: past normalize (no bus: 5xx); without its status 400', async () => {
    const prediction = { id: 'p1', status: 'succeeded', output: 'https://example.test/o.mp4' };
    const read = await deliver(SECRET, { body: JSON.stringify(prediction), route: REPLICATE_ROUTE });
    expect(read.statusCode).toBeGreaterThanOrEqual(500);
    const noStatus = await deliver(SECRET, {
      body: JSON.stringify({ ...prediction, status: undefined }),
      route: REPLICATE_ROUTE,
    });
    expect([noStatus.statusCode, JSON.parse(noStatus.body).error]).toEqual([
      400,
      { code: 'missing_event_type', message: 'Body has no "status" string (the event type)' },
    ]);
    // The same prediction on a route without options: the spec's shape is required.
    const plain = await deliver(SECRET, { body: JSON.stringify(prediction), route: { path: '/replicate' } });
    expect([plain.statusCode, JSON.parse(plain.body).error.code]).toEqual([400, 'missing_event_type']);
  }, 60_000);
});
