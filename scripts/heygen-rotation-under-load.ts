/**
 * Rotation under load: how many deliveries does a HeyGen secret rotation cost?
 *
 * Everything runs on loopback: the HeyGen fake (test/fakes/heygen-api.ts) delivers signed webhooks,
 * retrying non-2xx with a bounded exponential backoff, to a receiver that verifies them exactly as
 * the ingress does (SecretsManagerKeySource + verifyWithFallback, over an in-memory Secrets
 * Manager). Meanwhile the rotation function (providers/heygen/rotation.ts) rotates the secret
 * several times; one rotation crashes between HeyGen's answer and storing the new secret and is
 * retried by "Secrets Manager" after a delay.
 *
 *   npx tsx scripts/heygen-rotation-under-load.ts [--deliveries 2000] [--concurrency 20]
 *       [--rotations 3] [--spacing-ms 1500] [--crash-delay-ms 500] [--backoff-ms 200]
 *
 * Prints figures; it is a benchmark, not a test.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { SecretsManagerKeySource } from '../functions/adapters/aws/secrets-key-source.js';
import { serializeStoredSigningSecret } from '../functions/core/secret-store.js';
import { verifyWithFallback } from '../functions/core/verify.js';
import { HeyGenWebhookClient } from '../functions/providers/heygen/api/client.js';
import { rotationStep } from '../functions/providers/heygen/rotation.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../test/fakes/heygen-api.js';
import { FakeSecretsManager } from '../test/fakes/secrets-manager.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '20' },
    rotations: { type: 'string', default: '3' },
    'crash-delay-ms': { type: 'string', default: '500' },
    'backoff-ms': { type: 'string', default: '200' },
    'spacing-ms': { type: 'string', default: '1500' },
  },
});
const DELIVERIES = Number(values.deliveries);
const CONCURRENCY = Number(values.concurrency);
const ROTATIONS = Number(values.rotations);
const CRASH_DELAY_MS = Number(values['crash-delay-ms']);
const BACKOFF_MS = Number(values['backoff-ms']);
const SPACING_MS = Number(values['spacing-ms']);
const URL_A = 'https://relay.example.com/heygen';
const NAME = 'heygen-signing';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const fake = await FakeHeyGenApi.start({ validate: false });
  const sm = new FakeSecretsManager();
  const ep = fake.seedEndpoint(URL_A, ['avatar_video.success']);
  sm.create(NAME, serializeStoredSigningSecret({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A }));
  const heygen = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });

  // The receiver: the ingress's key source and verification, on the fake Secrets Manager.
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

  const started = Date.now();
  let next = 0;
  const attemptsHistogram = new Map<number, number>();
  const worker = async () => {
    while (next < DELIVERIES) {
      next++;
      const r = await fake.deliver(
        ep.endpoint_id,
        target,
        { event_type: 'avatar_video.success', event_data: { video_id: `v${next}` } },
        { backoffBaseMs: BACKOFF_MS, maxAttempts: 8 },
      );
      attemptsHistogram.set(r.attempts, (attemptsHistogram.get(r.attempts) ?? 0) + 1);
    }
  };

  const rotationLog: string[] = [];
  const rotate = async () => {
    for (let i = 0; i < ROTATIONS; i++) {
      await sleep(SPACING_MS);
      const crash = i === Math.floor(ROTATIONS / 2);
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
            rotationLog.push(`rotation ${i + 1}: ${step} failed (${(err as Error).message}); retried after ${CRASH_DELAY_MS} ms`);
            await sleep(CRASH_DELAY_MS);
          }
        }
      }
      sm.secrets.get(NAME)?.versions.get(token)?.stages.delete('AWSPENDING');
      rotationLog.push(`rotation ${i + 1}${crash ? ' (crash after HeyGen answered)' : ''}: ${Date.now() - t0} ms`);
    }
  };

  await Promise.all([...Array.from({ length: CONCURRENCY }, worker), rotate()]);
  const elapsed = Date.now() - started;
  server.closeAllConnections();
  server.close();
  await fake.close();
  sm.mock.restore();

  const s = fake.stats;
  const rotationsAtHeyGen = (fake.issuedSecrets.get(ep.endpoint_id)?.length ?? 1) - 1;
  const lines = [
    `deliveries:               ${s.deliveries} (concurrency ${CONCURRENCY}, HeyGen-style retry backoff ${BACKOFF_MS} ms doubling, capped 1 s, 8 attempts)`,
    `rotations:                ${ROTATIONS} requested ${SPACING_MS} ms apart, ${rotationsAtHeyGen} performed at HeyGen (crash retry reused the Idempotency-Key)`,
    `delivered:                ${s.delivered}`,
    `undelivered (lost):       ${s.undelivered}`,
    `first-attempt rejections: ${s.firstAttemptRejections} (${((100 * s.firstAttemptRejections) / s.deliveries).toFixed(2)} %)`,
    `total attempts:           ${s.attempts}`,
    `attempts per delivery:    ${[...attemptsHistogram]
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ')}`,
    `receiver refreshes:       ${refreshes} verification misses led to a (rate-limited) re-read`,
    `elapsed:                  ${elapsed} ms`,
    ...rotationLog,
  ];
  for (const l of lines) process.stdout.write(`${l}\n`);
  process.stdout.write(
    `${JSON.stringify({ deliveries: s.deliveries, delivered: s.delivered, lost: s.undelivered, firstAttemptRejections: s.firstAttemptRejections, attempts: s.attempts, rotations: rotationsAtHeyGen, elapsedMs: elapsed })}\n`,
  );
  if (s.undelivered > 0 || rotationsAtHeyGen !== ROTATIONS) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
