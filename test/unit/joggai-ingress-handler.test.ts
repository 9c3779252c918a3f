/** The HeyGen behaviour table, for POST /joggai over the AWS adapters (aws-sdk-client-mock). */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localContext } from '../../functions/adapters/local/http-server.js';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { dedupKey } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { joggai } from '../../functions/providers/joggai/index.js';
import { type BuildOptions, buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { joggaiEvent, joggaiSample } from '../support/joggai.js';

const SECRET = 'whsec_jogg_primary_0123456789abcdef';
const OTHER = 'whsec_jogg_other_fedcba9876543210';
const ctx = (): Context => localContext('test');
const build = (aws: MockAws, options: BuildOptions = {}) => buildAwsHandler(aws, { provider: joggai, ...options });
const now = () => Math.floor(Date.now() / 1000);

function errorBody(res: { body?: string }) {
  const parsed = JSON.parse(res.body ?? '');
  expect(parsed).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  return parsed.error as { code: string; message: string };
}

describe('Function: ingress handler for POST /joggai (AWS adapters, mocked SDK)', () => {
  const aws = new MockAws();
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET, endpointId: 'wh_1' }) };
  });
  afterEach(() => aws.reset());

  it('publishes exactly one event for a valid delivery and answers 200', async () => {
    const { handler } = build(aws);
    const body = joggaiSample('generated_avatar_video_success');
    const res = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body ?? '')).toEqual({ status: 'published', id: dedupKey('joggai', Buffer.from(body)) });
    expect(aws.published).toHaveLength(1);
    expect(aws.published[0]).toMatchObject({
      EventBusName: 'relay-bus',
      Source: 'joggai',
      DetailType: 'generated_avatar_video_success',
    });
    const detail = assertRelayEvent(JSON.parse(aws.published[0]?.Detail ?? ''));
    expect(detail).toMatchObject({
      version: '1',
      provider: 'joggai',
      type: 'generated_avatar_video_success',
      subject: { kind: 'video', id: 'a1b2c3d4e5f6' },
      callbackId: null,
      deliveryId: 'evt_7d2a9c41f0b3',
      data: JSON.parse(body).data,
    });
  });

  it('publishes a numeric avatar_id as a string subject id and an event without event_id with a null deliveryId', async () => {
    const { handler } = build(aws);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_photo_avatar_success'), { secret: SECRET }), ctx())).statusCode,
    ).toBe(200);
    expect((await handler(joggaiEvent(joggaiSample('generated_image_success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    const [avatar, image] = aws.published.map((e) => assertRelayEvent(JSON.parse(e.Detail ?? '')));
    expect(avatar?.subject).toEqual({ kind: 'avatar', id: '128734' });
    expect(image?.deliveryId).toBeNull();
    expect(image?.subject).toEqual({ kind: 'photo', id: 'ph_90a1b2' });
  });

  it('answers 200 and publishes nothing more for the same body (a retry, or the other endpoint during a rotation)', async () => {
    const { handler, telemetry } = build(aws);
    const body = joggaiSample('generated_avatar_video_failed');
    const first = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    const second = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(JSON.parse(second.body ?? '').status).toBe('duplicate');
    expect(aws.published).toHaveLength(1);
    expect(telemetry.counts.filter((c) => c.metric === 'Duplicate')).toEqual([
      { metric: 'Duplicate', dimensions: { provider: 'joggai' } },
    ]);
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
    const { handler } = build(aws);
    const body = joggaiSample('generated_motion_failed');
    const first = handler(joggaiEvent(body, { secret: SECRET }), ctx());
    await new Promise((r) => setTimeout(r, 20));
    const second = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
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
    const { handler, telemetry } = build(aws);
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), options), ctx());
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe(code);
    expect(aws.published).toHaveLength(0);
    expect(aws.ddb.commandCalls(PutItemCommand)).toHaveLength(0);
    expect(telemetry.counts).toContainEqual({ metric: 'Rejected', dimensions: { provider: 'joggai', reason: code } });
  });

  it('answers 401 for a valid signature sent in the HeyGen header instead of X-Webhook-Signature', async () => {
    const { handler } = build(aws);
    const body = joggaiSample('generated_avatar_video_success');
    const res = await handler(joggaiEvent(body, { signature: null, headers: { 'heygen-signature': sign(SECRET, body) } }), ctx());
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe('missing_signature');
  });

  it('answers 401 when the body timestamp is outside the tolerance either way, and ignores it when the tolerance is 0', async () => {
    const stale = now() - 301;
    const strict = build(aws);
    const res = await strict.handler(
      joggaiEvent(joggaiSample('generated_avatar_video_success', stale), { secret: SECRET }),
      ctx(),
    );
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe('stale_timestamp');
    const future = await strict.handler(
      joggaiEvent(joggaiSample('generated_avatar_video_success', now() + 301), { secret: SECRET }),
      ctx(),
    );
    expect(future.statusCode).toBe(401);
    expect(aws.published).toHaveLength(0);
    expect(aws.items.size).toBe(0);
    const custom = build(aws, { toleranceSeconds: 600 });
    expect(
      (await custom.handler(joggaiEvent(joggaiSample('generated_avatar_video_success', stale), { secret: SECRET }), ctx()))
        .statusCode,
    ).toBe(200);
    const off = build(aws, { toleranceSeconds: 0 });
    const ok = await off.handler(joggaiEvent(joggaiSample('generated_avatar_video_failed', 1_000), { secret: SECRET }), ctx());
    expect(ok.statusCode).toBe(200);
  });

  it('checks the timestamp only after the signature: a forged stale body is 401 invalid_signature', async () => {
    const { handler } = build(aws);
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success', 1_000), { secret: OTHER }), ctx());
    expect(errorBody(res).code).toBe('invalid_signature');
  });

  it('accepts a delivery without a body timestamp or without X-Webhook-Event', async () => {
    const { handler } = build(aws);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_image_success', null), { secret: SECRET }), ctx())).statusCode,
    ).toBe(200);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_motion_failed'), { secret: SECRET, event: null }), ctx())).statusCode,
    ).toBe(200);
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])('answers 405 with Allow for %s', async (method) => {
    const { handler } = build(aws);
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET, method }), ctx());
    expect(res.statusCode).toBe(405);
    expect(res.headers?.allow).toBe('POST, OPTIONS');
    expect(errorBody(res).code).toBe('method_not_allowed');
    expect(aws.published).toHaveLength(0);
  });

  it('answers 200 to OPTIONS without publishing', async () => {
    const { handler } = build(aws);
    const res = await handler(joggaiEvent('', { method: 'OPTIONS', signature: null }), ctx());
    expect(res.statusCode).toBe(200);
    expect(aws.published).toHaveLength(0);
  });

  it('answers 404 for /heygen and for /joggai/<segment> unless sub-paths are accepted', async () => {
    const body = joggaiSample('generated_avatar_video_success');
    const { handler } = build(aws);
    for (const path of ['/heygen', '/joggai/r2', '/joggaix'])
      expect((await handler(joggaiEvent(body, { secret: SECRET, path }), ctx())).statusCode).toBe(404);
    const sub = build(aws, { acceptSubpaths: true });
    expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path: '/joggai/r2' }), ctx())).statusCode).toBe(200);
    expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path: '/joggai/r3/' }), ctx())).statusCode).toBe(200);
    for (const path of ['/joggai/r2/x', '/joggai/../heygen', '/joggai/R%20', '/other/r2'])
      expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path }), ctx())).statusCode).toBe(404);
    expect(aws.published).toHaveLength(1);
  });

  it.each([false, true])('answers 413 for a body over the limit (base64: %s)', async (base64) => {
    const { handler } = build(aws, { maxBodyBytes: 1024 });
    const body = JSON.stringify({ event: 'generated_video_success', timestamp: now(), data: { pad: 'x'.repeat(2000) } });
    const res = await handler(joggaiEvent(body, { secret: SECRET, base64 }), ctx());
    expect(res.statusCode).toBe(413);
    expect(errorBody(res).code).toBe('payload_too_large');
    expect(aws.published).toHaveLength(0);
  });

  it('verifies base64-encoded bodies on their raw bytes', async () => {
    const { handler } = build(aws);
    const raw = Buffer.from(
      JSON.stringify({ event: 'generated_video_success', timestamp: now(), data: { video_id: 'ü-ñ-✓' } }),
      'utf8',
    );
    const res = await handler(joggaiEvent(raw, { secret: SECRET, base64: true }), ctx());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(aws.published[0]?.Detail ?? '').subject.id).toBe('ü-ñ-✓');
  });

  it.each([
    [
      'X-Webhook-Event disagreeing with body.event',
      joggaiSample('generated_avatar_video_success'),
      'generated_avatar_video_failed',
      'event_mismatch',
    ],
    ['not JSON', 'not json at all', undefined, 'invalid_json'],
    ['a JSON array', '[1,2]', undefined, 'invalid_json'],
    ['JSON without event', `{"timestamp":${now()},"data":{}}`, undefined, 'missing_event_type'],
    [
      'data that is not an object',
      `{"event":"generated_video_success","timestamp":${now()},"data":[1]}`,
      undefined,
      'invalid_event_data',
    ],
    [
      'a timestamp that is not unix seconds',
      '{"event":"generated_video_success","timestamp":"soon","data":{}}',
      undefined,
      'invalid_timestamp',
    ],
  ])('answers 400 for a validly signed body with %s', async (_n, body, event, code) => {
    const { handler } = build(aws);
    const res = await handler(joggaiEvent(body, { secret: SECRET, ...(event ? { event } : {}) }), ctx());
    expect(res.statusCode).toBe(400);
    expect(errorBody(res).code).toBe(code);
    expect(aws.published).toHaveLength(0);
    expect(aws.items.size).toBe(0);
  });

  it('answers 503 (not 401) while no signing secret is configured', async () => {
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: null }) };
    const { handler } = build(aws);
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res)).toEqual({ code: 'not_configured', message: 'No signing secret is configured for joggai yet' });
    expect(aws.published).toHaveLength(0);
  });

  it('answers 503 when Secrets Manager fails and nothing is cached', async () => {
    aws.sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServiceError' }));
    const { handler } = build(aws);
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res)).toEqual({ code: 'dependency_unavailable', message: 'Could not read the signing secret' });
  });

  it('answers 503 when DynamoDB fails, publishes nothing, and the retry succeeds', async () => {
    aws.ddb.on(PutItemCommand).rejectsOnce(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    const { handler } = build(aws);
    const body = joggaiSample('generated_avatar_video_success');
    const res = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(aws.published).toHaveLength(0);
    aws.reset();
    aws.stages.AWSCURRENT = { value: SECRET };
    const retry = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(retry.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('answers 503 when PutEvents keeps failing, releases the dedup record, and the retry publishes once', async () => {
    aws.eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    const { handler } = build(aws);
    const body = joggaiSample('generated_avatar_video_success');
    const res = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(aws.items.size).toBe(0);
    aws.eb.on(PutEventsCommand).callsFake((input) => {
      aws.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'ok' }] };
    });
    const retry = await handler(joggaiEvent(body, { secret: SECRET }), ctx());
    expect(retry.statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('answers 503 inside the budget when a dependency hangs, and releases the claim', async () => {
    aws.eb.on(PutEventsCommand).callsFake(() => new Promise(() => {}));
    const { handler } = build(aws, { budgetMs: 150 });
    const started = Date.now();
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(errorBody(res).code).toBe('deadline_exceeded');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(aws.items.size).toBe(0);
    expect(aws.published).toHaveLength(0);
  });

  it("budgets the request inside JoggAI's 5 s deadline by default", async () => {
    aws.eb.on(PutEventsCommand).callsFake(() => new Promise(() => {}));
    const { handler } = build(aws);
    const started = Date.now();
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx());
    const took = Date.now() - started;
    expect(res.statusCode).toBe(503);
    expect(took).toBeGreaterThanOrEqual(3_900);
    expect(took).toBeLessThan(5_000);
  }, 10_000);

  it("accepts both endpoints' secrets while a rotation overlaps them (AWSCURRENT + AWSPENDING)", async () => {
    aws.stages.AWSPENDING = { value: JSON.stringify({ secret: OTHER, endpointId: 'wh_2' }) };
    const { handler } = build(aws);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx())).statusCode,
    ).toBe(200);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_avatar_video_failed'), { secret: OTHER, path: '/joggai' }), ctx()))
        .statusCode,
    ).toBe(200);
    expect(aws.published).toHaveLength(2);
  });

  it('never logs the secret, the signature or the body', async () => {
    const { handler, telemetry } = build(aws);
    const body = joggaiSample('generated_avatar_video_success');
    const event = joggaiEvent(body, { secret: SECRET });
    await handler(event, ctx());
    await handler(joggaiEvent(body, { secret: OTHER }), ctx());
    const text = JSON.stringify(telemetry.lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(OTHER);
    expect(text).not.toContain(event.headers['x-webhook-signature']);
    expect(text).not.toContain('res.jogg.ai');
  });
});
