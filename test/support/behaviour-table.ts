/**
 * The provider-independent ingress behaviour table (401/404/405/409/413/400/503, dedup, deadline, release on
 * failure, secret refresh, no secrets in logs), run over the AWS adapters (aws-sdk-client-mock) for one provider.
 * Each provider's test file calls `describeBehaviourTable(spec)` and keeps only its own rules next to it.
 */

import { type AttributeValue, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localContext } from '../../functions/adapters/local/http-server.js';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import type { DedupMode } from '../../functions/core/ports.js';
import { eventId, getProvider } from '../../providers/runtime.js';
import { type BuildOptions, buildAwsHandler, type MockAws } from './aws-mocks.js';

export const ctx = (): Context => localContext('test');
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The error body every non-2xx answer carries; returns its `error`. */
export function errorBody(res: { body?: string }) {
  const parsed = JSON.parse(res.body ?? '');
  expect(parsed).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  return parsed.error as { code: string; message: string };
}

/** How a test shapes one delivery; the spec's `event` turns it into a Function URL event. */
export interface Delivery {
  /** Sign the body with this secret. */
  readonly secret?: string;
  /** The signature header's value; null leaves it out. */
  readonly signature?: string | null;
  readonly method?: string;
  readonly path?: string;
  readonly base64?: boolean;
  readonly headers?: Record<string, string>;
}

export interface BehaviourSpec {
  /** The provider's name: the EventBridge source, the dedup key prefix and the metric dimension. */
  readonly name: string;
  /** The shared mock (one per test file: aws-sdk-client-mock stubs the client classes globally). */
  readonly aws: MockAws;
  /** Options for buildAwsHandler (the provider plug-in). */
  readonly build?: BuildOptions;
  /** The primary signing secret and another one. */
  readonly secret: string;
  readonly other: string;
  /** AWSCURRENT's endpoint id. */
  readonly endpointId: string;
  /** The header that carries the signature (lowercase). */
  readonly signatureHeader: string;
  /** A signed-able delivery for this provider. */
  event(body: string | Buffer, delivery?: Delivery): APIGatewayProxyEventV2;
  /** Three distinct valid sample bodies, with a current timestamp where the provider has one in the body. */
  sample(variant?: 0 | 1 | 2): string;
  /** A delivery of sample `variant` sent at `timestamp` (null: without a timestamp), however the provider carries it. */
  timestamped(timestamp: number | null, delivery: Delivery, variant?: 0 | 1 | 2): APIGatewayProxyEventV2;
  /** A body in the provider's envelope (type undefined leaves the event type out), with a current timestamp if any. */
  envelope(type: string | undefined, data: unknown): string;
  /** An event type the provider accepts. */
  readonly type: string;
  /** The first published event: sample 0, with these headers, is published with this type and these detail fields. */
  readonly published: {
    readonly headers?: Record<string, string>;
    readonly type: string;
    detail(body: string): Record<string, unknown>;
    /** A string of sample 0's body that must not reach the logs. */
    readonly marker: string;
  };
  /** Headers a retry of the same body may carry (a new delivery id): still a duplicate. */
  readonly retryHeaders?: Record<string, string>;
  /**
   * The timestamp is part of the signed content (Standard Webhooks): without it nothing can be
   * verified, so its absence is 401 `missing_signature` whatever the tolerance.
   */
  readonly timestampSigned?: boolean;
  /**
   * The source id the route serves (a further account of the provider, `build.source`): the
   * envelope's `source` and the metrics' `provider` label. @default the provider's name
   */
  readonly source?: string;
}

export function describeBehaviourTable(spec: BehaviourSpec): void {
  const { aws, name, secret: SECRET, other: OTHER } = spec;
  /** What the metrics label the route with: its source id. */
  const label = spec.source ?? name;
  const event = spec.event;
  const sample = spec.sample;
  /** The envelope id of a body as `event` delivers it (a provider may key its events on headers). */
  const idOf = (body: string) => eventId(name, Buffer.from(body), event(body, { secret: SECRET }).headers, label);
  // Every row holds in both dedup modes, except the one about a copy that arrives mid-flight.
  for (const mode of ['record', 'claim'] as const)
    describeFor(mode, (options: BuildOptions = {}) => buildAwsHandler(aws, { ...spec.build, dedupMode: mode, ...options }));

  function describeFor(mode: DedupMode, build: (options?: BuildOptions) => ReturnType<typeof buildAwsHandler>): void {
    describe(`Function: ingress behaviour table for ${label === name ? name : `${name} (source ${label})`}, dedup mode ${mode} (AWS adapters, mocked SDK)`, () => {
      beforeEach(() => {
        aws.reset();
        aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET, endpointId: spec.endpointId }) };
      });
      afterEach(() => aws.reset());

      it('publishes exactly one event for a valid delivery and answers 200', async () => {
        const { handler } = build();
        const body = sample(0);
        const res = await handler(event(body, { secret: SECRET, headers: spec.published.headers }), ctx());
        expect(res.statusCode).toBe(200);
        expect(JSON.parse(res.body ?? '')).toEqual({ status: 'published', id: idOf(body) });
        expect(aws.published).toHaveLength(1);
        const entry = aws.published[0];
        expect(entry).toMatchObject({ EventBusName: 'relay-bus', Source: name, DetailType: spec.published.type });
        const detail = assertRelayEvent(JSON.parse(entry?.Detail ?? ''));
        expect(detail).toMatchObject({
          version: '1',
          provider: name,
          source: label,
          type: spec.published.type,
          ...spec.published.detail(body),
        });
      });

      it('answers 200 and publishes nothing more for the same body within the dedup window', async () => {
        const { handler, telemetry } = build();
        const body = sample(1);
        const first = await handler(event(body, { secret: SECRET }), ctx());
        const second = await handler(event(body, { secret: SECRET, headers: spec.retryHeaders }), ctx());
        expect(first.statusCode).toBe(200);
        expect(second.statusCode).toBe(200);
        expect(JSON.parse(second.body ?? '').status).toBe('duplicate');
        expect(aws.published).toHaveLength(1);
        expect(telemetry.counts.filter((c) => c.metric === 'Duplicate')).toEqual([
          { metric: 'Duplicate', dimensions: { provider: label } },
        ]);
      });

      it('publishes again once the dedup window has passed', async () => {
        const { handler } = build({ windowSeconds: 1 });
        const body = sample(1);
        await handler(event(body, { secret: SECRET }), ctx());
        const item = aws.items.get(idOf(body));
        expect(item).toBeDefined();
        if (item) item.expiresAt = { N: String(nowSeconds() - 5) };
        const again = await handler(event(body, { secret: SECRET }), ctx());
        expect(JSON.parse(again.body ?? '').status).toBe('published');
        expect(aws.published).toHaveLength(2);
      });

      /** PutEvents waits for the returned release; returns the two answers to a body sent twice, the second mid-flight. */
      async function sendCopyMidFlight(environments: 'same' | 'separate') {
        let release: () => void = () => {};
        const gate = new Promise<void>((r) => {
          release = r;
        });
        aws.eb.on(PutEventsCommand).callsFake(async (input) => {
          await gate;
          aws.published.push(...input.Entries);
          return { FailedEntryCount: 0, Entries: [{ EventId: 'ev' }] };
        });
        const { handler, telemetry } = build();
        // A second execution environment shares the AWS resources, not the first one's memory.
        const otherEnv = environments === 'same' ? undefined : build();
        const other = otherEnv?.handler ?? handler;
        const body = sample(2);
        const first = handler(event(body, { secret: SECRET }), ctx());
        await new Promise((r) => setTimeout(r, 20));
        const second = other(event(body, { secret: SECRET }), ctx());
        await new Promise((r) => setTimeout(r, 20));
        release();
        const answers = { first: await first, second: await second };
        return { ...answers, telemetry: { counts: [...telemetry.counts, ...(otherEnv?.telemetry.counts ?? [])] } };
      }

      it('lets a copy in flight in the same execution environment wait for the first, then answers it 200 duplicate: one publish', async () => {
        const { first, second, telemetry } = await sendCopyMidFlight('same');
        expect(first.statusCode).toBe(200);
        expect(second.statusCode).toBe(200);
        expect(JSON.parse(second.body ?? '{}').status).toBe('duplicate');
        expect(aws.published).toHaveLength(1);
        expect(telemetry.counts.filter((c) => c.metric === 'ConcurrentDuplicate')).toEqual([]);
      });

      if (mode === 'claim')
        it('answers 409 for the same body while the first is still in flight in another environment', async () => {
          const { first, second } = await sendCopyMidFlight('separate');
          expect(second.statusCode).toBe(409);
          expect(errorBody(second).code).toBe('in_flight');
          expect(first.statusCode).toBe(200);
          expect(aws.published).toHaveLength(1);
        });
      else
        it('publishes a copy that arrives while the first is still in flight in another environment too, and counts it', async () => {
          const { first, second, telemetry } = await sendCopyMidFlight('separate');
          expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
          // The documented cost of one write: both copies are on the bus (consumers dedupe on `id`).
          expect(aws.published).toHaveLength(2);
          const ids = aws.published.map((e) => JSON.parse(e.Detail ?? '').id);
          expect(ids).toEqual([ids[0], ids[0]]);
          expect(telemetry.counts.filter((c) => c.metric === 'ConcurrentDuplicate')).toEqual([
            { metric: 'ConcurrentDuplicate', dimensions: { provider: label } },
          ]);
        });

      it.each([
        ['missing', { signature: null }, 'missing_signature'],
        ['wrong', { signature: 'a'.repeat(64) }, 'invalid_signature'],
        ['made with another secret', { secret: OTHER }, 'invalid_signature'],
        ['of the wrong length', { signature: 'abcd' }, 'invalid_signature'],
        ['not hex', { signature: 'z'.repeat(64) }, 'invalid_signature'],
      ] as const)('answers 401 and publishes nothing for a %s signature', async (_name, options, code) => {
        const { handler, telemetry } = build();
        const res = await handler(event(sample(0), options), ctx());
        expect(res.statusCode).toBe(401);
        expect(errorBody(res).code).toBe(code);
        expect(aws.published).toHaveLength(0);
        expect(aws.ddb.calls()).toHaveLength(0);
        expect(telemetry.counts).toContainEqual({ metric: 'Rejected', dimensions: { provider: label, reason: code } });
      });

      it('answers 401 when the timestamp is outside the tolerance either way, and ignores it when the tolerance is 0', async () => {
        const stale = nowSeconds() - 301;
        const strict = build();
        const res = await strict.handler(spec.timestamped(stale, { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(401);
        expect(errorBody(res).code).toBe('stale_timestamp');
        for (const future of [nowSeconds() + 301, stale + 700]) {
          const late = await strict.handler(spec.timestamped(future, { secret: SECRET }), ctx());
          expect(late.statusCode).toBe(401);
          expect(errorBody(late).code).toBe('stale_timestamp');
        }
        expect(aws.published).toHaveLength(0);
        expect(aws.items.size).toBe(0);
        const custom = build({ toleranceSeconds: 600 });
        expect((await custom.handler(spec.timestamped(stale, { secret: SECRET }, 0), ctx())).statusCode).toBe(200);
        const off = build({ toleranceSeconds: 0 });
        expect((await off.handler(spec.timestamped(stale, { secret: SECRET }, 1), ctx())).statusCode).toBe(200);
        expect((await off.handler(spec.timestamped(1_000, { secret: SECRET }, 2), ctx())).statusCode).toBe(200);
        expect(aws.published).toHaveLength(3);
      });

      it('checks the timestamp only after the signature: a forged stale delivery is 401 invalid_signature', async () => {
        const { handler } = build();
        const res = await handler(spec.timestamped(1_000, { secret: OTHER }), ctx());
        expect(res.statusCode).toBe(401);
        expect(errorBody(res).code).toBe('invalid_signature');
      });

      if (spec.timestampSigned)
        it('refuses a delivery without its timestamp whatever the tolerance (401 missing_signature: nothing to verify)', async () => {
          for (const toleranceSeconds of [300, 0]) {
            const res = await build({ toleranceSeconds }).handler(spec.timestamped(null, { secret: SECRET }), ctx());
            expect(res.statusCode).toBe(401);
            expect(errorBody(res).code).toBe('missing_signature');
          }
          expect(aws.published).toHaveLength(0);
        });
      else if (getProvider(name).requiresTimestamp)
        it('refuses a delivery without its signed timestamp while the check is on (400 missing_timestamp), accepts it when off', async () => {
          const strict = build();
          const res = await strict.handler(spec.timestamped(null, { secret: SECRET }), ctx());
          expect(res.statusCode).toBe(400);
          expect(errorBody(res).code).toBe('missing_timestamp');
          expect(strict.telemetry.counts).toContainEqual({
            metric: 'Rejected',
            dimensions: { provider: label, reason: 'missing_timestamp' },
          });
          expect(aws.published).toHaveLength(0);
          const off = build({ toleranceSeconds: 0 });
          expect((await off.handler(spec.timestamped(null, { secret: SECRET }), ctx())).statusCode).toBe(200);
        });
      else
        it('accepts a delivery without a timestamp (an unsigned header: its absence proves nothing)', async () => {
          const { handler } = build();
          const res = await handler(spec.timestamped(null, { secret: SECRET }), ctx());
          expect(res.statusCode).toBe(200);
        });

      it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])('answers 405 with Allow for %s', async (method) => {
        const { handler } = build();
        const res = await handler(event(sample(0), { secret: SECRET, method }), ctx());
        expect(res.statusCode).toBe(405);
        expect(res.headers?.allow).toBe('POST, OPTIONS');
        expect(errorBody(res).code).toBe('method_not_allowed');
        expect(aws.published).toHaveLength(0);
      });

      it('answers 200 to OPTIONS (reachability probe) without publishing', async () => {
        const { handler } = build();
        const res = await handler(event('', { method: 'OPTIONS', signature: null }), ctx());
        expect(res.statusCode).toBe(200);
        expect(aws.published).toHaveLength(0);
      });

      it('answers 404 for an unknown path', async () => {
        const { handler } = build();
        const res = await handler(event(sample(0), { secret: SECRET, path: '/other' }), ctx());
        expect(res.statusCode).toBe(404);
        expect(errorBody(res).code).toBe('not_found');
        expect(aws.published).toHaveLength(0);
      });

      it.each([false, true])('answers 413 for a body over the limit (base64: %s)', async (base64) => {
        const { handler } = build({ maxBodyBytes: 1024 });
        const body = spec.envelope(spec.type, { pad: 'x'.repeat(2000) });
        const res = await handler(event(body, { secret: SECRET, base64 }), ctx());
        expect(res.statusCode).toBe(413);
        expect(errorBody(res).code).toBe('payload_too_large');
        expect(aws.published).toHaveLength(0);
      });

      it('verifies base64-encoded bodies on their raw bytes', async () => {
        const { handler } = build();
        const raw = Buffer.from(spec.envelope(spec.type, { video_id: 'ü-ñ-✓' }), 'utf8');
        const res = await handler(event(raw, { secret: SECRET, base64: true }), ctx());
        expect(res.statusCode).toBe(200);
        expect(JSON.parse(aws.published[0]?.Detail ?? '').subject.id).toBe('ü-ñ-✓');
      });

      it.each([
        ['not JSON', () => 'not json at all', 'invalid_json'],
        ['a JSON array', () => '[1,2]', 'invalid_json'],
        ['JSON without an event type', () => spec.envelope(undefined, {}), 'missing_event_type'],
        ['event data that is not an object', () => spec.envelope(spec.type, [1]), 'invalid_event_data'],
      ])('answers 400 for a validly signed body that is %s', async (_n, body, code) => {
        const { handler } = build();
        const res = await handler(event(body(), { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(400);
        expect(errorBody(res).code).toBe(code);
        expect(aws.published).toHaveLength(0);
        expect(aws.items.size).toBe(0);
      });

      it('answers 503 (not 401) while no signing secret is configured', async () => {
        aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: null }) };
        const { handler } = build();
        const res = await handler(event(sample(0), { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(503);
        expect(errorBody(res)).toEqual({ code: 'not_configured', message: `No signing secret is configured for ${name} yet` });
        expect(aws.published).toHaveLength(0);
      });

      it('answers 503 when Secrets Manager fails and nothing is cached', async () => {
        aws.sm.on(GetSecretValueCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServiceError' }));
        const { handler } = build();
        const res = await handler(event(sample(0), { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(503);
        expect(errorBody(res)).toEqual({ code: 'dependency_unavailable', message: 'Could not read the signing secret' });
      });

      it('answers 503 when DynamoDB fails, publishes nothing, and the retry succeeds', async () => {
        // The mode's first DynamoDB call: the read (record) or the claim (claim).
        const down = Object.assign(new Error('down'), { name: 'InternalServerError' });
        if (mode === 'record') aws.ddb.on(GetItemCommand).rejectsOnce(down);
        else aws.ddb.on(PutItemCommand).rejectsOnce(down);
        const { handler } = build();
        const body = sample(0);
        const res = await handler(event(body, { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(503);
        expect(aws.published).toHaveLength(0);
        aws.reset();
        aws.stages.AWSCURRENT = { value: SECRET };
        const retry = await handler(event(body, { secret: SECRET }), ctx());
        expect(retry.statusCode).toBe(200);
        expect(aws.published).toHaveLength(1);
      });

      it('answers 503 when PutEvents keeps failing the entry, releases the dedup record, and the retry publishes once', async () => {
        aws.eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
        const { handler } = build();
        const body = sample(0);
        const res = await handler(event(body, { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(503);
        expect(aws.eb.commandCalls(PutEventsCommand)).toHaveLength(3);
        expect(aws.items.size).toBe(0);
        aws.eb.on(PutEventsCommand).callsFake((input) => {
          aws.published.push(...input.Entries);
          return { FailedEntryCount: 0, Entries: [{ EventId: 'ok' }] };
        });
        const retry = await handler(event(body, { secret: SECRET }), ctx());
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
        const { handler } = build();
        const res = await handler(event(sample(0), { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(200);
        expect(aws.published).toHaveLength(1);
      });

      it('answers 503 inside the budget when a dependency hangs, and releases the claim', async () => {
        aws.eb.on(PutEventsCommand).callsFake(() => new Promise(() => {}));
        const { handler } = build({ budgetMs: 150 });
        const started = Date.now();
        const res = await handler(event(sample(0), { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(503);
        expect(errorBody(res).code).toBe('deadline_exceeded');
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(aws.items.size).toBe(0);
        expect(aws.published).toHaveLength(0);
      });

      it('answers 200 when the deadline passes after the publish, and still completes the dedup record', async () => {
        const { handler } = build({ budgetMs: 150 });
        aws.eb.on(PutEventsCommand).callsFake(async (input) => {
          await new Promise((r) => setTimeout(r, 120));
          aws.published.push(...input.Entries);
          return { FailedEntryCount: 0, Entries: [{ EventId: 'late' }] };
        });
        // Marking it published: an UpdateItem of the claim (claim) or the one PutItem (record).
        // (One cast: the stub's input is either command's.)
        const completeCommand = (mode === 'claim' ? UpdateItemCommand : PutItemCommand) as typeof PutItemCommand;
        const complete = aws.ddb.commandCalls(completeCommand).length;
        aws.ddb
          .on(completeCommand)
          .callsFake(async (input: { Key?: Record<string, AttributeValue>; Item: Record<string, AttributeValue> }) => {
            await new Promise((r) => setTimeout(r, 100));
            const key = (input.Key ?? input.Item).pk?.S as string;
            aws.items.set(key, { ...(aws.items.get(key) ?? input.Item), status: { S: 'COMPLETED' } });
            return {};
          });
        const body = sample(0);
        const res = await handler(event(body, { secret: SECRET }), ctx());
        expect(res.statusCode).toBe(200);
        expect(aws.published).toHaveLength(1);
        expect(aws.ddb.commandCalls(completeCommand).length).toBe(complete + 1);
        expect(aws.items.get(idOf(body))?.status?.S).toBe('COMPLETED');
      });

      it('picks up a changed secret on the first miss (rotation), re-reading at most once per interval', async () => {
        let clock = Date.now();
        const { handler } = build({ keyOptions: { now: () => clock, minRefreshIntervalMs: 1_000 } });
        expect((await handler(event(sample(0), { secret: SECRET }), ctx())).statusCode).toBe(200);
        const readsBefore = aws.secretReads;
        aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: OTHER }) };
        // Within the interval of the last read, a miss does not re-read: 401, the provider retries.
        clock += 500;
        const early = await handler(event(sample(1), { secret: OTHER }), ctx());
        expect(early.statusCode).toBe(401);
        expect(aws.secretReads).toBe(readsBefore);
        clock += 600;
        const res = await handler(event(sample(1), { secret: OTHER }), ctx());
        expect(res.statusCode).toBe(200);
        expect(aws.secretReads).toBeGreaterThan(readsBefore);
        // A flood of bad signatures right after does not hammer Secrets Manager.
        const readsAfter = aws.secretReads;
        for (let i = 0; i < 20; i++)
          expect((await handler(event(spec.envelope(spec.type, { n: i }), { secret: 'whsec_attacker' }), ctx())).statusCode).toBe(
            401,
          );
        expect(aws.secretReads).toBe(readsAfter);
      });

      it('accepts AWSPENDING, and AWSPREVIOUS only within the grace period', async () => {
        // Valid as plain HMAC keys and as `whsec_` + base64 (Standard Webhooks decodes the key).
        const prev = 'whsec_cHJldmlvdXMtc2VjcmV0LXZhbHVlLTEyMzQ1Ng==';
        const pending = 'whsec_cGVuZGluZy1zZWNyZXQtdmFsdWUtNjU0MzIxIQ==';
        aws.stages.AWSCURRENT = { value: SECRET, createdAt: new Date(Date.now() - 60_000) };
        aws.stages.AWSPENDING = { value: pending };
        aws.stages.AWSPREVIOUS = { value: prev };
        const inGrace = build({ keyOptions: { previousGraceMs: 900_000 } });
        const body = (n: number) => spec.envelope(spec.type, { n });
        expect((await inGrace.handler(event(body(1), { secret: pending }), ctx())).statusCode).toBe(200);
        expect((await inGrace.handler(event(body(2), { secret: prev }), ctx())).statusCode).toBe(200);
        const pastGrace = build({ keyOptions: { previousGraceMs: 30_000 } });
        expect((await pastGrace.handler(event(body(3), { secret: prev }), ctx())).statusCode).toBe(401);
      });

      it('never logs the secret, the signature or the body', async () => {
        const { handler, telemetry } = build();
        const body = sample(0);
        const delivery = event(body, { secret: SECRET });
        expect(body).toContain(spec.published.marker);
        await handler(delivery, ctx());
        await handler(event(body, { secret: OTHER }), ctx());
        const text = JSON.stringify(telemetry.lines);
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(OTHER);
        const signature = delivery.headers[spec.signatureHeader];
        expect(signature).toBeDefined();
        expect(text).not.toContain(signature);
        expect(text).not.toContain(spec.published.marker);
      });
    });
  }
}
