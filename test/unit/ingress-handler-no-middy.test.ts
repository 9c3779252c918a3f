/**
 * The ingress handler without middy (functions/wiring/ingress-handler.ts): Powertools' Logger and
 * Metrics used by hand must do per invocation what the middy pipeline did (injectLambdaContext with
 * resetKeys, logMetrics with the cold-start metric, the correlation id, JSON errors, the answer
 * before the Lambda timeout), on success, on error and on a hang.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BadRequestError } from '../../functions/core/errors.js';
import type { RelayResponse } from '../../functions/core/http.js';
import type { IngressPipeline } from '../../functions/core/ingress.js';
import { ANSWER_BEFORE_TIMEOUT_MS, createIngressHandler } from '../../functions/wiring/ingress-handler.js';
import { functionUrlEvent } from '../support/heygen.js';

function context(remainingMs = 10_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'RelayIngress',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:RelayIngress',
    memoryLimitInMB: '256',
    awsRequestId: 'lambda-request-id',
    logGroupName: '/aws/lambda/RelayIngress',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function setUp(pipeline: IngressPipeline) {
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger });
  const spies = {
    addContext: vi.spyOn(logger, 'addContext'),
    correlation: vi.spyOn(logger, 'setCorrelationId'),
    resetKeys: vi.spyOn(logger, 'resetKeys'),
    error: vi.spyOn(logger, 'error'),
    coldStart: vi.spyOn(metrics, 'captureColdStartMetric').mockImplementation(() => {}),
    publish: vi.spyOn(metrics, 'publishStoredMetrics').mockReturnValue(metrics),
  };
  return { handler: createIngressHandler({ pipeline, maxBodyBytes: 1024, logger, metrics }), spies };
}

const ok: RelayResponse = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };

afterEach(() => {
  vi.useRealTimers();
});

describe('The ingress handler without middy', () => {
  it('adds the Lambda context, the cold-start metric and the request id, then publishes the metrics and resets the keys once', async () => {
    const { handler, spies } = setUp(async () => ok);
    const event = functionUrlEvent('{}');
    const res = await handler(event, context());
    expect(res).toMatchObject({ statusCode: 200, body: '{"ok":true}' });
    expect(spies.addContext).toHaveBeenCalledTimes(1);
    expect(spies.coldStart).toHaveBeenCalledWith('RelayIngress');
    expect(spies.correlation).toHaveBeenCalledWith(event.requestContext.requestId);
    expect(spies.publish).toHaveBeenCalledTimes(1);
    expect(spies.resetKeys).toHaveBeenCalledTimes(1);
  });

  it('answers what escapes the core as JSON (4xx as it is, anything else a generic 500) and still publishes and resets', async () => {
    const refused = setUp(async () => {
      throw new BadRequestError('invalid_json', 'Body is not JSON');
    });
    const res400 = await refused.handler(functionUrlEvent('{}'), context());
    expect(res400.statusCode).toBe(400);
    expect(JSON.parse(res400.body as string)).toMatchObject({ error: { code: 'invalid_json' } });
    expect(refused.spies.error).not.toHaveBeenCalled();

    const broken = setUp(async () => {
      throw new Error('socket hang up at 10.0.0.1');
    });
    const res500 = await broken.handler(functionUrlEvent('{}'), context());
    expect(res500.statusCode).toBe(500);
    expect(res500.body).not.toContain('10.0.0.1');
    expect(broken.spies.error).toHaveBeenCalledWith('Unhandled error', expect.objectContaining({ error: 'Error' }));
    for (const s of [refused.spies, broken.spies]) {
      expect(s.publish).toHaveBeenCalledTimes(1);
      expect(s.resetKeys).toHaveBeenCalledTimes(1);
    }
  });

  it('answers a JSON 500 and still resets the keys when flushing the metrics throws (as the middy pipeline did), never a failed invocation', async () => {
    // Metrics.publishStoredMetrics throws e.g. on an EMF key collision; middy's logMetrics threw in
    // `after`, its onError chain answered the JSON 500 and injectLambdaContext reset the keys. A
    // handler that rejects is a Lambda error: the Function URL answers a bare 502, no JSON body.
    for (const pipeline of [
      async () => ok,
      async (): Promise<RelayResponse> => {
        throw new BadRequestError('invalid_json', 'Body is not JSON');
      },
    ]) {
      const { handler, spies } = setUp(pipeline);
      spies.publish.mockImplementationOnce(() => {
        throw new Error('EMF key collision on "source"');
      });
      const res = await handler(functionUrlEvent('{}'), context());
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body as string)).toMatchObject({ error: { code: 'internal_error' } });
      expect(res.body).not.toContain('collision');
      expect(spies.resetKeys).toHaveBeenCalledTimes(1);
    }
  });

  it(`answers a JSON 500 ${ANSWER_BEFORE_TIMEOUT_MS} ms before the Lambda timeout when the core hangs, with the metrics published`, async () => {
    vi.useFakeTimers();
    const { handler, spies } = setUp(() => new Promise<RelayResponse>(() => {}));
    const answer = handler(functionUrlEvent('{}'), context(1_000));
    await vi.advanceTimersByTimeAsync(1_000 - ANSWER_BEFORE_TIMEOUT_MS - 1);
    expect(spies.publish).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    const res = await answer;
    expect(res.statusCode).toBe(500);
    expect(spies.error).toHaveBeenCalledWith('Unhandled error', expect.objectContaining({ error: 'TimeoutError' }));
    expect(spies.publish).toHaveBeenCalledTimes(1);
  });

  it('leaves no timer behind after an answer (the next invocation is not cut short)', async () => {
    vi.useFakeTimers();
    const { handler } = setUp(async () => ok);
    await handler(functionUrlEvent('{}'), context(1_000));
    expect(vi.getTimerCount()).toBe(0);
  });
});
