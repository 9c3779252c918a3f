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
import type { ParkedDelivery } from '../../functions/core/ports.js';
import { MAX_ENTRY_BYTES } from '../../functions/core/publish-limits.js';
import { createIngressHandler } from '../../functions/wiring/ingress-handler.js';
import { powertoolsTelemetry } from '../../functions/wiring/observability.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
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
/** The data of the last event in `events` (it fails when none was published). */
function lastData<T>(events: readonly RelayEvent[]): T {
  const last = events.at(-1);
  if (!last) throw new Error('no event was published');
  return last.data as T;
}
const parked: ParkedDelivery[] = [];
const parkedStore = { park: async (d: ParkedDelivery) => void parked.push(d) };
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
    parked: parkedStore,
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

const stats = { requests: 0, byStatus: {} as Record<string, number>, validlySigned: 0, published: 0, parked: 0 };
/** Issue 12's shapes, counted for RELIABILITY.md. */
const shapes = {
  placeholderSecrets: { tried: 0, answered503: 0, published: 0 },
  numbers: { tried: 0, publishedExact: 0, parkedLossy: 0, publishedLossy: 0 },
  sizeBoundary: { tried: 0, publishedAtOrUnder: 0, parkedOver: 0, wrong: 0 },
};
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
  const parkedBefore = stats.parked;
  if (status === 202) {
    stats.parked++;
    expect(signed, `parked without a valid signature: ${res.body}`).toBe(true);
    expect(parked.length).toBeGreaterThan(0);
  }
  void parkedBefore;
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
    // providers/heygen/runtime/index.ts looked the event family up in a plain object
    // (SUBJECT_RULES[family]), so "valueOf" found Object.prototype.valueOf and normalize threw.
    expect(Object.entries(outcomes).filter(([, s]) => s >= 500)).toEqual([]);
  });

  it('placeholder and weak secrets (issue 12): a delivery signed with one is never published, always 503 not_configured', async () => {
    const weak = fc.oneof(
      fc.constantFrom(
        'whsec_...',
        'REPLACE_ME',
        'whsec_REPLACE_ME_0123456789', // a test placeholder
        '<your secret>',
        'null',
        'changeme',
        'whsec_xxxxxxxxxxxxxxxx',
        '{{secret}}',
      ),
      fc.string({ maxLength: 15 }).filter((x) => x.length > 0),
      fc.stringMatching(/^[ \t\n]{1,20}$/),
      fc.constantFrom('a'.repeat(40), 'ababababababababab'),
    );
    await fc.assert(
      fc.asyncProperty(weak, sampleBodies, async (secret, body) => {
        const pub: RelayEvent[] = [];
        const weakHandler = createIngressHandler({
          pipeline: createIngress({
            maxBodyBytes: MAX_BODY,
            publisher: { publish: async (e) => void pub.push(e) },
            telemetry: powertoolsTelemetry(logger, metrics),
            routes: [
              {
                provider: heygen,
                path: '/heygen',
                keys: new StaticKeySource([secret]),
                timestampToleranceSeconds: 300,
                budgetMs: 8_000,
                dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15 }),
              },
            ],
          }),
          maxBodyBytes: MAX_BODY,
          logger,
          metrics,
        });
        shapes.placeholderSecrets.tried++;
        const res = await weakHandler(functionUrlEvent(body, { signature: hmac(secret, Buffer.from(body)) }), lambdaContext());
        if (res.statusCode === 503 && JSON.parse(res.body ?? '{}').error?.code === 'not_configured')
          shapes.placeholderSecrets.answered503++;
        shapes.placeholderSecrets.published += pub.length;
        expect(pub).toHaveLength(0);
        expect(res.statusCode).toBe(503);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('number fidelity (issue 12): a signed number is published with exactly its value, or parked lossy_number', async () => {
    const literal = fc.oneof(
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.tuple(fc.integer({ min: 1, max: 99_999 }), fc.integer({ min: -400, max: 400 })).map(([m, e]) => `${m}e${e}`),
      fc.tuple(fc.nat(), fc.stringMatching(/^[0-9]{1,25}$/)).map(([i, f]) => `${i}.${f}`),
    );
    await fc.assert(
      fc.asyncProperty(literal, async (lit) => {
        shapes.numbers.tried++;
        const body = Buffer.from(`{"event_type":"avatar_video.success","event_data":{"video_id":"n","x":${lit}}}`);
        const before = published.length;
        const res = await handler(functionUrlEvent(body, { signature: hmac(SECRET, body) }), lambdaContext());
        const n = Number(lit);
        // Exact: the double's shortest form names the same decimal value as the literal.
        const exact = Number.isFinite(n) && BigIntOrDecimalEqual(lit, String(n));
        if (res.statusCode === 202) {
          expect(JSON.parse(res.body ?? '{}').reason).toBe('lossy_number');
          expect(exact).toBe(false);
          shapes.numbers.parkedLossy++;
        } else if (published.length > before) {
          const x = lastData<{ x: number }>(published).x;
          if (exact) shapes.numbers.publishedExact++;
          else shapes.numbers.publishedLossy++;
          expect(exact, `published ${lit} as ${x}`).toBe(true);
        } else expect(res.statusCode).toBe(200); // a duplicate of an earlier exact literal
      }),
      { numRuns: 2_000 },
    );
    expect(shapes.numbers.publishedLossy).toBe(0);
  }, 60_000);

  it("entry size boundary (issue 12): at or under 256 KB by AWS's formula published, one byte over parked", async () => {
    const pub: RelayEvent[] = [];
    const big = createIngressHandler({
      pipeline: createIngress({
        maxBodyBytes: 256 * 1024,
        publisher: {
          publish: async (e, _s, detail) => void pub.push({ ...e, data: { detailBytes: Buffer.byteLength(detail ?? '') } }),
        },
        parked: parkedStore,
        telemetry: powertoolsTelemetry(logger, metrics),
        routes: [
          {
            provider: heygen,
            path: '/heygen',
            keys: new StaticKeySource(LIVE),
            timestampToleranceSeconds: 0,
            budgetMs: 8_000,
            dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15 }),
          },
        ],
      }),
      maxBodyBytes: 256 * 1024,
      logger,
      metrics,
    });
    const bodyWithPad = (n: number, tag: string) =>
      Buffer.from(
        `{"event_type":"avatar_video.success","event_data":{"video_id":"${tag}","pad":"${'é'.repeat(n % 2)}${'x'.repeat(n)}"}}`,
      );
    // Measure the envelope overhead once with a small pad, then aim at the limit.
    await big(functionUrlEvent(bodyWithPad(10, 'probe'), { secret: SECRET }), lambdaContext());
    const entry = (detailBytes: number) => 14 + 'heygen'.length + 'avatar_video.success'.length + detailBytes;
    const base = entry(lastData<{ detailBytes: number }>(pub).detailBytes) - 10;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -40, max: 40 }), fc.uuid(), async (delta, tag) => {
        shapes.sizeBoundary.tried++;
        const pad = MAX_ENTRY_BYTES - base + delta - (tag.length - 'probe'.length);
        const body = bodyWithPad(pad, tag);
        const res = await big(functionUrlEvent(body, { secret: SECRET }), lambdaContext());
        const size = res.statusCode === 200 ? entry(lastData<{ detailBytes: number }>(pub).detailBytes) : undefined;
        if (res.statusCode === 200 && size !== undefined && size <= MAX_ENTRY_BYTES) shapes.sizeBoundary.publishedAtOrUnder++;
        else if (res.statusCode === 202 && JSON.parse(res.body ?? '{}').reason === 'too_large') shapes.sizeBoundary.parkedOver++;
        else shapes.sizeBoundary.wrong++;
      }),
      { numRuns: 200 },
    );
    expect(shapes.sizeBoundary.wrong).toBe(0);
    expect(shapes.sizeBoundary.publishedAtOrUnder).toBeGreaterThan(0);
    expect(shapes.sizeBoundary.parkedOver).toBeGreaterThan(0);
  }, 60_000);

  it('totals', () => {
    writeFigures('hostile', {
      hostileInputsTried: stats.requests,
      byStatus: stats.byStatus,
      validlySigned: stats.validlySigned,
      published: stats.published,
      parked: stats.parked,
      shapes,
    });
    expect(stats.requests).toBeGreaterThanOrEqual(10_000);
    expect(stats.published).toBeGreaterThan(0);
  });
});

/** Whether two decimal literals name the same value (sign of zero aside). */
function BigIntOrDecimalEqual(a: string, b: string): boolean {
  const norm = (lit: string) => {
    const neg = lit.startsWith('-');
    const body = neg ? lit.slice(1) : lit;
    const [mant = '', expPart] = body.split(/[eE]/);
    const [int = '', frac = ''] = mant.split('.');
    let digits = int + frac;
    let exp = Number(expPart ?? 0) + int.length;
    const lead = digits.match(/^0*/)?.[0].length ?? 0;
    digits = digits.slice(lead);
    exp -= lead;
    digits = digits.replace(/0+$/, '');
    return digits === '' ? '0' : `${neg ? '-' : ''}${digits}e${exp}`;
  };
  return norm(a) === norm(b);
}
