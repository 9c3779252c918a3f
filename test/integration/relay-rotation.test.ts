/**
 * Signing-secret rotation on the emulator while deliveries flow. The rotation module
 * (providers/heygen/runtime/rotation.ts) runs Secrets Manager's four steps against moto with the
 * real SDK; a fake HeyGen switches its signing secret the moment rotate-secret answers (as HeyGen
 * does), and signs every delivery attempt with whichever secret it uses at that moment. The real
 * Lambda entry (several execution environments, each with its own key cache) must keep verifying:
 * AWSCURRENT, AWSPENDING, AWSPREVIOUS within grace, and a re-read on a miss at most once a second.
 *
 * First-attempt rejections are counted (the window between HeyGen switching and the new secret
 * being readable), rejected deliveries are retried like HeyGen would, and at the end every event is
 * in the default queue exactly once.
 *
 * Emulated part: Secrets Manager's RotateSecret attaches AWSPENDING to the new version id before it
 * invokes createSecret, a state moto cannot produce without a Lambda (its RotateSecret relabels
 * straight to AWSCURRENT). A middleware on the rotation's client adds that label (and
 * RotationEnabled) to DescribeSecret answers for the token being rotated; every read and write of
 * secret values and labels is moto's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HeyGenWebhookApi } from '../../providers/heygen/runtime/api/client.js';
import { type RotationStep, rotationStep } from '../../providers/heygen/runtime/rotation.js';
import {
  type EmulatorStack,
  envelopes,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  provisionFromTemplate,
  QueueCollector,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerEventSignature, registerSensitive, writeFigures } from '../support/log-capture.js';
import { awsClientConfig } from '../support/moto.js';

const ROTATIONS = 3;
const ENVIRONMENTS = 4;
const URL = 'https://relay.example/heygen';

let stack: EmulatorStack;

/** HeyGen's side: one endpoint, rotate-secret switches at once; idempotent per Idempotency-Key. */
class FakeHeyGen {
  current = `whsec_${randomBytes(24).toString('hex')}`;
  readonly issued: string[] = [this.current];
  private readonly byKey = new Map<string, string>();
  rotateCalls = 0;
  constructor() {
    registerSensitive(this.current, 'secret');
  }
  api(): HeyGenWebhookApi {
    const unsupported = async () => {
      throw new Error('not used by the rotation');
    };
    return {
      listEndpoints: async () => [{ endpoint_id: 'ep_rot', url: URL, created_at: '2026-01-01T00:00:00Z' }] as never,
      rotateSecret: async (endpointId: string, options?: { idempotencyKey?: string }) => {
        this.rotateCalls++;
        const key = options?.idempotencyKey ?? randomUUID();
        let secret = this.byKey.get(key);
        if (!secret) {
          secret = `whsec_${randomBytes(24).toString('hex')}`;
          registerSensitive(secret, 'secret');
          this.byKey.set(key, secret);
          this.issued.push(secret);
        }
        this.current = secret; // the old secret is invalid from now on
        return { endpoint_id: endpointId, secret } as never;
      },
      createEndpoint: unsupported,
      updateEndpoint: unsupported,
      deleteEndpoint: unsupported,
      listEventTypes: unsupported,
    } as HeyGenWebhookApi;
  }
}

/** The rotation's Secrets Manager client: real moto, plus the label RotateSecret would attach. */
function rotationClient(token: { value: string | undefined }): SecretsManagerClient {
  const client = new SecretsManagerClient(awsClientConfig(stack.endpoint));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'DescribeSecretCommand' && token.value) {
        const o = out.output as { RotationEnabled?: boolean; VersionIdsToStages?: Record<string, string[]> };
        o.RotationEnabled = true;
        o.VersionIdsToStages ??= {};
        if (!o.VersionIdsToStages[token.value]) o.VersionIdsToStages[token.value] = ['AWSPENDING'];
      }
      return out;
    },
    { step: 'initialize', name: 'emulateRotateSecretLabel' },
  );
  return client;
}

beforeAll(async () => {
  stack = await provisionFromTemplate(synthesizeRelayTemplate(), inject('motoEndpoint'));
});
afterAll(() => stack?.destroy());

describe('signing-secret rotation while deliveries flow', () => {
  it(`${ROTATIONS} rotations through the 4 steps: deliveries keep verifying, rejected ones retried, every event once`, async () => {
    const heygen = new FakeHeyGen();
    registerSensitive('hg_api_key_for_rotation_test_0123456789', 'api_key');
    // The registrar's first write: the secret HeyGen issued on endpoint creation.
    await stack.clients.sm.send(
      new PutSecretValueCommand({
        SecretId: stack.signingSecretArn,
        SecretString: JSON.stringify({ secret: heygen.current, endpointId: 'ep_rot', url: URL }),
      }),
    );
    const envs: IngressHandler[] = [];
    for (let i = 0; i < ENVIRONMENTS; i++) envs.push(await loadIngressEntry(stack));
    const collector = new QueueCollector(
      stack.clients.sqs,
      Object.fromEntries(Object.values(stack.queues).map((q) => [q.logicalId, q.url])),
    ).start();

    const sent = new Set<string>();
    const published = new Map<string, number>();
    const firstAttempt: Record<string, number> = {};
    let attempts = 0;
    let retries = 0;
    let stop = false;
    async function provider(env: IngressHandler, w: number) {
      let n = 0;
      while (!stop) {
        const body = JSON.stringify({
          event_type: 'avatar_video.success',
          event_data: { video_id: `rot-${w}-${n++}-${randomUUID()}` },
        });
        for (let attempt = 1; ; attempt++) {
          const ev = functionUrlEvent(body, { secret: heygen.current }); // HeyGen signs each attempt with its current secret
          registerEventSignature(ev);
          attempts++;
          const res = await env(ev, lambdaContext());
          const parsed = JSON.parse(res.body ?? '{}') as { status?: string; id?: string; error?: { code: string } };
          const outcome = res.statusCode === 200 ? `200:${parsed.status}` : `${res.statusCode}:${parsed.error?.code}`;
          if (attempt === 1) firstAttempt[outcome] = (firstAttempt[outcome] ?? 0) + 1;
          if (res.statusCode === 200) {
            if (parsed.id) {
              sent.add(parsed.id);
              if (parsed.status === 'published') published.set(parsed.id, (published.get(parsed.id) ?? 0) + 1);
            }
            break;
          }
          expect([401, 409, 503]).toContain(res.statusCode);
          expect(attempt).toBeLessThan(15);
          retries++;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const providers = envs.map((e, i) => provider(e, i));

    const stepLog: { rotation: number; step: RotationStep; result: string }[] = [];
    const oldSecrets: string[] = [];
    for (let r = 1; r <= ROTATIONS; r++) {
      await new Promise((res) => setTimeout(res, 700));
      const token = { value: randomUUID() as string | undefined };
      const sm = rotationClient(token);
      const log = {
        info: (m: string, ...a: Record<string, unknown>[]) =>
          console.log(JSON.stringify({ level: 'INFO', service: 'rotation', message: m, ...Object.assign({}, ...a) })),
        warn: (m: string, ...a: Record<string, unknown>[]) =>
          console.log(JSON.stringify({ level: 'WARN', service: 'rotation', message: m, ...Object.assign({}, ...a) })),
        error: (m: string, ...a: Record<string, unknown>[]) =>
          console.log(JSON.stringify({ level: 'ERROR', service: 'rotation', message: m, ...Object.assign({}, ...a) })),
      };
      oldSecrets.push(heygen.current);
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
        const result = await rotationStep(
          { SecretId: stack.signingSecretArn, ClientRequestToken: token.value as string, Step: step },
          { secrets: sm, heygen: heygen.api(), logger: log, endpointUrl: URL },
        );
        stepLog.push({ rotation: r, step, result });
        // Secrets Manager retries a step after a crash: a retried createSecret must not rotate again.
        if (step === 'createSecret') {
          const again = await rotationStep(
            { SecretId: stack.signingSecretArn, ClientRequestToken: token.value as string, Step: step },
            { secrets: sm, heygen: heygen.api(), logger: log, endpointUrl: URL },
          );
          expect(again).toBe('pending_exists');
        }
        await new Promise((res) => setTimeout(res, 300));
      }
      const described = await stack.clients.sm.send(new DescribeSecretCommand({ SecretId: stack.signingSecretArn }));
      const stages = described.VersionIdsToStages ?? {};
      expect(stages[token.value as string]).toContain('AWSCURRENT');
      expect(Object.values(stages).filter((s) => s.includes('AWSPREVIOUS'))).toHaveLength(1);
      sm.destroy();
    }
    await new Promise((res) => setTimeout(res, 700));
    stop = true;
    await Promise.all(providers);

    // AWSPREVIOUS stays accepted within the grace period: a delivery signed with the secret before
    // the last rotation (e.g. sent by HeyGen just before rotate-secret) verifies.
    const late = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `late-${randomUUID()}` } });
    const lateEv = functionUrlEvent(late, { secret: oldSecrets.at(-1) as string });
    registerEventSignature(lateEv);
    const lateRes = await (envs[0] as IngressHandler)(lateEv, lambdaContext());
    expect(lateRes.statusCode).toBe(200);
    const lateId = (JSON.parse(lateRes.body ?? '{}') as { id: string }).id;
    sent.add(lateId);
    // Two rotations back is no longer live for a fresh environment: 401. (A warm environment may
    // still hold it in its key cache until the cache TTL, SECRET_CACHE_SECONDS, expires.)
    const stale = functionUrlEvent(`${late} `, { secret: oldSecrets.at(-2) as string });
    registerEventSignature(stale);
    expect((await (await loadIngressEntry(stack))(stale, lambdaContext())).statusCode).toBe(401);

    await new Promise((res) => setTimeout(res, 300));
    const received = await collector.stop();
    const dq = Object.values(stack.queues).find((q) =>
      stack.rules.some((r) => r.targetQueues.includes(q.logicalId) && !r.eventPattern['detail-type']),
    );
    const got = envelopes(received.get(dq?.logicalId ?? '') ?? []);
    const counts = new Map<string, number>();
    for (const e of got) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    const lost = [...sent].filter((id) => !counts.has(id));
    const twice = [...counts.values()].filter((n) => n > 1).length;
    expect(lost).toEqual([]);
    expect(twice).toBe(0);
    expect(counts.size).toBe(sent.size);
    expect(heygen.issued).toHaveLength(ROTATIONS + 1); // no retried step rotated twice
    expect(stepLog.filter((s) => s.step === 'createSecret').every((s) => s.result === 'rotated')).toBe(true);

    writeFigures('rotation', {
      rotations: ROTATIONS,
      executionEnvironments: ENVIRONMENTS,
      deliveries: sent.size,
      attempts,
      firstAttemptOutcomes: firstAttempt,
      firstAttemptRejections: Object.entries(firstAttempt)
        .filter(([k]) => !k.startsWith('200'))
        .reduce((s, [, n]) => s + n, 0),
      providerRetries: retries,
      rotateSecretCalls: heygen.rotateCalls,
      secretsIssued: heygen.issued.length,
      steps: stepLog,
      previousAcceptedWithinGrace: lateRes.statusCode === 200,
      eventsLost: lost.length,
      duplicatesPublished: twice,
    });
  }, 60_000);
});
