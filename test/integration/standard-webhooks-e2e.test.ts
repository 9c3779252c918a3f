/**
 * A Replicate-shaped Standard Webhooks sender end to end on the moto emulator, with the real SDK v3
 * clients and the real Lambda entry (functions/entries/ingress.ts), provisioned from the synthesized template
 * of a relay whose source reads Replicate's prediction object (`typeField: 'status'`, `typePrefix:
 * 'prediction'`, `dataField: null`) and a queue routed on `prediction.succeeded`: the route options
 * travel through RELAY_PROVIDERS, the signed prediction reaches the routed queue with its type,
 * subject and the prediction as data exactly, another status only the default queue, and a body
 * without its status is a 400 that publishes nothing.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { HeyGenSource, StandardWebhooksSource } from '../../providers/infra.js';
import {
  drainQueue,
  type EmulatorStack,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  provisionFromTemplate,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerSensitive } from '../support/log-capture.js';
import { pythonSign } from '../support/python-standard-webhooks.js';

const PREDICTION = readFileSync(join(__dirname, '..', 'events', 'standard-webhooks', 'replicate-prediction.json'), 'utf8');
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
registerSensitive(SECRET, 'secret');

let stack: EmulatorStack;
let handler: IngressHandler;

function signed(body: string): APIGatewayProxyEventV2 {
  const id = `msg_${randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  const key = Buffer.from(SECRET.replace(/^whsec_/, ''), 'base64');
  const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
  return functionUrlEvent(body, {
    path: '/replicate',
    signature: null,
    timestamp: null,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature },
  });
}

beforeAll(async () => {
  const template = synthesizeRelayTemplate(
    {
      relay: {
        // The emulator's provisioning expects the default HeyGen source next to it.
        sources: [
          new HeyGenSource(),
          new StandardWebhooksSource({ id: 'replicate', typeField: 'status', typePrefix: 'prediction', dataField: null }),
        ],
        queues: [{ name: 'renders', eventTypes: ['prediction.succeeded'] }],
      },
    },
    'ReplicateUnderTest',
  );
  stack = await provisionFromTemplate(template, inject('motoEndpoint'));
  const route = (JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as { source?: string; secretId: string }[]).find(
    (r) => r.source === 'replicate',
  );
  await stack.clients.sm.send(
    new PutSecretValueCommand({ SecretId: route?.secretId, SecretString: JSON.stringify({ secret: SECRET }) }),
  );
  handler = await loadIngressEntry(stack);
}, 120_000);
afterAll(() => stack?.destroy());

const queue = (name: string) =>
  Object.values(stack.queues).find((q) => q.logicalId.includes(name) && !/Dlq/.test(q.logicalId))?.url ?? '';

describe('Replicate-shaped Standard Webhooks deliveries on the emulator, provisioned from the synthesized template', () => {
  it('publishes a signed prediction as prediction.succeeded with the prediction as data exactly, routed by that type', async () => {
    const succeeded = await handler(signed(PREDICTION), lambdaContext());
    expect([succeeded.statusCode, JSON.parse(succeeded.body ?? '{}').status]).toEqual([200, 'published']);
    const processing = JSON.stringify({ ...JSON.parse(PREDICTION), status: 'processing', output: null });
    expect((await handler(signed(processing), lambdaContext())).statusCode).toBe(200);

    const read = async (name: string) =>
      (await drainQueue(stack.clients.sqs, queue(name), 3)).map((m) => {
        const ev = JSON.parse(m.Body ?? '{}') as { source: string; 'detail-type': string; detail: unknown };
        return { source: ev.source, detailType: ev['detail-type'], event: assertRelayEvent(ev.detail) };
      });
    const renders = await read('Routerenders');
    expect(renders.map((r) => [r.source, r.detailType, r.event.source, r.event.subject])).toEqual([
      ['standard-webhooks', 'prediction.succeeded', 'replicate', { kind: 'prediction', id: 'ufawqhfynnddngldkgtslldrkq' }],
    ]);
    expect(JSON.stringify(renders[0]?.event.data)).toBe(JSON.stringify(JSON.parse(PREDICTION)));
    expect((await read('Default')).map((r) => r.detailType).sort()).toEqual(['prediction.processing', 'prediction.succeeded']);
  });

  it('answers a signed prediction without its status 400 missing_event_type and publishes nothing', async () => {
    const body = JSON.stringify({ ...JSON.parse(PREDICTION), status: undefined });
    const res = await handler(signed(body), lambdaContext());
    expect([res.statusCode, JSON.parse(res.body ?? '{}').error]).toEqual([
      400,
      { code: 'missing_event_type', message: 'Body has no "status" string (the event type)' },
    ]);
    expect(await drainQueue(stack.clients.sqs, queue('Default'), 2)).toEqual([]);
  });
});

describe('The real Lambda entry against the Python libraries (issue 20, findings 2 and 3)', () => {
  const pythonSigned = (lib: 'standardwebhooks' | 'svix', secret: string, body: Buffer) => {
    const [s] = pythonSign([{ lib, secret, id: `msg_${randomUUID()}`, timestamp: Math.floor(Date.now() / 1000), body }]);
    return functionUrlEvent(body, {
      path: '/replicate',
      signature: null,
      timestamp: null,
      base64: true,
      headers: s?.headers ?? {},
    });
  };

  it('finding 2: svix-* headers signed by the svix package are verified over the raw bytes', async () => {
    const body = Buffer.from(JSON.stringify({ ...JSON.parse(PREDICTION), id: 'p-svix', status: 'starting' }));
    const res = await handler(pythonSigned('svix', SECRET, body), lambdaContext());
    expect([res.statusCode, JSON.parse(res.body ?? '{}').status]).toEqual([200, 'published']);
  });

  it('finding 3: the spec libraries’ published example secret, once stored, is no key: a delivery signed with it is refused', async () => {
    const example = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const route = (JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as { source?: string; secretId: string }[]).find(
      (r) => r.source === 'replicate',
    );
    await stack.clients.sm.send(
      new PutSecretValueCommand({ SecretId: route?.secretId, SecretString: JSON.stringify({ secret: example }) }),
    );
    const body = Buffer.from(JSON.stringify({ ...JSON.parse(PREDICTION), id: 'p-example', status: 'canceled' }));
    // The first miss re-reads the secret (rate-limited to one a second): wait out the limit.
    await new Promise((r) => setTimeout(r, 1_100));
    const res = await handler(pythonSigned('standardwebhooks', example, body), lambdaContext());
    // The re-read finds AWSCURRENT refused; AWSPREVIOUS (the secret before, inside its grace period)
    // is the only key: 401, and again on the next request; the previous secret still verifies.
    expect([res.statusCode, JSON.parse(res.body ?? '{}').error?.code]).toEqual([401, 'invalid_signature']);
    const next = await handler(pythonSigned('standardwebhooks', example, body), lambdaContext());
    expect([next.statusCode, JSON.parse(next.body ?? '{}').error?.code]).toEqual([401, 'invalid_signature']);
    const previous = await handler(pythonSigned('standardwebhooks', SECRET, body), lambdaContext());
    expect([previous.statusCode, JSON.parse(previous.body ?? '{}').status]).toEqual([200, 'published']);
  });
});
