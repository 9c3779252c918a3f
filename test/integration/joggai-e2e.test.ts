/**
 * JoggAI end to end on the moto emulator. A stack with `joggai: {}` is synthesized and its data
 * path (bus, rules, queues, dedup table, secrets) provisioned from the template
 * (test/support/emulator-stack.ts); the ingress is the real Lambda entry (functions/entries/ingress.ts)
 * with the function's resolved Environment, and the JoggAI registrar is the real Lambda entry
 * (providers/joggai/runtime/entries/registrar.ts) with ITS resolved Environment (secret ARNs from the template;
 * only ENDPOINT_URL and JOGGAI_API_URL point at loopback). JoggAI is the stateful fake
 * (test/fakes/joggai-api.ts), delivering through a small HTTP bridge that turns each request into a
 * Function URL event for one of ten ingress execution environments.
 *
 * 1. The registrar: missing API key (no throw), then registers and stores the secret in moto.
 * 2. 200 signed deliveries at concurrency 10 with 20% duplicates: each event once in the default
 *    queue with source joggai; nothing in a DLQ.
 * 3. Overlap rotation against moto's Secrets Manager while the fake delivers from every live
 *    endpoint: the pending secret is accepted while both endpoints deliver, then promoted; zero
 *    events lost, zero published twice.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { JoggAiRunSummary } from '../../providers/joggai/runtime/run.js';
import { type DeliveryResult, FakeJoggAi } from '../fakes/joggai-api.js';
import {
  type EmulatorStack,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  patternMatches,
  provisionFromTemplate,
  QueueCollector,
  sendLikeProvider,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { joggaiEvent } from '../support/joggai.js';
import { registerSensitive, writeFigures } from '../support/log-capture.js';
import { MOTO_REGION } from '../support/moto.js';

const DELIVERIES = 200;
const CONCURRENCY = 10;
const DUPLICATE_RATIO = 0.2;
const TYPES = ['generated_video_success', 'generated_avatar_video_failed', 'generated_translate_video_success'] as const;
const OVERLAP_SECONDS = 2;

type Registrar = (event: unknown, context: Context) => Promise<JoggAiRunSummary>;

let stack: EmulatorStack;
let registrar: Registrar;
let joggSecretArn: string;
let apiKeyArn: string;
let bridge: Server;
let bridgeUrl: string;
const envs: IngressHandler[] = [];
const fake = new FakeJoggAi({ retryDelayMs: 500, maxRetries: 3 });
const bridgeStatuses: Record<string, number> = {};

function registrarContext(): Context {
  return { ...lambdaContext(), functionName: 'JoggAiRegistrar', getRemainingTimeInMillis: () => 120_000 };
}

/** A pool of ingress execution environments: each handles one request at a time, like Lambda. */
const idle: IngressHandler[] = [];
const waiting: ((h: IngressHandler) => void)[] = [];
async function withEnvironment<T>(fn: (h: IngressHandler) => Promise<T>): Promise<T> {
  const h = idle.pop() ?? (await new Promise<IngressHandler>((r) => waiting.push(r)));
  try {
    return await fn(h);
  } finally {
    const next = waiting.shift();
    if (next) next(h);
    else idle.push(h);
  }
}

/** JoggAI -> Function URL: the raw body and headers as Lambda's Function URL would pass them. */
async function startBridge(): Promise<void> {
  bridge = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      registerSensitive(headers['x-webhook-signature'], 'signature');
      const event = functionUrlEvent(Buffer.concat(chunks), {
        method: req.method ?? 'POST',
        path: (req.url ?? '/').split('?')[0] as string,
        signature: null,
        timestamp: null,
        headers,
      });
      void withEnvironment((h) => h(event, lambdaContext())).then(
        (out) => {
          const code = `${out.statusCode}`;
          bridgeStatuses[code] = (bridgeStatuses[code] ?? 0) + 1;
          res.writeHead(out.statusCode ?? 500, { 'content-type': 'application/json' });
          res.end(out.body ?? '');
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', r));
  bridgeUrl = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
}

/** The registrar function's Environment from the template, references resolved to moto's ARNs. */
function registrarEnvironment(): Record<string, string> {
  const [, fn] =
    Object.entries(stack.template.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.includes('JoggAiRegistrar'),
    ) ?? [];
  if (!fn) throw new Error('no JoggAI registrar function in the template');
  const environment = fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  const vars = environment?.Variables ?? {};
  const resolve = (k: string, v: unknown): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && v !== null && 'Fn::Join' in v) {
      const [sep, parts] = (v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return parts.map((p) => resolve(k, p)).join(sep);
    }
    if (typeof v === 'object' && v !== null && 'Ref' in v) {
      const ref = (v as { Ref: string }).Ref;
      const arn = stack.secretArns[ref];
      if (arn) return arn;
      if (stack.template.Resources[ref]?.Type === 'AWS::DynamoDB::Table') {
        // The emulator names each table `<prefix>-<logical id>` (sliced to 80), like the dedup table.
        const prefix = stack.tableName.slice(0, stack.tableName.lastIndexOf('-'));
        return `${prefix}-${ref}`.slice(0, 80);
      }
    }
    throw new Error(`registrar env ${k}: cannot resolve ${JSON.stringify(v)} (not a provisioned secret or table)`);
  };
  const out: Record<string, string> = {};
  // ENDPOINT_URL (the Function URL) is replaced by the bridge below.
  for (const [k, v] of Object.entries(vars)) if (k !== 'ENDPOINT_URL') out[k] = resolve(k, v);
  // The one-writer lease: lib/ passes the state table and the lease name.
  expect(Object.keys(out)).toEqual(expect.arrayContaining(['STATE_TABLE_NAME', 'LEASE_NAME']));
  // The only two stand-ins: the relay's public URL (a Function URL) is the bridge, JoggAI is the fake.
  expect(JSON.stringify(vars.ENDPOINT_URL)).toContain('joggai');
  out.ENDPOINT_URL = `${bridgeUrl}/joggai`;
  out.JOGGAI_API_URL = fake.url;
  out.ROTATION_OVERLAP_SECONDS = String(OVERLAP_SECONDS);
  return out;
}

function joggBody(i: number, run: string): string {
  const type = TYPES[i % TYPES.length] as string;
  return JSON.stringify({
    event_id: `evt_${run}_${i}`,
    event: type,
    timestamp: Math.floor(Date.now() / 1000),
    data: { video_id: `v_${run}_${i}`, status: type.endsWith('failed') ? 'failed' : 'completed' },
  });
}

interface Received {
  id: string;
  source: string;
  provider: string;
  detailType: string;
  deliveryId: string | null;
}
function parse(messages: Message[]): Received[] {
  return messages.map((m) => {
    const ev = JSON.parse(m.Body ?? '{}') as {
      source: string;
      'detail-type': string;
      detail: { id: string; provider: string; deliveryId: string | null };
    };
    return {
      id: ev.detail.id,
      source: ev.source,
      provider: ev.detail.provider,
      detailType: ev['detail-type'],
      deliveryId: ev.detail.deliveryId,
    };
  });
}

function defaultQueueId(): string {
  const rule = stack.rules.find((r) => Object.keys(r.eventPattern).length === 1 && r.eventPattern.source);
  const id = rule?.targetQueues[0];
  if (!id) throw new Error('no default queue rule in the template');
  return id;
}

function collector(): QueueCollector {
  return new QueueCollector(
    stack.clients.sqs,
    Object.fromEntries(Object.values(stack.queues).map((q) => [q.logicalId, q.url])),
  ).start();
}

function dlqMessages(received: Map<string, Message[]>): number {
  const dlqIds = new Set(stack.rules.flatMap((r) => r.targetDeadLetterQueues));
  for (const q of Object.values(stack.queues)) {
    if (!q.attributes.RedrivePolicy) continue;
    const arn = (JSON.parse(q.attributes.RedrivePolicy) as { deadLetterTargetArn: string }).deadLetterTargetArn;
    const dlq = Object.values(stack.queues).find((x) => x.arn === arn);
    if (dlq) dlqIds.add(dlq.logicalId);
  }
  let n = 0;
  for (const id of dlqIds) n += received.get(id)?.length ?? 0;
  return n;
}

beforeAll(async () => {
  const template = synthesizeRelayTemplate({ relay: { joggai: {} } }, 'JoggAiRelayUnderTest');
  stack = await provisionFromTemplate(template, inject('motoEndpoint'));
  const providers = JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as { name: string; secretId: string }[];
  joggSecretArn = providers.find((p) => p.name === 'joggai')?.secretId as string;
  apiKeyArn = Object.entries(stack.secretArns).find(([id]) => id.includes('JoggAiApiKey'))?.[1] as string;
  await fake.start();
  registerSensitive(fake.apiKey, 'api_key');
  await startBridge();

  // The registrar entry, with its own resolved environment (read once at import).
  Object.assign(process.env, registrarEnvironment(), {
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
  vi.resetModules();
  ({ handler: registrar } = (await import('../../providers/joggai/runtime/entries/registrar.js')) as { handler: Registrar });
});

afterAll(async () => {
  for (const e of fake.endpoints.values()) registerSensitive(e.secret, 'secret');
  await fake.stop();
  await new Promise<void>((r) => (bridge ? bridge.close(() => r()) : r()));
  stack?.destroy();
});

describe('JoggAI on the emulator, provisioned from the synthesized template', () => {
  it('derives the JoggAI route, secrets and rules from the template', () => {
    const providers = JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]');
    expect(providers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'joggai', path: '/joggai', acceptSubpaths: true, secretId: joggSecretArn }),
      ]),
    );
    expect(joggSecretArn).toMatch(/^arn:aws:secretsmanager:.*JoggAiSigningSecret/);
    expect(apiKeyArn).toMatch(/JoggAiApiKey/);
    expect(stack.rules.map((r) => r.eventPattern)).toContainEqual({ source: ['heygen', 'joggai'] });
  });

  it('registrar entry: a missing API key is an outcome, not an error; with the key it registers and stores the secret in moto', async () => {
    const missing = await registrar({}, registrarContext());
    expect(missing).toMatchObject({ outcome: 'missing_api_key', message: expect.stringContaining(apiKeyArn) });
    expect(fake.calls).toEqual([]);

    await stack.clients.sm.send(
      new PutSecretValueCommand({ SecretId: apiKeyArn, SecretString: JSON.stringify({ apiKey: fake.apiKey }) }),
    );
    const created = await registrar({}, registrarContext());
    expect(created.outcome).toBe('changed');
    const [ep, ...more] = [...fake.endpoints.values()];
    expect(more).toEqual([]);
    expect(ep?.url).toBe(`${bridgeUrl}/joggai`);
    // By stage: moto's read without VersionStage returns a stale default version once AWSCURRENT was
    // moved by UpdateSecretVersionStage (pinned in secrets-manager-contract.test.ts), as the store's CAS write does.
    const stored = await stack.clients.sm.send(
      new GetSecretValueCommand({ SecretId: joggSecretArn, VersionStage: 'AWSCURRENT' }),
    );
    expect(JSON.parse(stored.SecretString as string)).toEqual({
      secret: ep?.secret,
      endpointId: ep?.endpoint_id,
      url: `${bridgeUrl}/joggai`,
    });
    expect((await registrar({}, registrarContext())).outcome).toBe('in_sync');

    // Ten ingress execution environments, cold, after the secret exists.
    for (let i = 0; i < CONCURRENCY; i++) envs.push(await loadIngressEntry(stack));
    idle.push(...envs);
  });

  it(`${DELIVERIES} signed deliveries at concurrency ${CONCURRENCY} with ${DUPLICATE_RATIO * 100}% duplicates: each event exactly once, source joggai`, async () => {
    const secret = [...fake.endpoints.values()][0]?.secret as string;
    const run = randomUUID().slice(0, 8);
    const uniqueCount = Math.round(DELIVERIES * (1 - DUPLICATE_RATIO));
    const bodies = Array.from({ length: uniqueCount }, (_, i) => joggBody(i, run));
    const sends = [...bodies];
    for (let d = 0; d < DELIVERIES - uniqueCount; d++) {
      const k = Math.floor(Math.random() * uniqueCount);
      const at = Math.min(sends.length, sends.indexOf(bodies[k] as string) + 1 + Math.floor(Math.random() * 20));
      sends.splice(at, 0, bodies[k] as string);
    }
    expect(sends).toHaveLength(DELIVERIES);

    const queues = collector();
    const { firstAttempt, published, retries, elapsedMs } = await sendLikeProvider(sends, CONCURRENCY, 9, (body) => {
      const event = joggaiEvent(body, { secret, path: '/joggai' });
      registerSensitive(event.headers['x-webhook-signature'], 'signature');
      return withEnvironment((h) => h(event, lambdaContext()));
    });
    const received = await queues.stop();

    expect(published.size).toBe(uniqueCount);
    expect([...published.values()].every((n) => n === 1)).toBe(true);
    const inDefault = parse(received.get(defaultQueueId()) ?? []);
    const byDelivery = new Map<string, number>();
    for (const m of inDefault) byDelivery.set(m.deliveryId ?? '', (byDelivery.get(m.deliveryId ?? '') ?? 0) + 1);
    const expectedIds = bodies.map((b) => (JSON.parse(b) as { event_id: string }).event_id);
    expect(inDefault.every((m) => m.source === 'joggai' && m.provider === 'joggai')).toBe(true);
    expect(inDefault.every((m) => (TYPES as readonly string[]).includes(m.detailType))).toBe(true);
    expect([...byDelivery.keys()].sort()).toEqual([...expectedIds].sort());
    expect([...byDelivery.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(inDefault.map((m) => m.id))).toEqual(new Set(published.keys()));
    // Every queue whose rule matches joggai events got each once; nothing dead-lettered.
    for (const rule of stack.rules)
      for (const qid of rule.targetQueues) {
        const expected = bodies.filter((b) =>
          patternMatches(rule.eventPattern, 'joggai', (JSON.parse(b) as { event: string }).event),
        );
        expect(parse(received.get(qid) ?? [])).toHaveLength(expected.length);
      }
    expect(dlqMessages(received)).toBe(0);

    writeFigures('joggai-e2e', {
      deliveriesSent: DELIVERIES,
      concurrency: CONCURRENCY,
      uniqueEvents: uniqueCount,
      duplicatesInjected: DELIVERIES - uniqueCount,
      providerRetries: retries,
      firstAttemptOutcomes: firstAttempt,
      published: published.size,
      inDefaultQueue: inDefault.length,
      eventsLost: uniqueCount - byDelivery.size,
      duplicatesPublished: inDefault.length - byDelivery.size,
      elapsedMs,
    });
  }, 120_000);

  it('overlap rotation on moto Secrets Manager while both endpoints deliver: pending accepted, then promoted; zero lost, zero published twice', async () => {
    const before = [...fake.endpoints.values()];
    expect(before).toHaveLength(1);
    const old = before[0] as (typeof before)[number];
    const run = randomUUID().slice(0, 8);
    const queues = collector();

    // Watch the secret's stages on moto: when AWSPENDING appears and when it is promoted.
    const marks: { pendingAt?: number; promotedAt?: number; pendingAttemptIndex?: number; promotedAttemptIndex?: number } = {};
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const d = await stack.clients.sm.send(new DescribeSecretCommand({ SecretId: joggSecretArn }));
        const stages = Object.values(d.VersionIdsToStages ?? {}).flat();
        if (marks.pendingAt === undefined && stages.includes('AWSPENDING')) {
          marks.pendingAt = Date.now();
          marks.pendingAttemptIndex = fake.attempts.length;
        }
        if (marks.pendingAt !== undefined && marks.promotedAt === undefined && !stages.includes('AWSPENDING')) {
          marks.promotedAt = Date.now();
          marks.promotedAttemptIndex = fake.attempts.length;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // JoggAI delivers an event every 25 ms to every live endpoint (3 retries, 500 ms apart).
    const attemptsBefore = fake.attempts.length;
    const deliveries: Promise<DeliveryResult>[] = [];
    const sent: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        const body = JSON.parse(joggBody(i, `rot${run}`)) as { event: string; event_id: string };
        sent.push(body.event_id);
        deliveries.push(fake.deliver(body));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const rotated = await registrar({ action: 'rotate' }, registrarContext());
    const rotationMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    streaming = false;
    await stream;
    const results = await Promise.all(deliveries);
    watching = false;
    await watcher;
    const received = await queues.stop();

    // The rotation: a second endpoint at /joggai/r1, pending -> current, old endpoint deleted.
    expect(rotated).toMatchObject({
      action: 'rotate',
      outcome: 'rotated',
      rotation: {
        from: { endpointId: old.endpoint_id },
        to: { url: `${bridgeUrl}/joggai/r1` },
        oldDeleted: true,
        resumed: false,
      },
    });
    const [now, ...more] = [...fake.endpoints.values()];
    expect(more).toEqual([]);
    expect(now?.url).toBe(`${bridgeUrl}/joggai/r1`);
    const stage = async (s: string) =>
      JSON.parse(
        (await stack.clients.sm.send(new GetSecretValueCommand({ SecretId: joggSecretArn, VersionStage: s })))
          .SecretString as string,
      ) as { secret: string; endpointId: string };
    expect((await stage('AWSCURRENT')).endpointId).toBe(now?.endpoint_id);
    expect((await stage('AWSPREVIOUS')).endpointId).toBe(old.endpoint_id);
    const described = await stack.clients.sm.send(new DescribeSecretCommand({ SecretId: joggSecretArn }));
    expect(Object.values(described.VersionIdsToStages ?? {}).flat()).not.toContain('AWSPENDING');

    // While AWSPENDING existed, both endpoints delivered and the new one's (pending) secret verified.
    expect(marks.pendingAttemptIndex).toBeDefined();
    expect(marks.promotedAttemptIndex).toBeDefined();
    const overlap = fake.attempts.slice(marks.pendingAttemptIndex, marks.promotedAttemptIndex);
    const okDuringOverlap = (url: string) => overlap.filter((a) => a.url === url && a.status === 200).length;
    expect(okDuringOverlap(`${bridgeUrl}/joggai/r1`)).toBeGreaterThan(0);
    expect(okDuringOverlap(`${bridgeUrl}/joggai`)).toBeGreaterThan(0);

    // Zero lost, zero published twice: every event once in the default queue.
    const attempts = fake.attempts.slice(attemptsBefore);
    const lost = results.filter((r) => !r.endpoints.some((e) => e.delivered)).map((r) => r.eventKey);
    expect(lost).toEqual([]);
    const inDefault = parse(received.get(defaultQueueId()) ?? []).filter((m) => m.deliveryId?.startsWith(`evt_rot${run}_`));
    const counts = new Map<string, number>();
    for (const m of inDefault) counts.set(m.deliveryId ?? '', (counts.get(m.deliveryId ?? '') ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...sent].sort());
    const publishedTwice = [...counts.values()].filter((n) => n > 1).length;
    expect(publishedTwice).toBe(0);
    expect(dlqMessages(received)).toBe(0);

    const twice = results.filter((r) => r.endpoints.length === 2).length;
    const firstRejected = attempts.filter((a) => a.attempt === 1 && a.status !== 200);
    writeFigures('joggai-rotation', {
      events: sent.length,
      deliveredByBothEndpoints: twice,
      attempts: attempts.length,
      firstAttemptRejections: firstRejected.length,
      firstAttemptRejectionStatuses: firstRejected.reduce<Record<string, number>>((acc, a) => {
        acc[a.status] = (acc[a.status] ?? 0) + 1;
        return acc;
      }, {}),
      retriesDelivered: attempts.filter((a) => a.attempt > 1 && a.status === 200).length,
      okDuringOverlap: { old: okDuringOverlap(`${bridgeUrl}/joggai`), new: okDuringOverlap(`${bridgeUrl}/joggai/r1`) },
      pendingWindowMs: (marks.promotedAt ?? 0) - (marks.pendingAt ?? 0),
      rotationMs,
      eventsLost: lost.length,
      publishedTwice,
      bridgeStatuses,
    });
  }, 120_000);
});
