/**
 * Rotation under load, shared by scripts/heygen-rotation-under-load.ts (figures) and
 * test/integration/heygen-rotation-load.test.ts (no-loss regression check).
 *
 * The fake HeyGen delivers signed webhooks, retrying non-2xx with a bounded exponential backoff, to
 * a receiver that verifies them as the ingress does (SecretsManagerKeySource + verifyWithFallback)
 * over an in-memory Secrets Manager, while the rotation function rotates the secret; one rotation
 * crashes between HeyGen's answer and storing the secret and is retried after a delay.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { serializeStoredSigningSecret } from '../../functions/core/secret-store.js';
import { verifyWithFallback } from '../../functions/core/verify.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { rotationStep } from '../../providers/heygen/runtime/rotation.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';

export interface LoadOptions {
  readonly deliveries: number;
  readonly concurrency: number;
  readonly rotations: number;
  /** Pause before each rotation. */
  readonly spacingMs: number;
  /** How long "Secrets Manager" waits before retrying the crashed step. */
  readonly crashDelayMs: number;
  /** HeyGen-style delivery retry backoff base (doubles, capped at 1 s). */
  readonly backoffMs: number;
  /** Delivery attempts in all. @default 8 */
  readonly maxAttempts?: number;
}

export interface LoadResult {
  readonly deliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly firstAttemptRejections: number;
  readonly attempts: number;
  /** Rotations HeyGen performed (must equal the rotations requested: a crash retry must not rotate again). */
  readonly rotationsAtHeyGen: number;
  readonly attemptsHistogram: ReadonlyMap<number, number>;
  readonly refreshes: number;
  readonly elapsedMs: number;
  readonly rotationLog: readonly string[];
}

const URL_A = 'https://relay.example.com/heygen';
const NAME = 'heygen-signing';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runRotationUnderLoad(o: LoadOptions): Promise<LoadResult> {
  const fake = await FakeHeyGenApi.start({ validate: false });
  const sm = new FakeSecretsManager();
  const ep = fake.seedEndpoint(URL_A, ['avatar_video.success']);
  sm.create(NAME, serializeStoredSigningSecret({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A }));
  const heygen = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });

  const keys = new SecretsManagerKeySource(sm.client, NAME);
  let refreshes = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const sig = String(req.headers['heygen-signature'] ?? '');
      let ok = verifyWithFallback(await keys.getKeys(), body, sig);
      if (!ok) {
        refreshes++;
        ok = verifyWithFallback(await keys.refresh(), body, sig);
      }
      res.writeHead(ok ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/heygen`;
  await keys.getKeys(); // warm, like a running ingress

  try {
    const started = Date.now();
    let next = 0;
    const attemptsHistogram = new Map<number, number>();
    const worker = async () => {
      while (next < o.deliveries) {
        next++;
        const r = await fake.deliver(
          ep.endpoint_id,
          target,
          { event_type: 'avatar_video.success', event_data: { video_id: `v${next}` } },
          { backoffBaseMs: o.backoffMs, maxAttempts: o.maxAttempts ?? 8 },
        );
        attemptsHistogram.set(r.attempts, (attemptsHistogram.get(r.attempts) ?? 0) + 1);
      }
    };

    const rotationLog: string[] = [];
    const rotate = async () => {
      for (let i = 0; i < o.rotations; i++) {
        await sleep(o.spacingMs);
        const crash = i === Math.floor(o.rotations / 2);
        if (crash) sm.failNext('PutSecretValue', new Error('Task timed out'));
        const token = sm.stageRotation(NAME);
        const t0 = Date.now();
        for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
          for (let attempt = 1; ; attempt++) {
            try {
              await rotationStep({ SecretId: NAME, ClientRequestToken: token, Step: step }, { secrets: sm.client, heygen });
              break;
            } catch (err) {
              if (attempt >= 3) throw err;
              rotationLog.push(
                `rotation ${i + 1}: ${step} failed (${(err as Error).message}); retried after ${o.crashDelayMs} ms`,
              );
              await sleep(o.crashDelayMs);
            }
          }
        }
        sm.secrets.get(NAME)?.versions.get(token)?.stages.delete('AWSPENDING');
        rotationLog.push(`rotation ${i + 1}${crash ? ' (crash after HeyGen answered)' : ''}: ${Date.now() - t0} ms`);
      }
    };

    await Promise.all([...Array.from({ length: o.concurrency }, worker), rotate()]);
    const s = fake.stats;
    return {
      deliveries: s.deliveries,
      delivered: s.delivered,
      lost: s.undelivered,
      firstAttemptRejections: s.firstAttemptRejections,
      attempts: s.attempts,
      rotationsAtHeyGen: (fake.issuedSecrets.get(ep.endpoint_id)?.length ?? 1) - 1,
      attemptsHistogram,
      refreshes,
      elapsedMs: Date.now() - started,
      rotationLog,
    };
  } finally {
    server.closeAllConnections();
    server.close();
    await fake.close();
    sm.mock.restore();
  }
}
