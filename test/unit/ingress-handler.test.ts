import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localContext } from '../../functions/adapters/local/http-server.js';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { dedupKey } from '../../functions/core/ingress.js';
import { buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { functionUrlEvent, sampleBody } from '../support/heygen.js';

const SECRET = 'whsec_test_primary_0123456789abcdef';
const OTHER = 'whsec_test_other_fedcba9876543210';
const ctx = (): Context => localContext('test');

function errorBody(res: { body?: string }) {
  const parsed = JSON.parse(res.body ?? '');
  expect(parsed).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  return parsed.error as { code: string; message: string };
}

describe('Function: ingress handler (AWS adapters, mocked SDK)', () => {
  const aws = new MockAws();
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET, endpointId: 'ep_1' }) };
  });
  afterEach(() => aws.reset());

  it('publishes exactly one event for a valid delivery and answers 200', async () => {
    // Prepare
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    // Act
    const res = await handler(functionUrlEvent(body, { secret: SECRET, headers: { 'heygen-event-id': 'evt_1' } }), ctx());
    // Assess
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body ?? '')).toEqual({ status: 'published', id: dedupKey('heygen', Buffer.from(body)) });
    expect(aws.published).toHaveLength(1);
    const entry = aws.published[0];
    expect(entry).toMatchObject({ EventBusName: 'relay-bus', Source: 'heygen', DetailType: 'avatar_video.success' });
    const detail = assertRelayEvent(JSON.parse(entry?.Detail ?? ''));
    expect(detail).toMatchObject({
      version: '1',
      provider: 'heygen',
      type: 'avatar_video.success',
      subject: { kind: 'video', id: '8f7c2b1e0d5a4c3b9e6f1a2d3c4b5a69' },
      callbackId: 'order-1042',
      deliveryId: 'evt_1',
      data: JSON.parse(body).event_data,
    });
  });

  it('answers 200 and publishes nothing more for the same body within the dedup window', async () => {
    const { handler, telemetry } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.fail');
    const first = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    const second = await handler(functionUrlEvent(body, { secret: SECRET, headers: { 'heygen-event-id': 'retry' } }), ctx());
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(JSON.parse(second.body ?? '').status).toBe('duplicate');
    expect(aws.published).toHaveLength(1);
    expect(telemetry.counts.filter((c) => c.metric === 'Duplicate')).toHaveLength(1);
  });

  it('publishes again once the dedup window has passed', async () => {
    const { handler } = buildAwsHandler(aws, { windowSeconds: 1 });
    const body = sampleBody('avatar_video.fail');
    await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    const item = aws.items.get(dedupKey('heygen', Buffer.from(body)));
    if (item) item.expiresAt = { N: String(Math.floor(Date.now() / 1000) - 5) };
    const again = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(JSON.parse(again.body ?? '').status).toBe('published');
    expect(aws.published).toHaveLength(2);
  });

  it('answers 409 for the same body while the first is still in flight', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    aws.eb.on(PutEventsCommand).callsFake(async (input) => {
      await gate;
      aws.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'ev' }] };
    });
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('video_translate.success');
    const first = handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    await new Promise((r) => setTimeout(r, 20));
    const second = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    release();
    expect(second.statusCode).toBe(409);
    expect(errorBody(second).code).toBe('in_flight');
    expect((await first).statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it.each([
    ['missing', { signature: null }, 'missing_signature'],
    ['wrong', { signature: 'a'.repeat(64) }, 'invalid_signature'],
    ['made with another secret', { secret: OTHER }, 'invalid_signature'],
    ['of the wrong length', { signature: 'abcd' }, 'invalid_signature'],
    ['not hex', { signature: 'z'.repeat(64) }, 'invalid_signature'],
  ] as const)('answers 401 and publishes nothing for a %s signature', async (_name, options, code) => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), options), ctx());
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe(code);
    expect(aws.published).toHaveLength(0);
    expect(aws.ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('accepts an uppercase hex signature (same bytes)', async () => {
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const { sign } = await import('../../functions/core/verify.js');
    const res = await handler(functionUrlEvent(body, { signature: sign(SECRET, body).toUpperCase() }), ctx());
    expect(res.statusCode).toBe(200);
  });

  it('answers 401 when Heygen-Timestamp is outside the tolerance, and ignores it when the tolerance is 0', async () => {
    const stale = Math.floor(Date.now() / 1000) - 301;
    const strict = buildAwsHandler(aws);
    const res = await strict.handler(
      functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, timestamp: stale }),
      ctx(),
    );
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe('stale_timestamp');
    const future = await strict.handler(
      functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, timestamp: stale + 700 }),
      ctx(),
    );
    expect(future.statusCode).toBe(401);
    expect(aws.published).toHaveLength(0);
    const off = buildAwsHandler(aws, { toleranceSeconds: 0 });
    const ok = await off.handler(
      functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, timestamp: stale }),
      ctx(),
    );
    expect(ok.statusCode).toBe(200);
  });

  it('accepts a delivery without Heygen-Timestamp (the header is optional)', async () => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, timestamp: null }), ctx());
    expect(res.statusCode).toBe(200);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])('answers 405 with Allow for %s', async (method) => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, method }), ctx());
    expect(res.statusCode).toBe(405);
    expect(res.headers?.allow).toBe('POST, OPTIONS');
    expect(errorBody(res).code).toBe('method_not_allowed');
    expect(aws.published).toHaveLength(0);
  });

  it('answers 200 to OPTIONS (reachability probe) without publishing', async () => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent('', { method: 'OPTIONS', signature: null }), ctx());
    expect(res.statusCode).toBe(200);
    expect(aws.published).toHaveLength(0);
  });

  it('answers 404 for an unknown path', async () => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET, path: '/other' }), ctx());
    expect(res.statusCode).toBe(404);
    expect(errorBody(res).code).toBe('not_found');
  });

  it.each([false, true])('answers 413 for a body over the limit (base64: %s)', async (base64) => {
    const { handler } = buildAwsHandler(aws, { maxBodyBytes: 1024 });
    const body = JSON.stringify({ event_type: 'avatar_video.success', event_data: { pad: 'x'.repeat(2000) } });
    const res = await handler(functionUrlEvent(body, { secret: SECRET, base64 }), ctx());
    expect(res.statusCode).toBe(413);
    expect(errorBody(res).code).toBe('payload_too_large');
    expect(aws.published).toHaveLength(0);
  });

  it('verifies base64-encoded bodies on their raw bytes', async () => {
    const { handler } = buildAwsHandler(aws);
    const raw = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: 'ü-ñ-✓' } }), 'utf8');
    const res = await handler(functionUrlEvent(raw, { secret: SECRET, base64: true }), ctx());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(aws.published[0]?.Detail ?? '').subject.id).toBe('ü-ñ-✓');
  });

  it.each([
    ['not JSON', 'not json at all', 'invalid_json'],
    ['a JSON array', '[1,2]', 'invalid_json'],
    ['JSON without event_type', '{"event_data":{}}', 'missing_event_type'],
    ['event_data that is not an object', '{"event_type":"x.y","event_data":[1]}', 'invalid_event_data'],
  ])('answers 400 for a validly signed body that is %s', async (_n, body, code) => {
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(400);
    expect(errorBody(res).code).toBe(code);
    expect(aws.published).toHaveLength(0);
    expect(aws.items.size).toBe(0);
  });

  it('answers 503 (not 401) while no signing secret is configured', async () => {
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: null }) };
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res).code).toBe('not_configured');
    expect(aws.published).toHaveLength(0);
  });

  it('answers 503 when Secrets Manager fails and nothing is cached', async () => {
    aws.sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServiceError' }));
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res)).toEqual({ code: 'dependency_unavailable', message: 'Could not read the signing secret' });
  });

  it('answers 503 when DynamoDB fails, publishes nothing, and the retry succeeds', async () => {
    aws.ddb.on(PutItemCommand).rejectsOnce(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(aws.published).toHaveLength(0);
    aws.reset();
    aws.stages.AWSCURRENT = { value: SECRET };
    const retry = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(retry.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('answers 503 when PutEvents keeps failing the entry, releases the dedup record, and the retry publishes once', async () => {
    aws.eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(aws.eb.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(aws.items.size).toBe(0);
    aws.eb.on(PutEventsCommand).callsFake((input) => {
      aws.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'ok' }] };
    });
    const retry = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(retry.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('recovers from one failed PutEvents entry without answering 5xx', async () => {
    aws.eb
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] })
      .callsFake((input) => {
        aws.published.push(...input.Entries);
        return { FailedEntryCount: 0, Entries: [{ EventId: 'ok' }] };
      });
    const { handler } = buildAwsHandler(aws);
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('answers 503 inside the budget when a dependency hangs, and releases the claim', async () => {
    aws.eb.on(PutEventsCommand).callsFake(() => new Promise(() => {}));
    const { handler } = buildAwsHandler(aws, { budgetMs: 150 });
    const started = Date.now();
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res).code).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(aws.items.size).toBe(0);
    expect(aws.published).toHaveLength(0);
  });

  it('answers 200 when the deadline passes after the publish, and still completes the dedup record', async () => {
    const { handler } = buildAwsHandler(aws, { budgetMs: 150 });
    aws.eb.on(PutEventsCommand).callsFake(async (input) => {
      await new Promise((r) => setTimeout(r, 120));
      aws.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'late' }] };
    });
    const complete = aws.ddb.commandCalls(UpdateItemCommand).length;
    aws.ddb.on(UpdateItemCommand).callsFake(async (input) => {
      await new Promise((r) => setTimeout(r, 100));
      const item = aws.items.get(input.Key.pk?.S as string);
      if (item) item.status = { S: 'COMPLETED' };
      return {};
    });
    const body = sampleBody('avatar_video.success');
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
    expect(aws.ddb.commandCalls(UpdateItemCommand).length).toBe(complete + 1);
    expect(aws.items.get(dedupKey('heygen', Buffer.from(body)))?.status?.S).toBe('COMPLETED');
  });

  it('picks up a changed secret on the first miss (rotation), re-reading at most once per interval', async () => {
    let clock = Date.now();
    const { handler } = buildAwsHandler(aws, { keyOptions: { now: () => clock, minRefreshIntervalMs: 1_000 } });
    expect((await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    const readsBefore = aws.secretReads;
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: OTHER }) };
    // Within the interval of the last read, a miss does not re-read: 401, the provider retries.
    clock += 500;
    const early = await handler(functionUrlEvent(sampleBody('avatar_video.fail'), { secret: OTHER }), ctx());
    expect(early.statusCode).toBe(401);
    expect(aws.secretReads).toBe(readsBefore);
    clock += 600;
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.fail'), { secret: OTHER }), ctx());
    expect(res.statusCode).toBe(200);
    expect(aws.secretReads).toBeGreaterThan(readsBefore);
    // A flood of bad signatures right after does not hammer Secrets Manager.
    const readsAfter = aws.secretReads;
    for (let i = 0; i < 20; i++)
      expect(
        (await handler(functionUrlEvent(`{"event_type":"x","n":${i}}`, { secret: 'whsec_attacker' }), ctx())).statusCode,
      ).toBe(401);
    expect(aws.secretReads).toBe(readsAfter);
  });

  it('accepts AWSPENDING, and AWSPREVIOUS only within the grace period', async () => {
    const prev = 'whsec_previous_secret_value_123456';
    const pending = 'whsec_pending_secret_value_654321';
    aws.stages.AWSCURRENT = { value: SECRET, createdAt: new Date(Date.now() - 60_000) };
    aws.stages.AWSPENDING = { value: pending };
    aws.stages.AWSPREVIOUS = { value: prev };
    const inGrace = buildAwsHandler(aws, { keyOptions: { previousGraceMs: 900_000 } });
    expect((await inGrace.handler(functionUrlEvent('{"event_type":"a.b","n":1}', { secret: pending }), ctx())).statusCode).toBe(
      200,
    );
    expect((await inGrace.handler(functionUrlEvent('{"event_type":"a.b","n":2}', { secret: prev }), ctx())).statusCode).toBe(200);
    const pastGrace = buildAwsHandler(aws, { keyOptions: { previousGraceMs: 30_000 } });
    expect((await pastGrace.handler(functionUrlEvent('{"event_type":"a.b","n":3}', { secret: prev }), ctx())).statusCode).toBe(
      401,
    );
  });

  it('never logs the secret, the signature or the body', async () => {
    const { handler, telemetry } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const event = functionUrlEvent(body, { secret: SECRET });
    await handler(event, ctx());
    await handler(functionUrlEvent(body, { secret: OTHER }), ctx());
    const text = JSON.stringify(telemetry.lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(OTHER);
    expect(text).not.toContain(event.headers['heygen-signature']);
    expect(text).not.toContain('order-1042');
  });
});
