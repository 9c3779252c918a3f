/**
 * Several sources end to end on the moto emulator, with the real SDK v3 clients and the real Lambda
 * entry (functions/entries/ingress.ts), provisioned from the synthesized template of a relay with two HeyGen
 * accounts, JoggAI and a Standard Webhooks source (test/support/sources.ts), plus a queue routed by
 * source: each route verifies with its own secret, every event lands in the default queue with its
 * provider and source, the routed queue gets only the second HeyGen account's, and a delivery signed
 * with one account's secret is refused on the other's route.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertRelayEvent } from '../../functions/core/envelope.js';
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
import { joggaiEvent, joggaiSample } from '../support/joggai.js';
import { registerSensitive } from '../support/log-capture.js';
import { manySources } from '../support/sources.js';

let stack: EmulatorStack;
let handler: IngressHandler;
const secrets: Record<string, string> = {
  heygen: `whsec_${randomBytes(24).toString('hex')}`,
  'heygen-staging': `whsec_${randomBytes(24).toString('hex')}`,
  joggai: `whsec_${randomBytes(24).toString('hex')}`,
  replicate: `whsec_${randomBytes(24).toString('base64')}`,
};
for (const s of Object.values(secrets)) registerSensitive(s, 'secret');

interface Route {
  name: string;
  source?: string;
  path: string;
  secretId: string;
}

function standardWebhooksEvent(body: string, secret: string, path: string): APIGatewayProxyEventV2 {
  const id = `msg_${randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
  return functionUrlEvent(body, {
    path,
    signature: null,
    timestamp: null,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature },
  });
}

beforeAll(async () => {
  const template = synthesizeRelayTemplate(
    { relay: { sources: manySources(), queues: [{ name: 'staging', sources: ['heygen-staging'] }] } },
    'SourcesUnderTest',
  );
  stack = await provisionFromTemplate(template, inject('motoEndpoint'));
  const routes = JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as Route[];
  for (const r of routes)
    await stack.clients.sm.send(
      new PutSecretValueCommand({ SecretId: r.secretId, SecretString: JSON.stringify({ secret: secrets[r.source ?? r.name] }) }),
    );
  handler = await loadIngressEntry(stack);
}, 120_000);
afterAll(() => stack?.destroy());

describe('several sources on the emulator, provisioned from the synthesized template', () => {
  it('gives every source its own route and secret', () => {
    const routes = JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as Route[];
    expect(routes.map((r) => r.source ?? r.name)).toEqual(['heygen', 'heygen-staging', 'joggai', 'replicate']);
    expect(new Set(routes.map((r) => r.secretId)).size).toBe(4);
  });

  it('publishes each source with its provider and source; the queue routed by source gets only its events', async () => {
    const heygenBody = (v: string) => JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: v } });
    const sent = [
      functionUrlEvent(heygenBody(`v-${randomUUID()}`), { secret: secrets.heygen, path: '/heygen' }),
      functionUrlEvent(heygenBody(`v-${randomUUID()}`), { secret: secrets['heygen-staging'], path: '/heygen-staging' }),
      joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: secrets.joggai }),
      standardWebhooksEvent(
        JSON.stringify({ type: 'prediction.completed', data: { id: 'p1' } }),
        secrets.replicate ?? '',
        '/replicate',
      ),
    ];
    for (const ev of sent) {
      const res = await handler(ev, lambdaContext());
      expect([res.statusCode, JSON.parse(res.body ?? '{}').status]).toEqual([200, 'published']);
    }
    const queue = (name: string) =>
      Object.values(stack.queues).find((q) => q.logicalId.includes(name) && !/Dlq/.test(q.logicalId));
    const read = async (name: string) =>
      (await drainQueue(stack.clients.sqs, queue(name)?.url ?? '', 3)).map((m) => {
        const ev = JSON.parse(m.Body ?? '{}') as { source: string; detail: unknown };
        const e = assertRelayEvent(ev.detail);
        return [ev.source, e.provider, e.source];
      });
    expect((await read('Default')).sort()).toEqual(
      [
        ['heygen', 'heygen', 'heygen'],
        ['heygen', 'heygen', 'heygen-staging'],
        ['joggai', 'joggai', 'joggai'],
        ['standard-webhooks', 'standard-webhooks', 'replicate'],
      ].sort(),
    );
    expect(await read('Routestaging')).toEqual([['heygen', 'heygen', 'heygen-staging']]);
  });

  it("refuses one HeyGen account's signature on the other's route", async () => {
    const body = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `x-${randomUUID()}` } });
    const res = await handler(functionUrlEvent(body, { secret: secrets.heygen, path: '/heygen-staging' }), lambdaContext());
    expect([res.statusCode, JSON.parse(res.body ?? '{}').error.code]).toEqual([401, 'invalid_signature']);
  });
});
