/**
 * Hostile input, property-based (fast-check): >= 10,000 generated Function URL events against the
 * real middy handler and pipeline over the local adapters (MemoryDedupStore, StaticKeySource, a
 * recording publisher) and Powertools telemetry. Random and adversarial methods, paths, header
 * names and values, bodies (JSON, unicode, binary, sizes around the limit), base64 flags that lie,
 * and signatures of the wrong length, case, alphabet, key or body.
 *
 * Invariants, for every request:
 *  - the handler never throws and always answers a status with a JSON body;
 *  - never a 2xx for a POST, and never a publish, unless the signature header is a valid HMAC of
 *    the exact bytes received (after base64 decoding) under a live key;
 *  - never a 5xx: with healthy in-memory dependencies every failure is the client's (4xx).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import { createIngressHandler } from '../../functions/ingress-handler.js';
import { powertoolsTelemetry } from '../../functions/observability.js';
import { heygen } from '../../functions/providers/heygen/index.js';
import { lambdaContext } from '../support/emulator-stack.js';
import { functionUrlEvent, sampleBody } from '../support/heygen.js';
import { registerSensitive, writeFigures } from '../support/log-capture.js';

const MAX_BODY = 4_096;
const SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const PREVIOUS = `whsec_${randomBytes(24).toString('hex')}`;
const WRONG = `whsec_${randomBytes(24).toString('hex')}`;
for (const s of [SECRET, PREVIOUS, WRONG]) registerSensitive(s, 'secret');
const LIVE = [SECRET, PREVIOUS];

const published: RelayEvent[] = [];
const logger = new Logger({ serviceName: 'heygen-relay-hostile' });
// Its own warnings (an empty flush) go to the logger as JSON lines, which the log capture scans and keeps off the console.
const metrics = new Metrics({ namespace: 'HeyGenRelayHostile', serviceName: 'heygen-relay-hostile', logger });
const handler = createIngressHandler({
  pipeline: createIngress({
    maxBodyBytes: MAX_BODY,
    publisher: {
      async publish(event) {
        published.push(event);
      },
    },
    telemetry: powertoolsTelemetry(logger, metrics),
    routes: [
      {
        provider: heygen,
        path: '/heygen',
        keys: new StaticKeySource(LIVE),
        timestampToleranceSeconds: 300,
        budgetMs: 8_000,
        dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: heygen.defaultDedupMode }),
      },
    ],
  }),
  maxBodyBytes: MAX_BODY,
  logger,
  metrics,
});

const stats = { requests: 0, byStatus: {} as Record<string, number>, validlySigned: 0, published: 0 };
const hmac = (key: string, body: Buffer) => createHmac('sha256', key).update(body).digest('hex');

/** The bytes the relay must have verified: the body as received, base64-decoded when flagged. */
function receivedBytes(ev: APIGatewayProxyEventV2): Buffer {
  const raw = ev.body ?? '';
  return ev.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
}

function validlySigned(ev: APIGatewayProxyEventV2): boolean {
  const sigHeader = Object.entries(ev.headers ?? {}).find(([k]) => k.toLowerCase() === 'heygen-signature')?.[1];
  if (!sigHeader) return false;
  const sig = sigHeader.trim().toLowerCase();
  const bytes = receivedBytes(ev);
  return LIVE.some((k) => hmac(k, bytes) === sig);
}

async function check(ev: APIGatewayProxyEventV2): Promise<void> {
  stats.requests++;
  const before = published.length;
  let res: Awaited<ReturnType<typeof handler>>;
  try {
    res = await handler(ev, lambdaContext());
  } catch (err) {
    throw new Error(`handler threw: ${(err as Error)?.name}: ${(err as Error)?.message}`);
  }
  const status = typeof res === 'object' && res !== null ? (res.statusCode ?? 0) : 0;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  expect(status, `status for ${ev.requestContext?.http?.method} ${ev.rawPath}`).toBeGreaterThanOrEqual(200);
  expect(status, `never a 5xx for client input (got ${status}: ${res.body})`).toBeLessThan(500);
  expect(() => JSON.parse(res.body ?? '')).not.toThrow();
  const signed = validlySigned(ev);
  if (signed) stats.validlySigned++;
  const method = (ev.requestContext?.http?.method ?? '').toUpperCase();
  if (status >= 200 && status < 300 && method !== 'OPTIONS')
    expect(signed, `2xx without a valid signature: ${res.body}`).toBe(true);
  if (published.length > before) {
    stats.published++;
    expect(signed, 'published without a valid signature').toBe(true);
    expect(published.length - before).toBe(1);
  }
}

// ---- arbitraries -------------------------------------------------------------------------------
const unicode = fc.string({ unit: 'binary', maxLength: 200 });
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const eventType = fc.oneof(
  fc.constantFrom('avatar_video.success', 'avatar_video.fail', 'video_translate.success', 'personalized_video', ''),
  unicode,
);
const heygenBody = fc
  .record({ event_type: eventType, event_data: fc.oneof(fc.dictionary(fc.string(), jsonValue, { maxKeys: 5 }), jsonValue) })
  .map((o) => JSON.stringify(o));
const sampleBodies = fc.constantFrom(
  ...['avatar_video.success', 'avatar_video.fail', 'video_translate.success', 'video_translate.fail', 'personalized_video'].map(
    sampleBody,
  ),
);
const bodyBytes = fc.oneof(
  { weight: 4, arbitrary: heygenBody.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: sampleBodies.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: unicode.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: MAX_BODY - 8, max: MAX_BODY + 8 })
      .map((n) => Buffer.from(`{"event_type":"avatar_video.success","event_data":{"pad":"${'x'.repeat(Math.max(0, n - 60))}"}}`)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Buffer.alloc(0),
      Buffer.from('null'),
      Buffer.from('[]'),
      Buffer.from('{}'),
      Buffer.from('{"event_type":1}'),
      Buffer.from('\uFEFF{}'),
      Buffer.from('{"__proto__":{"x":1},"event_type":"a.b"}'),
    ),
  },
);
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('POST') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'Post', 'TRACE', 'CONNECT'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
const path = fc.oneof(
  { weight: 6, arbitrary: fc.constant('/heygen') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/heygen/',
      '/HEYGEN',
      '/heygen//',
      '/',
      '',
      '/joggai',
      '/heygen?x=1',
      '/%68eygen',
      '/heygen/../heygen',
      '/heygen\u0000',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
);

const randomHex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Signature header variants for a given body. */
function signatureFor(body: Buffer) {
  const good = hmac(SECRET, body);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(good) },
    { weight: 1, arbitrary: fc.constant(hmac(PREVIOUS, body)) },
    { weight: 1, arbitrary: fc.constant(good.toUpperCase()) },
    { weight: 1, arbitrary: fc.constant(` ${good}\t`) },
    { weight: 1, arbitrary: fc.constant(hmac(WRONG, body)) },
    { weight: 1, arbitrary: fc.constant(`sha256=${good}`) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 63 }).map((n) => good.slice(0, n)) },
    { weight: 1, arbitrary: fc.constant(`${good}00`) },
    { weight: 1, arbitrary: fc.constant(`${good},${good}`) },
    { weight: 1, arbitrary: fc.constant(Buffer.from(good, 'hex').toString('base64')) },
    { weight: 1, arbitrary: randomHex64 },
    { weight: 1, arbitrary: fc.constant(`${good.slice(0, 63)}g`) },
    { weight: 1, arbitrary: fc.constant(hmac(SECRET, Buffer.concat([body, Buffer.from('\n')]))) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: unicode },
  );
}

const headerName = fc.oneof(
  fc.constantFrom(
    'Heygen-Signature',
    'HEYGEN-SIGNATURE',
    'heygen-timestamp',
    'Heygen-Event-Id',
    'content-type',
    'content-length',
    'transfer-encoding',
    'x-forwarded-for',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 30 }),
);
const extraHeaders = fc.dictionary(headerName, fc.oneof(unicode, fc.string({ maxLength: 300 })), { maxKeys: 4 });
const timestamp = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '0',
      '-1',
      '1e10',
      'NaN',
      '99999999999999999999',
      ' 123 ',
      '',
      'abc',
      String(Math.floor(Date.now() / 1000) - 3600),
    ),
  },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** A delivery around a body: encodings, lying base64 flags, signature variants, header noise. */
const delivery = bodyBytes.chain((body) =>
  fc.record({
    body: fc.constant(body),
    sig: fc.option(signatureFor(body), { nil: undefined, freq: 8 }),
    base64: fc.constantFrom('honest-base64', 'utf8', 'lying-flag', 'double-base64', 'base64url'),
    method,
    path,
    extra: extraHeaders,
    ts: timestamp,
  }),
);

function toEvent(d: {
  body: Buffer;
  sig: string | undefined;
  base64: string;
  method: string;
  path: string;
  extra: Record<string, string>;
  ts: string | undefined;
}): APIGatewayProxyEventV2 {
  const ev = functionUrlEvent(d.body, {
    method: d.method,
    path: d.path,
    signature: d.sig ?? null,
    base64: d.base64 === 'honest-base64',
  });
  if (d.base64 === 'lying-flag') ev.isBase64Encoded = true; // raw text claimed to be base64
  if (d.base64 === 'double-base64') ev.body = Buffer.from(ev.body ?? '').toString('base64');
  if (d.base64 === 'base64url') {
    ev.body = d.body.toString('base64url');
    ev.isBase64Encoded = true;
  }
  if (d.ts !== undefined) (ev.headers as Record<string, string>)['heygen-timestamp'] = d.ts;
  for (const [k, v] of Object.entries(d.extra))
    Object.defineProperty(ev.headers, k, { value: v, enumerable: true, configurable: true, writable: true });
  return ev;
}

/** Raw events with arbitrary shapes (missing fields, wrong types), as a misbehaving front end could send. */
const malformedEvent = fc.record(
  {
    version: fc.oneof(fc.constant('2.0'), fc.string()),
    rawPath: fc.oneof(fc.constant('/heygen'), fc.string(), fc.constant(undefined)),
    headers: fc.oneof(fc.constant(undefined), fc.constant({}), extraHeaders),
    body: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }), fc.constant('x'.repeat(MAX_BODY * 2))),
    isBase64Encoded: fc.oneof(fc.boolean(), fc.constant(undefined)),
    requestContext: fc.oneof(
      fc.constant(undefined),
      fc.record({
        http: fc.oneof(fc.constant(undefined), fc.record({ method: method, path: fc.string() })),
        requestId: fc.string(),
      }),
    ),
  },
  { requiredKeys: [] },
) as unknown as fc.Arbitrary<APIGatewayProxyEventV2>;

describe('hostile input (fast-check, local adapters)', () => {
  it('random and adversarial deliveries: no 2xx or publish without a valid signature, no 5xx, never throws', async () => {
    await fc.assert(
      fc.asyncProperty(delivery, async (d) => {
        await check(toEvent(d));
      }),
      { numRuns: 7_000 },
    );
  }, 60_000);

  it('validly signed deliveries with hostile bodies and encodings: 2xx only when published or duplicate, else 4xx', async () => {
    const signed = bodyBytes.chain((body) =>
      fc.record({ body: fc.constant(body), honestBase64: fc.boolean(), key: fc.constantFrom(SECRET, PREVIOUS) }),
    );
    await fc.assert(
      fc.asyncProperty(signed, async ({ body, honestBase64, key }) => {
        const ev = functionUrlEvent(body, { signature: hmac(key, body), base64: honestBase64 });
        const before = published.length;
        await check(ev);
        if (published.length > before) expect(published.at(-1)?.provider).toBe('heygen');
      }),
      { numRuns: 2_000 },
    );
  }, 60_000);

  it('malformed Function URL events (missing or mistyped fields): never throws, never 5xx, never publishes unsigned', async () => {
    await fc.assert(
      fc.asyncProperty(malformedEvent, async (ev) => check(ev)),
      { numRuns: 1_500 },
    );
  }, 60_000);

  it('regression (found by this suite, fixed in af14b50): validly signed bodies whose event_type is an Object.prototype key never answer 500', async () => {
    const outcomes: Record<string, number> = {};
    for (const type of ['valueOf', 'constructor', 'toString', 'hasOwnProperty', '__proto__', '__defineGetter__']) {
      const body = Buffer.from(JSON.stringify({ event_type: type, event_data: {} }));
      const res = await handler(functionUrlEvent(body, { signature: hmac(SECRET, body) }), lambdaContext());
      outcomes[type] = res.statusCode ?? 0;
    }
    // functions/providers/heygen/index.ts looked the event family up in a plain object
    // (SUBJECT_RULES[family]), so "valueOf" found Object.prototype.valueOf and normalize threw.
    expect(Object.entries(outcomes).filter(([, s]) => s >= 500)).toEqual([]);
  });

  it('totals', () => {
    writeFigures('hostile', {
      hostileInputsTried: stats.requests,
      byStatus: stats.byStatus,
      validlySigned: stats.validlySigned,
      published: stats.published,
    });
    expect(stats.requests).toBeGreaterThanOrEqual(10_000);
    expect(stats.published).toBeGreaterThan(0);
  });
});
