/** HeyGen over POST /heygen (AWS adapters, mocked SDK): the shared behaviour table, then HeyGen's own header rules. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../../functions/core/verify.js';
import { buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { ctx, describeBehaviourTable } from '../support/behaviour-table.js';
import { functionUrlEvent, sampleBody } from '../support/heygen.js';

const SECRET = 'whsec_test_primary_0123456789abcdef';
const OTHER = 'whsec_test_other_fedcba9876543210';
const SAMPLES = ['avatar_video.success', 'avatar_video.fail', 'video_translate.success'] as const;
const aws = new MockAws();

describeBehaviourTable({
  name: 'heygen',
  aws,
  secret: SECRET,
  other: OTHER,
  endpointId: 'ep_1',
  signatureHeader: 'heygen-signature',
  event: (body, delivery = {}) => functionUrlEvent(body, delivery),
  sample: (variant = 0) => sampleBody(SAMPLES[variant]),
  timestamped: (timestamp, delivery, variant = 0) => functionUrlEvent(sampleBody(SAMPLES[variant]), { ...delivery, timestamp }),
  envelope: (type, data) => JSON.stringify({ ...(type === undefined ? {} : { event_type: type }), event_data: data }),
  type: 'avatar_video.success',
  published: {
    headers: { 'heygen-event-id': 'evt_1' },
    type: 'avatar_video.success',
    detail: (body) => ({
      subject: { kind: 'video', id: '8f7c2b1e0d5a4c3b9e6f1a2d3c4b5a69' },
      callbackId: 'order-1042',
      deliveryId: 'evt_1',
      data: JSON.parse(body).event_data,
    }),
    marker: 'order-1042',
  },
  // A retry carries a new Heygen-Event-Id: the dedup key is the body, not the id.
  retryHeaders: { 'heygen-event-id': 'retry' },
});

describe('Function: ingress handler, HeyGen-specific rules (AWS adapters, mocked SDK)', () => {
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET, endpointId: 'ep_1' }) };
  });
  afterEach(() => aws.reset());

  it('accepts an uppercase hex signature (same bytes)', async () => {
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const res = await handler(functionUrlEvent(body, { signature: sign(SECRET, body).toUpperCase() }), ctx());
    expect(res.statusCode).toBe(200);
  });

  it('reads the timestamp from Heygen-Timestamp: a stale header is 401, the same body with a current one is 200', async () => {
    const { handler } = buildAwsHandler(aws);
    const body = sampleBody('avatar_video.success');
    const stale = Math.floor(Date.now() / 1000) - 301;
    expect((await handler(functionUrlEvent(body, { secret: SECRET, timestamp: stale }), ctx())).statusCode).toBe(401);
    expect((await handler(functionUrlEvent(body, { secret: SECRET }), ctx())).statusCode).toBe(200);
    expect((await handler(functionUrlEvent(body, { secret: SECRET, timestamp: null }), ctx())).statusCode).toBe(200);
  });
});
