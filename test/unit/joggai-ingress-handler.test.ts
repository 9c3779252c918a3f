/** JoggAI over POST /joggai (AWS adapters, mocked SDK): the shared behaviour table, then JoggAI's own rules. */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { sign } from '../../functions/core/verify.js';
import { joggai } from '../../providers/joggai/runtime/index.js';
import { type BuildOptions, buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { ctx, describeBehaviourTable, errorBody, nowSeconds } from '../support/behaviour-table.js';
import { joggaiEvent, joggaiSample } from '../support/joggai.js';

const SECRET = 'whsec_jogg_primary_0123456789abcdef';
const OTHER = 'whsec_jogg_other_fedcba9876543210';
const SAMPLES = ['generated_avatar_video_success', 'generated_avatar_video_failed', 'generated_motion_failed'] as const;
const aws = new MockAws();
const build = (options: BuildOptions = {}) => buildAwsHandler(aws, { provider: joggai, ...options });

describeBehaviourTable({
  name: 'joggai',
  aws,
  build: { provider: joggai },
  secret: SECRET,
  other: OTHER,
  endpointId: 'wh_1',
  signatureHeader: 'x-webhook-signature',
  event: (body, delivery = {}) => joggaiEvent(body, delivery),
  sample: (variant = 0) => joggaiSample(SAMPLES[variant]),
  // JoggAI carries the timestamp in the body.
  timestamped: (timestamp, delivery, variant = 0) => joggaiEvent(joggaiSample(SAMPLES[variant], timestamp), delivery),
  envelope: (type, data) => JSON.stringify({ ...(type === undefined ? {} : { event: type }), timestamp: nowSeconds(), data }),
  type: 'generated_video_success',
  published: {
    type: 'generated_avatar_video_success',
    detail: (body) => ({
      subject: { kind: 'video', id: 'a1b2c3d4e5f6' },
      callbackId: null,
      deliveryId: 'evt_7d2a9c41f0b3',
      data: JSON.parse(body).data,
    }),
    marker: 'res.jogg.ai',
  },
});

describe('Function: ingress handler for POST /joggai, JoggAI-specific rules (AWS adapters, mocked SDK)', () => {
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET, endpointId: 'wh_1' }) };
  });
  afterEach(() => aws.reset());

  it('publishes a numeric avatar_id as a string subject id and an event without event_id with a null deliveryId', async () => {
    const { handler } = build();
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_photo_avatar_success'), { secret: SECRET }), ctx())).statusCode,
    ).toBe(200);
    expect((await handler(joggaiEvent(joggaiSample('generated_image_success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    const [avatar, image] = aws.published.map((e) => assertRelayEvent(JSON.parse(e.Detail ?? '')));
    expect(avatar?.subject).toEqual({ kind: 'avatar', id: '128734' });
    expect(image?.deliveryId).toBeNull();
    expect(image?.subject).toEqual({ kind: 'photo', id: 'ph_90a1b2' });
  });

  it('answers 401 for a valid signature sent in the HeyGen header instead of X-Webhook-Signature', async () => {
    const { handler } = build();
    const body = joggaiSample('generated_avatar_video_success');
    const res = await handler(joggaiEvent(body, { signature: null, headers: { 'heygen-signature': sign(SECRET, body) } }), ctx());
    expect(res.statusCode).toBe(401);
    expect(errorBody(res).code).toBe('missing_signature');
  });

  it('accepts a delivery without X-Webhook-Event, and one without a body timestamp only when the check is off', async () => {
    const { handler } = build();
    expect(
      (
        await build({ toleranceSeconds: 0 }).handler(
          joggaiEvent(joggaiSample('generated_image_success', null), { secret: SECRET }),
          ctx(),
        )
      ).statusCode,
    ).toBe(200);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_image_success', null), { secret: SECRET }), ctx())).statusCode,
    ).toBe(400);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_motion_failed'), { secret: SECRET, event: null }), ctx())).statusCode,
    ).toBe(200);
  });

  it('answers 404 for /heygen and for /joggai/<segment> unless sub-paths are accepted', async () => {
    const body = joggaiSample('generated_avatar_video_success');
    const { handler } = build();
    for (const path of ['/heygen', '/joggai/r2', '/joggaix'])
      expect((await handler(joggaiEvent(body, { secret: SECRET, path }), ctx())).statusCode).toBe(404);
    const sub = build({ acceptSubpaths: true });
    expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path: '/joggai/r2' }), ctx())).statusCode).toBe(200);
    expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path: '/joggai/r3/' }), ctx())).statusCode).toBe(200);
    for (const path of ['/joggai/r2/x', '/joggai/../heygen', '/joggai/R%20', '/other/r2'])
      expect((await sub.handler(joggaiEvent(body, { secret: SECRET, path }), ctx())).statusCode).toBe(404);
    expect(aws.published).toHaveLength(1);
  });

  it.each([
    [
      'X-Webhook-Event disagreeing with body.event',
      () => joggaiSample('generated_avatar_video_success'),
      'generated_avatar_video_failed',
      'event_mismatch',
    ],
    [
      'a timestamp that is not unix seconds',
      () => '{"event":"generated_video_success","timestamp":"soon","data":{}}',
      undefined,
      'invalid_timestamp',
    ],
  ])('answers 400 for a validly signed body with %s', async (_n, body, event, code) => {
    const { handler } = build();
    const res = await handler(joggaiEvent(body(), { secret: SECRET, ...(event ? { event } : {}) }), ctx());
    expect(res.statusCode).toBe(400);
    expect(errorBody(res).code).toBe(code);
    expect(aws.published).toHaveLength(0);
    expect(aws.items.size).toBe(0);
  });

  it("budgets the request inside JoggAI's 5 s deadline by default", async () => {
    aws.eb.on(PutEventsCommand).callsFake(() => new Promise(() => {}));
    const { handler } = build();
    const started = Date.now();
    const res = await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx());
    const took = Date.now() - started;
    expect(res.statusCode).toBe(503);
    expect(took).toBeGreaterThanOrEqual(3_900);
    expect(took).toBeLessThan(5_000);
  }, 10_000);

  it("accepts both endpoints' secrets while a rotation overlaps them (AWSCURRENT + AWSPENDING)", async () => {
    aws.stages.AWSPENDING = { value: JSON.stringify({ secret: OTHER, endpointId: 'wh_2' }) };
    const { handler } = build();
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_avatar_video_success'), { secret: SECRET }), ctx())).statusCode,
    ).toBe(200);
    expect(
      (await handler(joggaiEvent(joggaiSample('generated_avatar_video_failed'), { secret: OTHER, path: '/joggai' }), ctx()))
        .statusCode,
    ).toBe(200);
    expect(aws.published).toHaveLength(2);
  });
});
