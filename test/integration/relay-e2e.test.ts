/**
 * End to end on the moto emulator, with the real SDK v3 clients and the real Lambda entry
 * (functions/entries/ingress.ts). The bus, rules, queues, DLQs, dedup table and signing secret are
 * provisioned from the synthesized HeyGenRelayStack template (test/support/emulator-stack.ts), and
 * the ingress reads the function's Environment from that template with its references resolved.
 *
 * 1,000 signed deliveries at concurrency 25, 20% of them duplicates (byte-identical re-sends, some
 * racing their original): every event lands exactly once in the default queue and exactly once in
 * each routed queue whose pattern matches it; nothing lost, nothing extra, nothing in a DLQ.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DedupMode } from '../../functions/core/ports.js';
import { eventId } from '../../providers/runtime.js';
import {
  dedupModeEnv,
  drainQueue,
  type EmulatorStack,
  envelopes,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  type ProviderSendStats,
  patternMatches,
  provisionFromTemplate,
  QueueCollector,
  sendLikeProvider,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerEventSignature, registerSensitive, writeFigures } from '../support/log-capture.js';

const DELIVERIES = 1_000;
const CONCURRENCY = 25;
const DUPLICATE_RATIO = 0.2;
const TYPES = ['avatar_video.success', 'avatar_video.fail', 'video_translate.success', 'video_translate.fail'] as const;
const FAILURE_TYPES = ['avatar_video.fail', 'video_translate.fail'];

let stack: EmulatorStack;
let handler: IngressHandler;
const secret = `whsec_${randomBytes(24).toString('hex')}`;
registerSensitive(secret, 'secret');

function body(i: number, run: string): string {
  const type = TYPES[i % TYPES.length] as string;
  const id = `${run}-${i}`;
  const data: Record<string, unknown> = type.startsWith('avatar_video')
    ? {
        video_id: `v_${id}`,
        callback_id: `cb-${id}`,
        ...(type.endsWith('fail') ? { msg: 'failed: é ✓ 日本' } : { url: `https://files.example/${id}.mp4` }),
      }
    : { video_translate_id: `vt_${id}`, callback_id: `cb-${id}`, output_language: 'Español' };
  return JSON.stringify({ event_type: type, event_data: data });
}

beforeAll(async () => {
  const template = synthesizeRelayTemplate({ relay: { queues: [{ name: 'failures', eventTypes: FAILURE_TYPES }] } });
  stack = await provisionFromTemplate(template, inject('motoEndpoint'));
  handler = await loadIngressEntry(stack);
});

/**
 * Lambda runs one request at a time per execution environment: concurrency N = N environments.
 * `mode` overrides the dedup mode the template set (HeyGen's default is `record`).
 */
async function environments(n: number, mode: DedupMode): Promise<IngressHandler[]> {
  const out: IngressHandler[] = [];
  for (let i = 0; i < n; i++) out.push(await loadIngressEntry(stack, { env: dedupModeEnv(stack, mode) }));
  return out;
}

/** How many attempts at each body started while another attempt at the same body was still unanswered. */
function copiesMidFlight(attempts: ProviderSendStats['attempts']): Map<string, number> {
  const byBody = new Map<string, { start: number; end: number }[]>();
  for (const a of attempts) byBody.set(a.body, [...(byBody.get(a.body) ?? []), a]);
  const out = new Map<string, number>();
  for (const [b, list] of byBody) {
    const n = list.filter((a) => list.some((o) => o !== a && o.start <= a.start && o.end > a.start)).length;
    out.set(eventId('heygen', Buffer.from(b)), n);
  }
  return out;
}

afterAll(() => stack?.destroy());

describe('relay on the emulator, provisioned from the synthesized template', () => {
  it('derives every data-path resource and the ingress environment from the template', () => {
    expect(Object.keys(stack.queues).length).toBe(5); // default + DLQ, failures + DLQ, target DLQ
    expect(stack.rules.map((r) => r.eventPattern)).toEqual(
      expect.arrayContaining([{ source: ['heygen'] }, { source: ['heygen'], 'detail-type': FAILURE_TYPES }]),
    );
    for (const q of Object.values(stack.queues)) expect(q.attributes.SqsManagedSseEnabled).toBe('true');
    const redriven = Object.values(stack.queues).filter((q) => q.attributes.RedrivePolicy);
    expect(redriven).toHaveLength(2);
    for (const q of redriven) {
      const policy = JSON.parse(q.attributes.RedrivePolicy ?? '{}') as { deadLetterTargetArn: string; maxReceiveCount: number };
      expect(Object.values(stack.queues).map((x) => x.arn)).toContain(policy.deadLetterTargetArn);
      expect(policy.maxReceiveCount).toBe(5);
    }
    expect(stack.ingressEnv.EVENT_BUS_NAME).toBe(stack.busName);
    expect(stack.ingressEnv.DEDUP_TABLE_NAME).toBe(stack.tableName);
    expect(stack.ingressEnv.DEDUP_WINDOW_SECONDS).toBe('172800');
    expect(stack.ingressEnv.MAX_BODY_BYTES).toBe('262144');
    expect(stack.signingSecretArn).toMatch(/^arn:aws:secretsmanager:/);
    expect(stack.skipped['AWS::Lambda::Function']).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 not_configured while the secret holds the construct initial value, then accepts once it is set', async () => {
    const b = body(0, `nc-${randomUUID()}`);
    const ev = functionUrlEvent(b, { secret });
    registerEventSignature(ev);
    const res = await handler(ev, lambdaContext());
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '{}').error.code).toBe('not_configured');

    await stack.clients.sm.send(
      new PutSecretValueCommand({
        SecretId: stack.signingSecretArn,
        SecretString: JSON.stringify({ secret, endpointId: 'ep_1', url: 'https://x/heygen' }),
      }),
    );
    // A re-read on an empty key set is rate-limited to once per second.
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await handler(functionUrlEvent(b, { secret }), lambdaContext());
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body ?? '{}').status).toBe('published');
    // Drain that event so the load test below starts from empty queues.
    for (const q of Object.values(stack.queues)) await drainQueue(stack.clients.sqs, q.url, 1);
  });

  it.each([
    ['claim', 'every event exactly once per matching queue, copies in flight included (409, then retried)'],
    ['record', 'every event at least once, and more than once only for copies sent while another was in flight'],
  ] as const)(
    `${DELIVERIES} deliveries at concurrency ${CONCURRENCY} with ${DUPLICATE_RATIO * 100}% duplicates, dedup mode %s: %s`,
    async (mode, _what) => {
      const run = randomUUID().slice(0, 8);
      const uniqueCount = Math.round(DELIVERIES * (1 - DUPLICATE_RATIO));
      const bodies = Array.from({ length: uniqueCount }, (_, i) => body(i, run));
      // Duplicates: re-sends of earlier bodies, spread through the stream (some race their original).
      const sends: string[] = [...bodies];
      for (let d = 0; d < DELIVERIES - uniqueCount; d++) {
        const k = Math.floor(Math.random() * uniqueCount);
        const at = Math.min(sends.length, sends.indexOf(bodies[k] as string) + 1 + Math.floor(Math.random() * 60));
        sends.splice(at, 0, bodies[k] as string);
      }
      expect(sends).toHaveLength(DELIVERIES);

      const envs = await environments(CONCURRENCY, mode);
      const collector = new QueueCollector(
        stack.clients.sqs,
        Object.fromEntries(Object.values(stack.queues).map((q) => [q.logicalId, q.url])),
      ).start();
      const { firstAttempt, statuses, published, retries, latencies, attempts, elapsedMs } = await sendLikeProvider(
        sends,
        envs.length,
        19,
        (b, w) => {
          const ev = functionUrlEvent(b, { secret, headers: { 'heygen-event-id': randomUUID() } });
          registerEventSignature(ev);
          return (envs[w] as IngressHandler)(ev, lambdaContext());
        },
      );
      const received = await collector.stop();

      // Every unique body was published (by the ingress's own account): exactly once in claim mode;
      // in record mode a second time only if a copy was sent while another was in flight.
      expect(published.size).toBe(uniqueCount);
      const midFlight = copiesMidFlight(attempts);
      const extraPublished = new Map([...published].filter(([, n]) => n > 1).map(([id, n]) => [id, n - 1]));
      if (mode === 'claim') expect(extraPublished.size).toBe(0);
      for (const [id, extra] of extraPublished) expect(extra).toBeLessThanOrEqual(midFlight.get(id) ?? 0);
      const expectedExtra = [...extraPublished.values()].reduce((a, n) => a + n, 0);
      const typeOf = new Map(
        bodies.map((b) => [eventId('heygen', Buffer.from(b)), (JSON.parse(b) as { event_type: string }).event_type]),
      );

      // What the queues hold: derived from the template's rules, not from a hand-written list.
      const perQueue: Record<string, { received: number; expected: number; lost: number; extra: number }> = {};
      const allIds = new Set(published.keys());
      const typeById = new Map<string, string>();
      for (const rule of stack.rules) {
        for (const qid of rule.targetQueues) {
          const q = stack.queues[qid];
          if (!q) throw new Error(`rule ${rule.logicalId} targets unknown queue ${qid}`);
          const got = envelopes(received.get(qid) ?? []);
          for (const e of got) typeById.set(e.id, e.type);
          const counts = new Map<string, number>();
          for (const e of got) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
          const expected = bodies
            .map((b) => JSON.parse(b) as { event_type: string })
            .filter((b) => patternMatches(rule.eventPattern, 'heygen', b.event_type)).length;
          const extra =
            [...counts.values()].reduce((s, n) => s + (n - 1), 0) + [...counts.keys()].filter((id) => !allIds.has(id)).length;
          // Copies the ingress published twice reach every queue whose rule they match, nothing else does.
          const extraHere = [...extraPublished]
            .filter(([id]) => patternMatches(rule.eventPattern, 'heygen', typeOf.get(id) ?? ''))
            .reduce((a, [, n]) => a + n, 0);
          perQueue[qid] = { received: got.length, expected, lost: expected - counts.size, extra };
          expect(got.every((e) => patternMatches(rule.eventPattern, e.provider, e.detailType))).toBe(true);
          expect(counts.size).toBe(expected);
          expect(extra).toBe(extraHere);
          expect(got).toHaveLength(expected + extraHere);
        }
      }
      // The default queue saw every published id.
      expect(typeById.size).toBe(uniqueCount);
      // Nothing in any dead-letter queue (queue DLQs and the rule targets' DLQ).
      const dlqIds = new Set(stack.rules.flatMap((r) => r.targetDeadLetterQueues));
      for (const q of Object.values(stack.queues)) {
        if (q.attributes.RedrivePolicy) {
          const policy = JSON.parse(q.attributes.RedrivePolicy) as { deadLetterTargetArn: string };
          const dlq = Object.values(stack.queues).find((x) => x.arn === policy.deadLetterTargetArn);
          if (dlq) dlqIds.add(dlq.logicalId);
        }
      }
      let dlqMessages = 0;
      for (const id of dlqIds) dlqMessages += received.get(id)?.length ?? 0;
      expect(dlqMessages).toBe(0);

      latencies.sort((a, b) => a - b);
      writeFigures(mode === 'record' ? 'e2e' : 'e2e-claim', {
        dedupMode: mode,
        deliveriesSent: DELIVERIES,
        concurrency: CONCURRENCY,
        uniqueEvents: uniqueCount,
        duplicatesInjected: DELIVERIES - uniqueCount,
        providerRetries: retries,
        firstAttemptOutcomes: firstAttempt,
        allOutcomes: statuses,
        published: published.size,
        queues: perQueue,
        dlqMessages,
        eventsLost: Object.values(perQueue).reduce((s, q) => s + q.lost, 0),
        duplicatesPublished: Object.values(perQueue).reduce((s, q) => s + q.extra, 0),
        copiesSentMidFlight: [...midFlight.values()].reduce((a, n) => a + n, 0),
        publishedTwiceByIngress: expectedExtra,
        elapsedMs,
        latencyMs: {
          p50: latencies[Math.floor(latencies.length * 0.5)],
          p99: latencies[Math.floor(latencies.length * 0.99)],
          max: latencies.at(-1),
        },
        skippedResourceTypes: stack.skipped,
      });
    },
    // scripts/reliability.ts gives a loaded machine more time (RELIABILITY_E2E_TIMEOUT_MS); what is checked is the same.
    Number(process.env.RELIABILITY_E2E_TIMEOUT_MS) || 120_000,
  );
});
