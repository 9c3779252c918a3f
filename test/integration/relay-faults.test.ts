/**
 * Faults on the wire, against the real Lambda entry and the real SDK v3 clients: a fault-injecting
 * proxy (./fault-proxy.ts) sits between the ingress and moto. Each scenario sends one signed
 * delivery while its fault is active and must get a 5xx (so HeyGen retries) inside HeyGen's 10 s
 * deadline; then the fault is lifted, HeyGen's retry must succeed, and the default queue must end
 * up holding every event exactly once.
 *
 * Scenarios match their faults by the delivery's dedup key in the request body, so they run
 * concurrently (each on its own warm execution environment). The Secrets Manager scenarios need a
 * cold environment and a fault on every GetSecretValue, so they run one after another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DedupMode } from '../../functions/core/ports.js';
import { eventId } from '../../providers/runtime.js';
import {
  dedupModeEnv,
  type EmulatorStack,
  envelopes,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  type QueueCollector,
} from '../support/emulator-stack.js';
import { behindFaultProxy, relayStackWithSecret, stopFaultedRelay } from '../support/fault-relay.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerEventSignature, registerSensitive, writeFigures } from '../support/log-capture.js';
import type { FaultProxy, FaultRule } from './fault-proxy.js';

const DEADLINE_MS = 10_000;
const secret = `whsec_${randomBytes(24).toString('hex')}`;
registerSensitive(secret, 'secret');

let stack: EmulatorStack;
let proxy: FaultProxy;
let collector: QueueCollector;
let defaultQueueId: string;
const expectedIds = new Set<string>();

interface Outcome {
  scenario: string;
  faultsInjected: number;
  firstStatus: number;
  firstCode: string | undefined;
  firstElapsedMs: number;
  retryStatus?: number;
  retries: number;
  survived: boolean;
}
const outcomes: Outcome[] = [];

function newBody(tag: string): { body: string; key: string; hex: string } {
  const body = JSON.stringify({
    event_type: 'avatar_video.success',
    event_data: { video_id: `v_${tag}_${randomUUID()}`, url: 'https://files.example/x.mp4', callback_id: tag },
  });
  const key = eventId('heygen', Buffer.from(body));
  return { body, key, hex: key.split(':').at(-1) as string };
}

async function deliver(handler: IngressHandler, body: string) {
  const ev = functionUrlEvent(body, { secret });
  registerEventSignature(ev);
  const t0 = Date.now();
  const res = await handler(ev, lambdaContext());
  const parsed = JSON.parse(res.body ?? '{}') as { status?: string; error?: { code: string } };
  return { status: res.statusCode ?? 0, code: parsed.error?.code ?? parsed.status, elapsedMs: Date.now() - t0 };
}

/** A warm execution environment in dedup `mode`: keys cached (one delivery published through it). */
async function warmEnvironment(mode: DedupMode): Promise<IngressHandler> {
  const h = await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint, env: dedupModeEnv(stack, mode) });
  const warm = newBody('warmup');
  const r = await deliver(h, warm.body);
  expect(r.status).toBe(200);
  expectedIds.add(warm.key);
  return h;
}

/**
 * One fault scenario: fault on → one delivery (must be 5xx within the deadline, or `expectFirst`) →
 * fault off → retried like HeyGen until 2xx.
 */
async function scenario(
  name: string,
  handler: IngressHandler,
  rules: (b: { key: string; hex: string }) => FaultRule[],
  expectFirst: '5xx' | 200 = '5xx',
): Promise<Outcome> {
  const b = newBody(name);
  const labels = rules(b).map((rule, i) => {
    const label = `${name}#${i}`;
    proxy.inject(label, rule);
    return label;
  });
  const first = await deliver(handler, b.body);
  const faultsInjected = labels.reduce((s, l) => s + proxy.hits(l), 0);
  for (const l of labels) proxy.clear(l);
  expect(faultsInjected, `${name}: the fault was injected`).toBeGreaterThan(0);
  expect(first.elapsedMs, `${name}: answered within HeyGen's deadline`).toBeLessThan(DEADLINE_MS);
  let retries = 0;
  let last = first;
  if (expectFirst === 200) {
    expect(first.status, `${name}: survived without a 5xx`).toBe(200);
  } else {
    expect(first.status, `${name}: a 5xx so the provider retries (got ${first.status} ${first.code})`).toBeGreaterThanOrEqual(
      500,
    );
    while (last.status !== 200 && retries < 10) {
      retries++;
      await new Promise((r) => setTimeout(r, 250 * retries));
      last = await deliver(handler, b.body);
    }
    expect(last.status, `${name}: HeyGen's retry succeeds`).toBe(200);
  }
  expectedIds.add(b.key);
  const out: Outcome = {
    scenario: name,
    faultsInjected,
    firstStatus: first.status,
    firstCode: first.code,
    firstElapsedMs: first.elapsedMs,
    retryStatus: last.status,
    retries,
    survived: last.status === 200,
  };
  outcomes.push(out);
  return out;
}

beforeAll(async () => {
  stack = await relayStackWithSecret(secret, 'ep_f');
  ({ proxy, collector, defaultQueueId } = await behindFaultProxy(stack));
});

afterAll(() => stopFaultedRelay(proxy, stack));

const PUT_EVENTS = /^AWSEvents\.PutEvents$/;
const DYNAMO_ANY = /^DynamoDB_20120810\./;
const PUT_ITEM = /^DynamoDB_20120810\.PutItem$/;
const GET_ITEM = /^DynamoDB_20120810\.GetItem$/;
const GET_SECRET = /^secretsmanager\.GetSecretValue$/;

describe('faults on the wire (fault proxy in front of moto)', () => {
  it('every fault ends in a 5xx inside the deadline or is survived, and the retry publishes exactly once', async () => {
    // Warm environments first (they read the secret through the proxy while no fault is active).
    // Every data-path scenario runs in both dedup modes; where the modes differ, so does the expectation.
    type Rules = (b: { key: string; hex: string }) => FaultRule[];
    const perMode: [string, Rules, (mode: DedupMode) => '5xx' | 200 | null][] = [
      // PutEvents reports the entry failed twice, then accepts it: the publisher's entry retries absorb it.
      [
        'partial-transient',
        (b) => [{ target: PUT_EVENTS, bodyIncludes: b.hex, times: 2, fault: { kind: 'partial' } }],
        () => 200,
      ],
      [
        'partial-persistent',
        (b) => [{ target: PUT_EVENTS, bodyIncludes: b.hex, fault: { kind: 'partial', errorCode: 'InternalFailure' } }],
        () => '5xx',
      ],
      [
        'throttled',
        (b) => [
          {
            target: PUT_EVENTS,
            bodyIncludes: b.hex,
            fault: { kind: 'error', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
          },
        ],
        () => '5xx',
      ],
      [
        'eventbridge-500',
        (b) => [{ target: PUT_EVENTS, bodyIncludes: b.hex, fault: { kind: 'error', status: 500, type: 'InternalException' } }],
        () => '5xx',
      ],
      [
        'dynamodb-500',
        (b) => [{ target: DYNAMO_ANY, bodyIncludes: b.hex, fault: { kind: 'error', status: 500, type: 'InternalServerError' } }],
        () => '5xx',
      ],
      [
        'dynamodb-throttled',
        (b) => [
          {
            target: DYNAMO_ANY,
            bodyIncludes: b.hex,
            fault: { kind: 'error', status: 400, type: 'ProvisionedThroughputExceededException' },
          },
        ],
        () => '5xx',
      ],
      ['putevents-hang', (b) => [{ target: PUT_EVENTS, bodyIncludes: b.hex, fault: { kind: 'hang' } }], () => '5xx'],
      // claim: the claim hangs before the publish (5xx). record: the one PutItem is the record after
      // the publish, so the event is on the bus and the answer is 200; the record is cut short.
      [
        'putitem-hang',
        (b) => [{ target: PUT_ITEM, bodyIncludes: b.hex, fault: { kind: 'hang' } }],
        (mode) => (mode === 'claim' ? '5xx' : 200),
      ],
      // record's read before the publish (claim mode reads only after a failed claim: not run there).
      [
        'getitem-hang',
        (b) => [{ target: GET_ITEM, bodyIncludes: b.hex, fault: { kind: 'hang' } }],
        (mode) => (mode === 'record' ? '5xx' : null),
      ],
    ];
    const runs = (['record', 'claim'] as const).flatMap((mode) =>
      perMode.flatMap(([name, rules, expect]) => {
        const first = expect(mode);
        return first === null ? [] : [{ name: `${name}/${mode}`, mode, rules, first }];
      }),
    );
    const envs = new Map<string, IngressHandler>();
    for (const r of runs) envs.set(r.name, await warmEnvironment(r.mode));
    const concurrent = Promise.all(runs.map((r) => scenario(r.name, envs.get(r.name) as IngressHandler, r.rules, r.first)));

    // Secrets Manager: cold environments, a fault on every GetSecretValue; one after another.
    const sm = (async () => {
      await scenario('secrets-500-cold', await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint }), () => [
        { target: GET_SECRET, fault: { kind: 'error', status: 500, type: 'InternalServiceError' } },
      ]);
      await scenario('secrets-hang-cold', await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint }), () => [
        { target: GET_SECRET, fault: { kind: 'hang' } },
      ]);
      await scenario(
        'secrets-slow-cold',
        await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint }),
        () => [{ target: GET_SECRET, fault: { kind: 'delay', ms: 700 } }],
        200,
      );
    })();
    await Promise.all([concurrent, sm]);

    // The end state: every event exactly once in the default queue, nothing in any DLQ.
    await new Promise((r) => setTimeout(r, 300));
    const received = await collector.stop();
    const got = envelopes(received.get(defaultQueueId) ?? []);
    const counts = new Map<string, number>();
    for (const e of got) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    const lost = [...expectedIds].filter((id) => !counts.has(id));
    const twice = [...counts.entries()].filter(([, n]) => n > 1);
    const unexpected = [...counts.keys()].filter((id) => !expectedIds.has(id));
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    expect(unexpected).toEqual([]);
    let dlq = 0;
    for (const [id, msgs] of received)
      if (id !== defaultQueueId && stack.queues[id]?.attributes.RedrivePolicy === undefined) dlq += msgs.length;
    expect(dlq).toBe(0);

    writeFigures('faults', {
      scenarios: outcomes,
      faultsInjected: proxy.injected.length,
      faultsByKind: proxy.injected.reduce<Record<string, number>>((m, f) => {
        m[f.kind] = (m[f.kind] ?? 0) + 1;
        return m;
      }, {}),
      scenariosSurvived: outcomes.filter((o) => o.survived).length,
      scenariosTotal: outcomes.length,
      maxFirstAnswerMs: Math.max(...outcomes.map((o) => o.firstElapsedMs)),
      eventsExpected: expectedIds.size,
      eventsLost: lost.length,
      duplicatesPublished: twice.length + unexpected.length,
    });
  }, 60_000);
});
