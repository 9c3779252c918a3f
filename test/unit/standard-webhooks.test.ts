/**
 * The Standard Webhooks source: the spec library's own test vectors, the provider-independent
 * behaviour table over the AWS adapters, the same deliveries through the local relay, and the rules
 * of its own (several signatures, rotation, dedup on webhook-id, signed timestamp).
 *
 * Vectors: standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts (the npm
 * package `standardwebhooks`' tests): secret `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id
 * `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp 1614265330, payload `{"test": 2432232314}` signs to
 * `v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=` ("sign function works"); "multi sig payload is
 * valid" (v1 junk, v2 entries around the valid one); "invalid signature", "partial signature".
 *
 * Senders that sign per the spec but post their own body: test/events/standard-webhooks/replicate-prediction.json
 * is shaped after Replicate's prediction object (replicate.com/docs/reference/http, "Get a prediction";
 * webhooks post it as it is): no `type`, no `data`; `status` is one of starting, processing,
 * succeeded, failed, canceled.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import { assertRelayEvent, parseRelayEvent } from '../../functions/core/envelope.js';
import { BadRequestError, SignatureVerificationError } from '../../functions/core/errors.js';
import { ConfigError, loadIngressConfig, routeProvider } from '../../functions/wiring/ingress-config.js';
import {
  normalizeStandardWebhooks,
  type StandardWebhooksBodyRule,
  standardWebhooks,
  standardWebhooksBodyRule,
  standardWebhooksSignature,
} from '../../providers/standard-webhooks/runtime/index.js';
import { hmacV1 } from '../../providers/standard-webhooks/runtime/signature.js';
import { buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { ctx, type Delivery, describeBehaviourTable, errorBody, nowSeconds } from '../support/behaviour-table.js';
import { functionUrlEvent } from '../support/heygen.js';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
/** The vector's secret is a published example: refused as a key (functions/core/secret-quality.ts). Deliveries use this one. */
const SECRET = 'whsec_c3ctdW5pdC10ZXN0LWtleS0yNC1ieXRlcy1hYmM=';
const OTHER = 'whsec_b3RoZXItc2VjcmV0LWZvci10aGUtdGFibGUtMTIzNA==';
const SAMPLES = ['video.completed', 'video.failed', 'prediction.completed'] as const;

/** The spec's signature, computed here with node:crypto (not the library the source uses). */
function v1(secret: string, id: string, timestamp: number | string, body: Buffer | string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

interface SwDelivery extends Delivery {
  readonly id?: string;
  readonly timestamp?: number | null;
}

/** A delivery as a Standard Webhooks sender makes it: id derived from the body (a retry has the same one). */
function swEvent(body: string | Buffer, d: SwDelivery = {}): APIGatewayProxyEventV2 {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const id = d.id ?? `msg_${createHash('sha256').update(raw).digest('hex').slice(0, 24)}`;
  const timestamp = d.timestamp === undefined ? nowSeconds() : d.timestamp;
  const headers: Record<string, string> = { 'webhook-id': id };
  if (timestamp !== null) headers['webhook-timestamp'] = String(timestamp);
  if (d.signature !== null) {
    const signature = d.signature ?? (d.secret ? v1(d.secret, id, timestamp ?? '', raw) : undefined);
    if (signature !== undefined) headers['webhook-signature'] = signature;
  }
  return functionUrlEvent(raw, {
    method: d.method ?? 'POST',
    path: d.path ?? '/standard-webhooks',
    signature: null,
    timestamp: null,
    headers: { ...headers, ...d.headers },
    ...(d.base64 ? { base64: true } : {}),
  });
}

const sample = (variant: 0 | 1 | 2 = 0) =>
  JSON.stringify({
    type: SAMPLES[variant],
    timestamp: '2026-12-01T10:00:00Z',
    data: { id: `pred_${variant}_7f3a`, status: 'succeeded', output: 'https://example.test/marker-sw-0.mp4' },
  });

const aws = new MockAws();

describeBehaviourTable({
  name: 'standard-webhooks',
  aws,
  build: { provider: standardWebhooks },
  secret: SECRET,
  other: OTHER,
  endpointId: 'sw',
  signatureHeader: 'webhook-signature',
  event: (body, delivery = {}) => swEvent(body, delivery),
  sample,
  timestamped: (timestamp, delivery, variant = 0) => swEvent(sample(variant), { ...delivery, timestamp }),
  envelope: (type, data) => JSON.stringify({ ...(type === undefined ? {} : { type }), timestamp: '2026-12-01T10:00:00Z', data }),
  type: 'video.completed',
  published: {
    type: 'video.completed',
    detail: (body) => ({
      subject: { kind: 'video', id: 'pred_0_7f3a' },
      callbackId: null,
      deliveryId: swEvent(body).headers['webhook-id'],
      data: JSON.parse(body).data,
    }),
    marker: 'marker-sw-0',
  },
  timestampSigned: true,
});

describe('Standard Webhooks: the spec library’s test vectors', () => {
  const key = { secret: VECTOR.secret, label: 'AWSCURRENT' as const };
  const headers = (signature: string) => ({
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': signature,
  });
  const body = Buffer.from(VECTOR.payload);

  /** The vector's secret is refused as a key, so match() is checked with it by reading it as the library does, less the quality rule. */
  const vectorKey = Buffer.from(VECTOR.secret.slice('whsec_'.length), 'base64');

  it('matches the "sign function works" vector (and so does this file’s independent signer); the vector’s secret is no key', () => {
    expect(v1(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.payload)).toBe(VECTOR.signature);
    expect(`v1,${hmacV1(vectorKey, VECTOR.id, VECTOR.timestamp, body).toString('base64')}`).toBe(VECTOR.signature);
    expect(standardWebhooksSignature.match([key], body, headers(VECTOR.signature))).toBeUndefined();
  });

  it('"multi sig payload is valid": junk v1 and v2 entries around the valid one', () => {
    const own = { secret: SECRET, label: 'AWSCURRENT' as const };
    const valid = v1(SECRET, VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    const junk = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const sig = [junk, junk.replace('v1,', 'v2,'), valid, junk].join(' ');
    standardWebhooksSignature.precheck(body, headers(sig));
    expect(standardWebhooksSignature.match([own], body, headers(sig))).toBe(own);
  });

  it('"invalid signature" and "partial signature" are refused before any key; a changed byte matches no key', () => {
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,'])
      expect(() => standardWebhooksSignature.precheck(body, headers(bad))).toThrowError(SignatureVerificationError);
    const own = { secret: SECRET, label: 'AWSCURRENT' as const };
    const valid = v1(SECRET, VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    expect(standardWebhooksSignature.match([own], body, headers(valid))).toBe(own);
    expect(standardWebhooksSignature.match([own], Buffer.from('{"test": 2432232315}'), headers(valid))).toBeUndefined();
    expect(
      standardWebhooksSignature.match([own], body, {
        ...headers(valid),
        'webhook-timestamp': String(VECTOR.timestamp + 1),
      }),
    ).toBeUndefined();
  });

  it('accepts the secret without its whsec_ prefix; a secret that is not base64 never matches', () => {
    const valid = v1(SECRET, VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    const own = { secret: SECRET, label: 'AWSCURRENT' as const };
    const bare = { secret: SECRET.slice('whsec_'.length), label: 'AWSCURRENT' as const };
    expect(standardWebhooksSignature.match([bare], body, headers(valid))).toBe(bare);
    const notBase64 = { secret: 'whsec_not*base64*at*all!!', label: 'AWSCURRENT' as const };
    expect(standardWebhooksSignature.match([notBase64, own], body, headers(valid))).toBe(own);
  });
});

describe('Function: ingress for Standard Webhooks, rules of its own (AWS adapters, mocked SDK)', () => {
  const build = () => buildAwsHandler(aws, { provider: standardWebhooks });
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET }) };
  });
  afterEach(() => aws.reset());

  it('dedups on webhook-id: a retry in other bytes is a duplicate, another id with the same body is published', async () => {
    const { handler } = build();
    const first = await handler(swEvent(sample(0), { secret: SECRET, id: 'msg_1' }), ctx());
    const reworded = JSON.stringify(JSON.parse(sample(0)), null, 2);
    const retry = await handler(swEvent(reworded, { secret: SECRET, id: 'msg_1' }), ctx());
    const other = await handler(swEvent(sample(0), { secret: SECRET, id: 'msg_2' }), ctx());
    expect([first, retry, other].map((r) => JSON.parse(r.body ?? '').status)).toEqual(['published', 'duplicate', 'published']);
    const ids = aws.published.map((e) => assertRelayEvent(JSON.parse(e.Detail ?? '')).id);
    expect(ids[0]).toMatch(/^standard-webhooks:[0-9a-f]{64}$/);
    expect(new Set(ids).size).toBe(2);
  });

  it('rotation: AWSPENDING alone, or a sender signing with old and new secrets in one header', async () => {
    const { handler } = build();
    aws.stages.AWSPENDING = { value: OTHER };
    expect((await handler(swEvent(sample(1), { secret: OTHER }), ctx())).statusCode).toBe(200);
    const body = sample(2);
    const ts = nowSeconds();
    const both = `${v1('whsec_c29tZS1yZXRpcmVkLXNlY3JldC0wMDAwMDAwMA==', 'msg_r', ts, body)} ${v1(SECRET, 'msg_r', ts, body)}`;
    expect((await handler(swEvent(body, { id: 'msg_r', timestamp: ts, signature: both }), ctx())).statusCode).toBe(200);
  });

  it('the signed timestamp is the replay defence: a captured delivery replayed later is refused, a re-signed timestamp does not verify', async () => {
    const { handler } = build();
    const body = sample(0);
    const old = nowSeconds() - 3600;
    const captured = swEvent(body, { secret: SECRET, id: 'msg_cap', timestamp: old });
    const res = await handler(captured, ctx());
    expect([res.statusCode, errorBody(res).code]).toEqual([401, 'stale_timestamp']);
    // Fresh timestamp, old signature: the signature covers the timestamp.
    const forged = { ...captured, headers: { ...captured.headers, 'webhook-timestamp': String(nowSeconds()) } };
    const res2 = await handler(forged, ctx());
    expect([res2.statusCode, errorBody(res2).code]).toEqual([401, 'invalid_signature']);
    expect(aws.published).toHaveLength(0);
  });
});

describe('Local relay: a Standard Webhooks source next to HeyGen', () => {
  let relay: LocalRelay;
  let sink: string;
  beforeAll(async () => {
    sink = join(mkdtempSync(join(tmpdir(), 'relay-sw-')), 'events.jsonl');
    relay = await startLocalRelay({
      providers: [
        { name: 'heygen', secrets: ['whsec_local_heygen_0123456789'] },
        { name: 'standard-webhooks', secrets: [SECRET, OTHER], path: '/replicate' },
      ],
      sinkPath: sink,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
  });
  afterAll(() => relay.close());

  const post = (event: APIGatewayProxyEventV2) =>
    fetch(`${relay.url}/replicate`, { method: 'POST', body: event.body, headers: event.headers as Record<string, string> });

  it('verifies, dedups on webhook-id and publishes to the sink; refuses a wrong secret', async () => {
    expect((await post(swEvent(sample(0), { secret: SECRET, id: 'msg_l1', path: '/replicate' }))).status).toBe(200);
    const again = await post(swEvent(sample(0), { secret: OTHER, id: 'msg_l1', path: '/replicate' }));
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    expect(
      (await post(swEvent(sample(1), { secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==', path: '/replicate' }))).status,
    ).toBe(401);
    const lines = readFileSync(sink, 'utf8').trim().split('\n');
    expect(lines.map((l) => parseRelayEvent({ body: l })).map((e) => [e.provider, e.type, e.deliveryId])).toEqual([
      ['standard-webhooks', 'video.completed', 'msg_l1'],
    ]);
  });
});

const PREDICTION = readFileSync(join(__dirname, '..', 'events', 'standard-webhooks', 'replicate-prediction.json'), 'utf8');
/** What the README gives for Replicate. */
const REPLICATE: StandardWebhooksBodyRule = { typeField: 'status', typePrefix: 'prediction', dataField: null };
const prediction = (extra: Record<string, unknown> = {}) => JSON.stringify({ ...JSON.parse(PREDICTION), ...extra });
const headersOf = { 'webhook-id': 'msg_n', 'webhook-timestamp': '1764583200' };

/** The BadRequestError `fn` throws (fails the test when it throws nothing or something else). */
function badRequest(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return err as BadRequestError;
  }
  throw new Error('expected a BadRequestError');
}

describe('Standard Webhooks: body rules for senders with their own body shape (normalize)', () => {
  it('the default rule still reads { type, timestamp, data }, and refuses a Replicate prediction (no type)', () => {
    const d = normalizeStandardWebhooks(Buffer.from(sample(0)), headersOf);
    expect([d.type, d.subject, d.data]).toEqual([
      'video.completed',
      { kind: 'video', id: 'pred_0_7f3a' },
      JSON.parse(sample(0)).data,
    ]);
    const err = badRequest(() => normalizeStandardWebhooks(Buffer.from(PREDICTION), headersOf));
    expect([err.code, err.message]).toEqual(['missing_event_type', 'Body has no "type" string (the event type)']);
  });

  it('Replicate: the status is the type (prefixed), the prediction its subject, the whole body its data in order', () => {
    const d = normalizeStandardWebhooks(Buffer.from(PREDICTION), headersOf, REPLICATE);
    expect(d.type).toBe('prediction.succeeded');
    expect(d.subject).toEqual({ kind: 'prediction', id: 'ufawqhfynnddngldkgtslldrkq' });
    expect(JSON.stringify(d.data)).toBe(JSON.stringify(JSON.parse(PREDICTION)));
    expect([d.deliveryId, d.sentAt, d.callbackId]).toEqual(['msg_n', 1764583200, null]);
  });

  it.each(['starting', 'processing', 'succeeded', 'failed', 'canceled'])(
    'Replicate status %s is type prediction.%s',
    (status) => {
      expect(normalizeStandardWebhooks(Buffer.from(prediction({ status })), headersOf, REPLICATE).type).toBe(
        `prediction.${status}`,
      );
    },
  );

  it('reads another data field, subject id field and subject kind when told', () => {
    const body = Buffer.from(JSON.stringify({ event: 'done', payload: { uuid: 'u-1', id: 'not-this' } }));
    const d = normalizeStandardWebhooks(body, headersOf, {
      typeField: 'event',
      dataField: 'payload',
      subjectIdField: 'uuid',
      subjectKind: 'job',
    });
    expect([d.type, d.subject, d.data]).toEqual(['done', { kind: 'job', id: 'u-1' }, { uuid: 'u-1', id: 'not-this' }]);
    // Without a prefix or a kind, the kind is the type up to its first dot; no id field: id null.
    const bare = normalizeStandardWebhooks(Buffer.from('{"status":"succeeded"}'), headersOf, {
      typeField: 'status',
      dataField: null,
    });
    expect(bare.subject).toEqual({ kind: 'succeeded', id: null });
  });

  it.each([
    ['the type field missing', prediction({ status: undefined }), 'missing_event_type', '"status"'],
    ['the type field empty', prediction({ status: '' }), 'missing_event_type', '"status"'],
    ['the type field not a string', prediction({ status: 3 }), 'missing_event_type', '"status"'],
    ['a type too long once prefixed', prediction({ status: 'x'.repeat(120) }), 'missing_event_type', 'longer than 128'],
    ['the type field only inherited', '{"id":"p"}', 'missing_event_type', '"constructor"'],
  ])('answers 400 for %s', (_n, body, code, words) => {
    const rule = _n.includes('inherited') ? { ...REPLICATE, typeField: 'constructor' } : REPLICATE;
    const err = badRequest(() => normalizeStandardWebhooks(Buffer.from(body), headersOf, rule));
    expect(err.code).toBe(code);
    expect(err.message).toContain(words);
  });

  it('a configured data field that is not an object is 400 invalid_event_data naming it; absent is {}', () => {
    const rule = { typeField: 'event', dataField: 'payload' };
    const err = badRequest(() => normalizeStandardWebhooks(Buffer.from('{"event":"a","payload":[1]}'), headersOf, rule));
    expect([err.code, err.message]).toEqual(['invalid_event_data', 'payload must be an object']);
    expect(normalizeStandardWebhooks(Buffer.from('{"event":"a"}'), headersOf, rule).data).toEqual({});
  });
});

describe('Standard Webhooks: body rule validation (synth and RELAY_PROVIDERS share it)', () => {
  it.each([
    ['an unknown option', { typefield: 'status' }, /unknown option "typefield"/],
    ['a dotted type field', { typeField: 'event.type' }, /typeField must be a top-level field name/],
    ['an empty type field', { typeField: '' }, /typeField must be/],
    ['a data field that is a number', { dataField: 5 }, /dataField must be a top-level field name, or null/],
    ['type and data in one field', { typeField: 'status', dataField: 'status' }, /name the same field "status"/],
    ['type in the default data field', { typeField: 'data' }, /name the same field "data"/],
    ['a prefix ending in a dot', { typePrefix: 'prediction.' }, /typePrefix must be/],
    ['a subject id field with a space', { subjectIdField: 'a b' }, /subjectIdField must be/],
    ['a subject kind with a dot', { subjectKind: 'a.b' }, /subjectKind must be/],
    ['not an object', ['status'], /must be an object/],
  ])('refuses %s', (_n, rule, message) => {
    expect(() => standardWebhooksBodyRule(rule)).toThrowError(message);
  });

  it('accepts the Replicate rule and every option together', () => {
    expect(standardWebhooksBodyRule(REPLICATE)).toEqual(REPLICATE);
    const all = { typeField: 'event', typePrefix: 'a.b', dataField: 'payload', subjectIdField: 'uuid', subjectKind: 'job' };
    expect(standardWebhooksBodyRule(all)).toEqual(all);
  });

  const env = (options: unknown, name = 'standard-webhooks') => ({
    RELAY_PROVIDERS: JSON.stringify([
      { name, source: 'replicate', path: '/replicate', secretId: 's', timestampToleranceSeconds: 300, options },
    ]),
    EVENT_BUS_NAME: 'b',
    DEDUP_ENABLED: 'false',
  });

  it('RELAY_PROVIDERS options configure the route’s plug-in (the name and the signature stay the provider’s)', () => {
    const config = loadIngressConfig(env(REPLICATE));
    const entry = config.providers[0];
    if (!entry) throw new Error('no provider');
    const provider = routeProvider(entry);
    expect([provider.name, provider.signature, provider.eventKey]).toEqual([
      'standard-webhooks',
      standardWebhooksSignature,
      standardWebhooks.eventKey,
    ]);
    expect(provider.normalize(Buffer.from(PREDICTION), headersOf).type).toBe('prediction.succeeded');
    // Without options the route reads the spec's shape.
    const plain = routeProvider({ ...entry, options: undefined });
    expect(() => plain.normalize(Buffer.from(PREDICTION), headersOf)).toThrowError(BadRequestError);
  });

  it.each([
    ['a bad rule', env({ typeField: 'a.b' }), 'Provider replicate: options: typeField must be a top-level field name'],
    ['options that are not an object', env('status'), 'Provider replicate: options must be an object'],
    [
      'options for a provider that takes none',
      env({ typeField: 'status' }, 'heygen'),
      'Provider replicate: heygen takes no options',
    ],
  ])('refuses %s at start, naming the source', (_n, e, message) => {
    expect(() => loadIngressConfig(e)).toThrowError(ConfigError);
    expect(() => loadIngressConfig(e)).toThrowError(message);
  });
});

describe('Function: ingress for a Replicate-shaped Standard Webhooks sender (AWS adapters, mocked SDK)', () => {
  const build = () => buildAwsHandler(aws, { provider: standardWebhooks.withOptions?.({ ...REPLICATE }), path: '/replicate' });
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET }) };
  });
  afterEach(() => aws.reset());

  it('publishes a signed prediction as prediction.succeeded about the prediction, its body as data exactly; a retry is a duplicate', async () => {
    const { handler } = build();
    const delivery = swEvent(PREDICTION, { secret: SECRET, id: 'msg_rep1', path: '/replicate' });
    const res = await handler(delivery, ctx());
    expect([res.statusCode, JSON.parse(res.body ?? '').status]).toEqual([200, 'published']);
    expect(aws.published).toHaveLength(1);
    const entry = aws.published[0];
    expect(entry).toMatchObject({ Source: 'standard-webhooks', DetailType: 'prediction.succeeded' });
    const detail = assertRelayEvent(JSON.parse(entry?.Detail ?? ''));
    expect(detail).toMatchObject({
      provider: 'standard-webhooks',
      type: 'prediction.succeeded',
      subject: { kind: 'prediction', id: 'ufawqhfynnddngldkgtslldrkq' },
      deliveryId: 'msg_rep1',
    });
    expect(JSON.stringify(detail.data)).toBe(JSON.stringify(JSON.parse(PREDICTION)));
    const retry = await handler(swEvent(PREDICTION, { secret: SECRET, id: 'msg_rep1', path: '/replicate' }), ctx());
    expect(JSON.parse(retry.body ?? '').status).toBe('duplicate');
    expect(aws.published).toHaveLength(1);
  });

  it('answers a signed body without the status with a 400 JSON error, and publishes nothing', async () => {
    const { handler } = build();
    const res = await handler(swEvent(prediction({ status: undefined }), { secret: SECRET, path: '/replicate' }), ctx());
    expect(res.statusCode).toBe(400);
    expect(errorBody(res)).toEqual({ code: 'missing_event_type', message: 'Body has no "status" string (the event type)' });
    expect(aws.published).toHaveLength(0);
  });

  it('still verifies first: a prediction signed with another secret is 401', async () => {
    const { handler } = build();
    const res = await handler(swEvent(PREDICTION, { secret: OTHER, path: '/replicate' }), ctx());
    expect([res.statusCode, errorBody(res).code]).toEqual([401, 'invalid_signature']);
  });
});
