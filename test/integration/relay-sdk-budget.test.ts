/**
 * The SDK's per-attempt budget, on the wire. The design says "SDK timeouts and retries are budgeted
 * to answer inside [the deadline], even when a dependency hangs": sdkClientConfig() sets a 2 s
 * requestTimeout and 3 attempts, so ONE hung attempt is abandoned after 2 s, well inside HeyGen's
 * 10 s (PutEvents: answered 503 rather than retried, see put-events-outcome.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDedupStore } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { eventId } from '../../providers/runtime.js';
import { type EmulatorStack, lambdaContext, loadIngressEntry } from '../support/emulator-stack.js';
import { relayStackWithSecret, stopFaultedRelay } from '../support/fault-relay.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerEventSignature, registerSensitive } from '../support/log-capture.js';
import { awsClientConfig } from '../support/moto.js';
import { FaultProxy } from './fault-proxy.js';

const secret = `whsec_${randomBytes(24).toString('hex')}`;
registerSensitive(secret, 'secret');
let stack: EmulatorStack;
let proxy: FaultProxy;

beforeAll(async () => {
  stack = await relayStackWithSecret(secret, 'ep_b');
  proxy = await new FaultProxy(stack.endpoint).start();
});

afterAll(() => stopFaultedRelay(proxy, stack));

describe('SDK per-attempt timeouts (functions/adapters/aws/sdk-config.ts)', () => {
  it("one hung PutEvents attempt is abandoned after requestTimeout and answered 503 at once (not retried: it may have stored the event); the provider's retry publishes it", async () => {
    const handler = await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint });
    const body = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v_${randomUUID()}` } });
    const hex = eventId('heygen', Buffer.from(body)).split(':').at(-1) as string;
    proxy.inject('one-hang', { target: /^AWSEvents\.PutEvents$/, bodyIncludes: hex, times: 1, fault: { kind: 'hang' } });
    const ev = functionUrlEvent(body, { secret });
    registerEventSignature(ev);
    const t0 = Date.now();
    const res = await handler(ev, lambdaContext());
    const elapsed = Date.now() - t0;
    // Retry like HeyGen: the event ends up published.
    if (res.statusCode !== 200) {
      const again = await handler(functionUrlEvent(body, { secret }), lambdaContext());
      expect(again.statusCode).toBe(200);
    }
    // With @smithy/node-http-handler 4.x, `requestTimeout` only logs a warning unless
    // `throwOnRequestTimeout: true` is set: the hung attempt would be held until the 8 s pipeline
    // budget. It is cut at 2 s; an attempt whose answer is lost may have stored the event, so the SDK
    // does not retry it (put-events-outcome.ts: a retry could put a second copy on the bus): 503 now,
    // and the provider's retry publishes it (docs/guarantees.md).
    expect({ status: res.statusCode, elapsedUnder4s: elapsed < 4_000 }).toEqual({ status: 503, elapsedUnder4s: true });
  }, 30_000);

  it('a conditional PutItem that landed but whose answer was lost, retried by the SDK, is recognised as our own claim', async () => {
    // A client as the ingress would have once requestTimeout throws (the fix for the test above).
    const client = new DynamoDBClient({
      ...awsClientConfig(proxy.endpoint),
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 1_000,
        requestTimeout: 1_000,
        throwOnRequestTimeout: true,
      } as never),
    });
    const table = `sdk-budget-${randomUUID().slice(0, 8)}`;
    await stack.clients.ddb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const store = new DynamoDedupStore(client, table, { windowSeconds: 3600, lockSeconds: 15 });
    const key = `heygen:${randomBytes(32).toString('hex')}`;
    proxy.inject('lost-answer', {
      target: /^DynamoDB_20120810\.PutItem$/,
      bodyIncludes: key,
      times: 1,
      fault: { kind: 'lose-answer' },
    });
    const result = await store.claim(key, 'owner-1');
    client.destroy();
    expect(proxy.hits('lost-answer')).toBe(1);
    // The SDK's second attempt fails the condition on the item its first attempt wrote; claim() sees
    // status IN_PROGRESS and answers in_flight (409) although `owner` in ALL_OLD is our own: the
    // delivery is then blocked for lockSeconds (15 s) of HeyGen retries.
    expect(result).toBe('claimed');
  }, 30_000);
});
