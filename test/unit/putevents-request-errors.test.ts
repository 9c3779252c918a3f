/**
 * Issue 20, finding 6: PutEvents refused as a whole request (HTTP 4xx, not an entry error). An
 * answer that can never succeed for the same entry (`ValidationException`, a 413) used to be
 * answered 503 forever, so the provider retried until its horizon and the event was lost; it is now
 * parked (202 `parked`, counted as Parked, which is alarmed). Transient or fixable answers
 * (throttling, 5xx, the role's permissions, credentials) stay 503.
 *
 * The real EventBridgeClient runs (serialization, signing, the SDK's error deserializer and its
 * retry strategy); only its HTTP handler answers in-process, with the bytes EventBridge sends.
 */
import { Readable } from 'node:stream';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgePublisher, permanentRequestError } from '../../functions/adapters/aws/eventbridge-publisher.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { answerBudgetMs } from '../../providers/runtime.js';
import { captureTelemetry, MemoryParkedStore } from '../support/aws-mocks.js';
import { sampleBody } from '../support/heygen.js';
import { heygenRoute } from '../support/heygen-ingress.js';

const SECRET = 'whsec_putevents_request_0123456789abcdef';

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A real EventBridgeClient whose every HTTP request gets `answer` (counted). */
function busAnswering(answer: Answer) {
  let calls = 0;
  const requestHandler = {
    async handle() {
      calls++;
      return {
        response: {
          statusCode: answer.status,
          reason: 'x',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'r', ...answer.headers },
          body: Readable.from([Buffer.from(answer.body)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  const client = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts: 2,
    retryStrategy: undefined,
    requestHandler: requestHandler as never,
  });
  return { client, calls: () => calls };
}

function relayOver(client: EventBridgeClient) {
  const telemetry = captureTelemetry();
  const parked = new MemoryParkedStore();
  const pipeline = createIngress({
    maxBodyBytes: 256 * 1024,
    parked,
    publisher: new EventBridgePublisher(client, 'relay-bus', { backoffMs: 1 }),
    telemetry,
    routes: [
      heygenRoute(SECRET, answerBudgetMs(heygen), new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'claim' })),
    ],
  });
  const deliver = () => {
    const body = Buffer.from(sampleBody('avatar_video.success'));
    return pipeline({
      method: 'POST',
      path: '/heygen',
      headers: { 'heygen-signature': sign(SECRET, body) },
      body,
      requestId: 'r1',
    });
  };
  return { deliver, parked, telemetry };
}

const validation: Answer = {
  status: 400,
  headers: { 'x-amzn-errortype': 'ValidationException' },
  body: JSON.stringify({
    __type: 'ValidationException',
    message: "1 validation error detected: Value at 'entries.1.member.detail' failed to satisfy constraint",
  }),
};

describe('Finding 6: every PutEvents answer that can never succeed parks the delivery', () => {
  it('parks a request-level ValidationException (202 parked, busCode kept, counted, not in the answer)', async () => {
    const bus = busAnswering(validation);
    const { deliver, parked, telemetry } = relayOver(bus.client);
    const res = await deliver();
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'parked', reason: 'rejected_by_bus' });
    expect(res.body).not.toContain('ValidationException');
    const [kept] = [...parked.byId.values()];
    expect(kept?.busCode).toBe('ValidationException');
    expect(telemetry.counts).toContainEqual({ metric: 'Parked', dimensions: { provider: 'heygen', reason: 'rejected_by_bus' } });
    // Not retried: a second identical request would be refused the same way.
    expect(bus.calls()).toBe(1);
  });

  it('parks a 413 (request too large for the service), whatever the error is called', async () => {
    const bus = busAnswering({
      status: 413,
      body: '<html>Request Entity Too Large</html>',
      headers: { 'content-type': 'text/html' },
    });
    const { deliver, parked } = relayOver(bus.client);
    const res = await deliver();
    expect(res.statusCode).toBe(202);
    expect([...parked.byId.values()][0]?.busCode).toBe('RequestEntityTooLarge');
  });

  it.each([
    ['ThrottlingException', 400],
    ['InternalException', 500],
    ['AccessDeniedException', 400],
    ['UnrecognizedClientException', 400],
    ['ServiceUnavailable', 503],
  ])('answers %s (transient, or fixable by us) with 503 and parks nothing', async (code, status) => {
    const bus = busAnswering({
      status,
      headers: { 'x-amzn-errortype': code },
      body: JSON.stringify({ __type: code, message: 'no' }),
    });
    const { deliver, parked } = relayOver(bus.client);
    const res = await deliver();
    expect(res.statusCode).toBe(503);
    expect(parked.byId.size).toBe(0);
  });

  it('classifies by the error the SDK throws, not by its message', () => {
    expect(permanentRequestError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(
      'ValidationException',
    );
    expect(permanentRequestError({ name: 'Error', $metadata: { httpStatusCode: 413 } })).toBe('RequestEntityTooLarge');
    expect(permanentRequestError(new Error('ValidationException'))).toBeUndefined();
    expect(permanentRequestError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBeUndefined();
    expect(permanentRequestError(undefined)).toBeUndefined();
  });
});
