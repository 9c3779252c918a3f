/**
 * Issue 12, "Intake hardening": one block per finding, each over the real handler (middy + core)
 * and the real AWS adapters on mocked SDK clients, or the local relay over HTTP.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectoryParkedStore } from '../../functions/adapters/local/parked-dir.js';
import { buildLocalHandler, type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import { numberRoundTrips } from '../../functions/core/fidelity.js';
import { createIngress } from '../../functions/core/ingress.js';
import { parkedBody, parseParkedRecord } from '../../functions/core/parked.js';
import type { EventPublisher } from '../../functions/core/ports.js';
import { MAX_ENTRY_BYTES, putEventsEntrySize } from '../../functions/core/publish-limits.js';
import { sign } from '../../functions/core/verify.js';
import { createIngressHandler } from '../../functions/wiring/ingress-handler.js';
import { listParked, republishParked } from '../../functions/wiring/parked-ops.js';
import { joggai } from '../../providers/joggai/runtime/index.js';
import { answerBudgetMs, eventId } from '../../providers/runtime.js';
import { type BuildOptions, buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { functionUrlEvent, sampleBody } from '../support/heygen.js';
import { joggaiEvent, joggaiSample } from '../support/joggai.js';

const SECRET = 'whsec_hardening_primary_0123456789abcdef';
const NEXT = 'whsec_hardening_rotated_fedcba9876543210';
const aws = new MockAws();
const silent = () => new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const ctx = () => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;
const json = (res: APIGatewayProxyStructuredResultV2) => JSON.parse(res.body ?? '{}') as Record<string, any>;
const build = (options: BuildOptions = {}) => buildAwsHandler(aws, options);
const heygenBody = (data: string) => `{"event_type":"avatar_video.success","event_data":${data}}`;

beforeEach(() => {
  aws.reset();
  aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET }) };
});
afterAll(() => {
  aws.ddb.restore();
  aws.eb.restore();
  aws.sm.restore();
});

describe('Finding 1: a weak or placeholder secret is never a key', () => {
  // [stored SecretString, the key the old code derived from it (what an attacker signs with)]
  it.each([
    ['the README example', '{"secret":"whsec_..."}', 'whsec_...'],
    ['REPLACE_ME', '{"secret":"REPLACE_ME"}', 'REPLACE_ME'],
    ['whitespace', '{"secret":"   \\t  "}', '   \t  '],
    ['the string null', 'null', 'null'],
    ['a JSON array', '["whsec_abcdefghijklmnopqrstuvwx"]', '["whsec_abcdefghijklmnopqrstuvwx"]'],
    ['a short secret', '{"secret":"whsec_abc123"}', 'whsec_abc123'],
  ])(
    'answers 503 not_configured for AWSCURRENT = %s, publishes nothing, warns with the stage and reason only',
    async (_n, stored, key) => {
      aws.stages.AWSCURRENT = { value: stored };
      const refused: [string, string][] = [];
      const { handler } = build({ keyOptions: { onWeakSecret: (stage, reason) => refused.push([stage, reason]) } });
      const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: key }), ctx());
      expect(res.statusCode).toBe(503);
      expect(json(res).error.code).toBe('not_configured');
      expect(aws.published).toHaveLength(0);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]?.[0]).toBe('AWSCURRENT');
      for (const [, reason] of refused) if (key.trim().length > 0) expect(reason).not.toContain(key.trim());
    },
  );

  it('keeps using a good AWSPENDING while AWSCURRENT is a placeholder, and refuses a body signed with the placeholder', async () => {
    aws.stages.AWSCURRENT = { value: '{"secret":"whsec_REPLACE_ME_0123456789"}' };
    aws.stages.AWSPENDING = { value: JSON.stringify({ secret: NEXT }) };
    const { handler } = build();
    const body = sampleBody('avatar_video.success');
    expect((await handler(functionUrlEvent(body, { secret: 'whsec_REPLACE_ME_0123456789' }), ctx())).statusCode).toBe(401);
    expect((await handler(functionUrlEvent(body, { secret: NEXT }), ctx())).statusCode).toBe(200);
    expect(aws.published).toHaveLength(1);
  });

  it('the local relay refuses a weak secret too: 503 not_configured', async () => {
    const warn: unknown[] = [];
    const logger = silent();
    vi.spyOn(logger, 'warn').mockImplementation((...args: unknown[]) => void warn.push(args));
    const { handler } = buildLocalHandler({
      providers: [{ name: 'heygen', secrets: ['whsec_...'] }],
      sinkPath: join(mkdtempSync(join(tmpdir(), 'relay-')), 'events.jsonl'),
      logger,
    });
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: 'whsec_...' }), ctx());
    expect(res.statusCode).toBe(503);
    expect(json(res).error.code).toBe('not_configured');
    expect(JSON.stringify(warn)).not.toContain('whsec_...');
    expect(JSON.stringify(warn)).toContain('"label":"local"');
  });
});

describe('Finding 2: stale-while-revalidate keys ride out a hanging or failing Secrets Manager', () => {
  /** Secrets Manager that never answers (until aborted), as in the outage the issue describes. */
  const hang = () =>
    aws.sm.on(GetSecretValueCommand).callsFake(
      (_input, getClient) =>
        new Promise((_, reject) => {
          void getClient;
          setTimeout(() => reject(Object.assign(new Error('hung'), { name: 'TimeoutError' })), 60_000).unref();
        }),
    );

  it.each([
    ['heygen', {}],
    ['joggai', { provider: joggai }],
  ] as const)(
    '%s: with the cache expired, serves the last good keys without waiting (200), then takes up fresh keys after the outage',
    async (name, options) => {
      let clock = 1_000_000;
      const { handler } = build({
        ...options,
        // 1.2 s budget: waiting on the hung read at all would answer 503 deadline_exceeded.
        budgetMs: 1_200,
        keyOptions: { cacheTtlMs: 1_000, minRefreshIntervalMs: 0, staleWaitMs: 100, loadTimeoutMs: 200, now: () => clock },
      });
      const deliver = (variant: number, secret: string) =>
        name === 'heygen'
          ? handler(functionUrlEvent(heygenBody(`{"video_id":"v${variant}"}`), { secret }), ctx())
          : handler(
              joggaiEvent(joggaiSample('generated_avatar_video_success').replace('"data":{', `"data":{"n":${variant},`), {
                secret,
              }),
              ctx(),
            );
      expect((await deliver(0, SECRET)).statusCode).toBe(200); // keys read, cached
      clock += 5_000; // cache expired
      hang();
      for (let i = 1; i <= 3; i++) expect((await deliver(i, SECRET)).statusCode).toBe(200);
      // Outage over: the secret rotated meanwhile. After the back-off, a miss re-reads and the new key verifies.
      await new Promise((r) => setTimeout(r, 250)); // the hung read hits its own deadline (loadTimeoutMs)
      aws.reset();
      aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: NEXT }) };
      clock += 60_000;
      let status = 0;
      for (let i = 0; i < 5 && status !== 200; i++) {
        status = (await deliver(10 + i, NEXT)).statusCode ?? 0;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(200);
    },
  );

  it('backs off after a failed read: a flood of misses during an outage does not hammer Secrets Manager', async () => {
    let clock = 1_000_000;
    const { handler } = build({ keyOptions: { cacheTtlMs: 1_000, minRefreshIntervalMs: 0, now: () => clock } });
    expect((await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    aws.sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('down'), { name: 'InternalServiceError' }));
    clock += 5_000;
    const before = aws.sm.commandCalls(GetSecretValueCommand).length;
    for (let i = 0; i < 10; i++) {
      const res = await handler(functionUrlEvent(heygenBody(`{"video_id":"b${i}"}`), { secret: SECRET }), ctx());
      expect(res.statusCode).toBe(200);
      const miss = await handler(functionUrlEvent(heygenBody(`{"video_id":"m${i}"}`), { secret: NEXT }), ctx());
      expect(miss.statusCode).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 20));
    // One failed read (two stages), then the back-off holds: not one read per request.
    expect(aws.sm.commandCalls(GetSecretValueCommand).length - before).toBeLessThanOrEqual(4);
  });
});

describe('Finding 3: a signed delivery EventBridge can never take is parked, answered 202, counted', () => {
  it.each(['MalformedDetail', 'ValidationException'])('parks on a permanent entry error %s without echoing it', async (code) => {
    aws.eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: code, ErrorMessage: 'no' }] });
    const { handler, telemetry, parked } = build();
    const body = sampleBody('avatar_video.success');
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(202);
    expect(json(res)).toMatchObject({ status: 'parked', reason: 'rejected_by_bus' });
    expect(res.body).not.toContain(code);
    const kept = parked?.byId.get(eventId('heygen', Buffer.from(body)));
    expect(kept?.body.toString('utf8')).toBe(body);
    expect(kept?.busCode).toBe(code);
    expect(kept?.headers['heygen-signature']).toBeUndefined();
    expect(telemetry.counts).toContainEqual({ metric: 'Parked', dimensions: { provider: 'heygen', reason: 'rejected_by_bus' } });
  });

  it('parks 5,000 levels of nesting (too_deep) instead of overflowing JSON.stringify', async () => {
    const { handler, parked } = build();
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const res = await handler(functionUrlEvent(heygenBody(`{"x":${deep}}`), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(202);
    expect(json(res).reason).toBe('too_deep');
    expect(parked?.byId.size).toBe(1);
    expect(aws.published).toHaveLength(0);
  });

  it('publishes 1,099 levels (1,100 in the envelope) and parks one more', async () => {
    const { handler } = build();
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    // body {event_data:{x:[[...]]}} → envelope {data:{x:[[...]]}}: 1 + 1 + n levels
    expect((await handler(functionUrlEvent(heygenBody(`{"x":${nest(1_098)}}`), { secret: SECRET }), ctx())).statusCode).toBe(200);
    expect((await handler(functionUrlEvent(heygenBody(`{"x":${nest(1_099)}}`), { secret: SECRET }), ctx())).statusCode).toBe(202);
  });

  it('answers 503 (the provider retries) when the parked store fails, and publishes nothing', async () => {
    const { handler, parked } = build();
    if (parked) parked.fail = new Error('S3 down');
    aws.eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail' }] });
    const res = await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toContain('MalformedDetail');
  });

  it("lists and re-publishes a parked delivery from the local directory store (the operators' functions)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parked-'));
    const store = new DirectoryParkedStore(dir);
    const body = heygenBody('{"video_id":"p1","n":12345678901234567890}');
    const id = eventId('heygen', Buffer.from(body));
    await store.park({
      id,
      provider: 'heygen',
      reason: 'lossy_number',
      message: 'm',
      receivedAt: '2026-01-01T00:00:00.000Z',
      path: '/heygen',
      headers: { 'heygen-event-id': 'evt_1' },
      keyLabel: 'AWSCURRENT',
      body: Buffer.from(body),
    });
    const listed = await listParked(store);
    expect(listed).toMatchObject([
      { provider: 'heygen', reason: 'lossy_number', key: `parked/heygen/evt-${id.split(':').at(-1)}.json` },
    ]);
    const record = parseParkedRecord(readFileSync(join(dir, listed[0]?.key ?? ''), 'utf8'));
    expect(parkedBody(record).toString('utf8')).toBe(body);
    const published: string[] = [];
    const publisher: EventPublisher = { publish: async (_e, _s, detail) => void published.push(detail ?? '') };
    // Still lossy with the current code: kept, reported.
    expect(await republishParked({ archive: store, publisher }, listed[0]?.key ?? '')).toMatchObject({
      outcome: 'still_unpublishable',
      reason: 'lossy_number',
    });
    // The operator accepts the double: published with the original id and receivedAt, then removed.
    expect(await republishParked({ archive: store, publisher }, listed[0]?.key ?? '', { acceptLossy: true })).toMatchObject({
      outcome: 'published',
      id,
    });
    expect(JSON.parse(published[0] ?? '{}')).toMatchObject({ id, receivedAt: '2026-01-01T00:00:00.000Z', deliveryId: 'evt_1' });
    expect(await listParked(store)).toEqual([]);
  });
});

describe("Finding 4: the entry size is AWS's formula, Time's 14 bytes included", () => {
  it('counts 14 bytes for Time, and the UTF-8 bytes of source, detail-type and detail', () => {
    expect(putEventsEntrySize({ source: 'heygen', detailType: 'a.b', detail: '{"é":1}', hasTime: true })).toBe(14 + 6 + 3 + 8);
    expect(putEventsEntrySize({ source: 'heygen', detailType: 'a.b', hasTime: false, resources: ['r1'] })).toBe(6 + 3 + 2);
  });

  /** A signed body whose entry measures `target` bytes, found from a published probe's Detail. */
  async function bodyOfEntrySize(target: number): Promise<string> {
    const probe = heygenBody('{"video_id":"size","pad":""}');
    const { handler } = build();
    await handler(functionUrlEvent(probe, { secret: SECRET, timestamp: null }), ctx());
    const entry = aws.published.at(-1);
    const size =
      14 +
      Buffer.byteLength(entry?.Source ?? '') +
      Buffer.byteLength(entry?.DetailType ?? '') +
      Buffer.byteLength(entry?.Detail ?? '');
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET }) };
    return heygenBody(`{"video_id":"size","pad":"${'x'.repeat(target - size)}"}`);
  }

  it.each([
    [MAX_ENTRY_BYTES - 1, 200],
    [MAX_ENTRY_BYTES, 200],
    [MAX_ENTRY_BYTES + 1, 202],
  ])('an entry of %i bytes is answered %i', async (target, status) => {
    const body = await bodyOfEntrySize(target);
    const { handler } = build();
    const res = await handler(functionUrlEvent(body, { secret: SECRET, timestamp: null }), ctx());
    expect(res.statusCode).toBe(status);
    if (status === 200) {
      const e = aws.published[0];
      expect(
        14 + Buffer.byteLength(e?.Source ?? '') + Buffer.byteLength(e?.DetailType ?? '') + Buffer.byteLength(e?.Detail ?? ''),
      ).toBe(target);
    } else expect(json(res).reason).toBe('too_large');
  });

  it('the local relay applies the same limit: a 262,144-byte body is parked, not published', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-'));
    const published: unknown[] = [];
    const { handler } = buildLocalHandler({
      providers: [{ name: 'heygen', secrets: [SECRET] }],
      sinkPath: join(dir, 'events.jsonl'),
      publisher: { publish: async (e) => void published.push(e) },
      logger: silent(),
    });
    const body = heygenBody(
      `{"video_id":"big","pad":"${'x'.repeat(262_144 - heygenBody('{"video_id":"big","pad":""}').length)}"}`,
    );
    expect(Buffer.byteLength(body)).toBe(262_144);
    const res = await handler(functionUrlEvent(body, { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(202);
    expect(json(res).reason).toBe('too_large');
    expect(published).toHaveLength(0);
    expect(readdirSync(join(dir, 'parked', 'parked', 'heygen'))).toHaveLength(1);
  });
});

describe('Finding 5: every rejection is routed, logged and counted; the local server stops reading', () => {
  const big = 'x'.repeat(300 * 1024);
  it.each([
    ['an unknown path', { path: '/other' }, 404, 'not_found'],
    ['GET', { method: 'GET' }, 405, 'method_not_allowed'],
    ['POST /heygen', {}, 413, 'payload_too_large'],
    ['POST /heygen, base64', { base64: true }, 413, 'payload_too_large'],
  ] as const)(
    'an oversized body on %s gets the answer its route and method call for, a WARN line and a Rejected count',
    async (_n, options, status, code) => {
      const { handler, telemetry } = build();
      const res = await handler(functionUrlEvent(big, { secret: SECRET, ...options }), ctx());
      expect(res.statusCode).toBe(status);
      expect(json(res).error.code).toBe(code);
      expect(telemetry.counts.some((c) => c.metric === 'Rejected' && c.dimensions?.reason === code)).toBe(true);
      expect(telemetry.lines.some((l) => l.level === 'warn' && l.attributes?.code === code)).toBe(true);
    },
  );

  describe('local server', () => {
    let relay: LocalRelay;
    afterEach(() => relay?.close());
    it('answers 413 to a declared 100 MiB body without reading it', async () => {
      relay = await startLocalRelay({
        providers: [{ name: 'heygen', secrets: [SECRET] }],
        sinkPath: join(mkdtempSync(join(tmpdir(), 'relay-')), 'events.jsonl'),
        maxBodyBytes: 4096,
        logger: silent(),
      });
      const url = new URL(`${relay.url}/heygen`);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { 'content-length': String(100 * 1024 * 1024) },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write(Buffer.alloc(64 * 1024)); // far less than declared: the old server waited for the rest
      });
      expect(status).toBe(413);
    });
  });
});

describe('Finding 6: data is carried exactly or the delivery is parked', () => {
  it.each([
    ['a 20-digit integer', '{"video_id":12345678901234567890}', 'lossy_number'],
    ['1e400', '{"video_id":"v","x":1e400}', 'lossy_number'],
    ['more digits than a double holds', '{"video_id":"v","x":0.10000000000000000001}', 'lossy_number'],
    ['a repeated key', '{"video_id":"v","video_id":"w"}', 'duplicate_key'],
  ])('parks %s (%s)', async (_n, data, reason) => {
    const { handler, parked } = build();
    const res = await handler(functionUrlEvent(heygenBody(data), { secret: SECRET }), ctx());
    expect(res.statusCode).toBe(202);
    expect(json(res).reason).toBe(reason);
    expect(aws.published).toHaveLength(0);
    expect(parked?.byId.size).toBe(1);
  });

  it('parks a body that is not UTF-8 (invalid_utf8), keeping its bytes', async () => {
    const { handler, parked } = build();
    const raw = Buffer.concat([
      Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const res = await handler(functionUrlEvent(raw, { secret: SECRET, base64: true }), ctx());
    expect(res.statusCode).toBe(202);
    expect(json(res).reason).toBe('invalid_utf8');
    expect([...(parked?.byId.values() ?? [])][0]?.body.equals(raw)).toBe(true);
  });

  it('publishes numbers a double holds exactly, however they are written', async () => {
    const { handler } = build();
    const res = await handler(
      functionUrlEvent(heygenBody('{"video_id":"v","a":1.5,"b":-0,"c":1e2,"d":0.1,"e":9007199254740993e-16,"f":[1,2.50]}'), {
        secret: SECRET,
      }),
      ctx(),
    );
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['0', true],
    ['-0.0', true],
    ['1E2', true],
    ['100.000', true],
    ['9007199254740992', true],
    ['9007199254740993', false],
    ['1e309', false],
    ['5e-324', true],
    ['1e-400', false],
  ])('numberRoundTrips(%s) is %s', (lit, ok) => {
    expect(numberRoundTrips(lit)).toBe(ok);
  });
});

describe('Finding 7: the handler never logs the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says', () => {
  it('does not log the invocation event with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    try {
      const logger = new Logger({ serviceName: 'test' });
      expect(logger.getLogEvent()).toBe(true); // the environment asks for it
      const info = vi.spyOn(logger, 'info').mockImplementation(() => {});
      const pipeline = createIngress({
        maxBodyBytes: 1024,
        publisher: { publish: async () => {} },
        telemetry: { debug() {}, info() {}, warn() {}, error() {}, count() {} },
        routes: [],
      });
      const handler = createIngressHandler({
        pipeline,
        maxBodyBytes: 1024,
        logger,
        metrics: new Metrics({ namespace: 'T', serviceName: 't' }),
      });
      await handler(functionUrlEvent('{"secret-body":1}', { secret: SECRET }), ctx());
      expect(JSON.stringify(info.mock.calls)).not.toContain('secret-body');
      expect(info.mock.calls.map((c) => c[0])).not.toContain('Lambda invocation event');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('Finding 8: timestamps', () => {
  it('with tolerance 0 ignores a malformed Heygen-Timestamp; with the check on answers 400 invalid_timestamp', async () => {
    const body = sampleBody('avatar_video.success');
    const off = build({ toleranceSeconds: 0 });
    const ev = functionUrlEvent(body, { secret: SECRET, headers: { 'heygen-timestamp': 'yesterday' } });
    expect((await off.handler(ev, ctx())).statusCode).toBe(200);
    const on = build();
    const res = await on.handler(
      functionUrlEvent(sampleBody('avatar_video.fail'), { secret: SECRET, headers: { 'heygen-timestamp': 'yesterday' } }),
      ctx(),
    );
    expect(res.statusCode).toBe(400);
    expect(json(res).error.code).toBe('invalid_timestamp');
  });

  it('JoggAI: with tolerance 0 a malformed body timestamp is not read', async () => {
    const { handler } = build({ provider: joggai, toleranceSeconds: 0 });
    const body = joggaiSample('generated_avatar_video_success').replace(/"timestamp":\s*\d+/, '"timestamp":"yesterday"');
    expect((await handler(joggaiEvent(body, { secret: SECRET }), ctx())).statusCode).toBe(200);
  });
});

describe('Finding 9: only a well-formed signature that fails re-reads the secrets', () => {
  it.each(['x', 'abc', 'z'.repeat(64), 'a'.repeat(63)])('signature %j: 401, no Secrets Manager read', async (signature) => {
    const { handler } = build({ keyOptions: { minRefreshIntervalMs: 0 } });
    expect((await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    const reads = aws.secretReads;
    for (let i = 0; i < 5; i++) {
      const res = await handler(functionUrlEvent(heygenBody(`{"video_id":"f${i}"}`), { signature }), ctx());
      expect(res.statusCode).toBe(401);
    }
    expect(aws.secretReads).toBe(reads);
  });

  it('a well-formed signature that fails does re-read (rotation pickup)', async () => {
    const { handler } = build({ keyOptions: { minRefreshIntervalMs: 0 } });
    expect((await handler(functionUrlEvent(sampleBody('avatar_video.success'), { secret: SECRET }), ctx())).statusCode).toBe(200);
    const reads = aws.secretReads;
    await handler(
      functionUrlEvent(heygenBody('{"video_id":"w"}'), { signature: sign('whsec_fake_other_key_0123456789', 'x') }),
      ctx(),
    );
    expect(aws.secretReads).toBeGreaterThan(reads);
  });
});

describe('Finding 10: one publish per key in flight in an execution environment (record mode)', () => {
  it('50 concurrent copies of one signed HeyGen body publish once', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    aws.eb.on(PutEventsCommand).callsFake(async (input) => {
      await gate;
      aws.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: [{ EventId: 'ev' }] };
    });
    const { handler, telemetry } = build({ dedupMode: 'record' });
    const body = sampleBody('avatar_video.success');
    const answers = Array.from({ length: 50 }, () => handler(functionUrlEvent(body, { secret: SECRET }), ctx()));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const res = await Promise.all(answers);
    expect(res.every((r) => r.statusCode === 200)).toBe(true);
    expect(aws.published).toHaveLength(1);
    expect(telemetry.counts.filter((c) => c.metric === 'ConcurrentDuplicate')).toHaveLength(0);
    expect(res.filter((r) => json(r).status === 'duplicate')).toHaveLength(49);
  });
});

// Keeps StaticKeySource's label contract visible next to finding 1's local case.
describe('Class: StaticKeySource', () => {
  it('reports a refused secret by its label and reason, never its value', async () => {
    const reports: string[] = [];
    const source = new StaticKeySource(['REPLACE_ME', SECRET], 'local', (label, reason) => reports.push(`${label}:${reason}`));
    expect((await source.getKeys()).map((k) => k.secret)).toEqual([SECRET]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).not.toContain('REPLACE_ME');
  });
});

void answerBudgetMs;
