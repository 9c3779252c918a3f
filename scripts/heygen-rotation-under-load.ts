/**
 * Rotation under load: how many deliveries does a HeyGen secret rotation cost?
 *
 * Everything runs on loopback (see test/support/rotation-under-load.ts): the HeyGen fake delivers
 * signed webhooks, retrying non-2xx with a bounded exponential backoff, to a receiver that verifies
 * them exactly as the ingress does, while the rotation function rotates the secret several times;
 * one rotation crashes between HeyGen's answer and storing the new secret and is retried.
 *
 *   npx tsx scripts/heygen-rotation-under-load.ts [--deliveries 2000] [--concurrency 20]
 *       [--rotations 3] [--spacing-ms 1500] [--crash-delay-ms 500] [--backoff-ms 200]
 *
 * Prints figures; it is a benchmark, not a test. Exits 1 if a delivery was lost or HeyGen rotated
 * more often than asked.
 */
import { parseArgs } from 'node:util';
import { runRotationUnderLoad } from '../test/support/rotation-under-load.js';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '20' },
    rotations: { type: 'string', default: '3' },
    'spacing-ms': { type: 'string', default: '1500' },
    'crash-delay-ms': { type: 'string', default: '500' },
    'backoff-ms': { type: 'string', default: '200' },
  },
});

async function main(): Promise<void> {
  const o = {
    deliveries: Number(values.deliveries),
    concurrency: Number(values.concurrency),
    rotations: Number(values.rotations),
    spacingMs: Number(values['spacing-ms']),
    crashDelayMs: Number(values['crash-delay-ms']),
    backoffMs: Number(values['backoff-ms']),
  };
  const r = await runRotationUnderLoad(o);
  const lines = [
    `deliveries:               ${r.deliveries} (concurrency ${o.concurrency}, HeyGen-style retry backoff ${o.backoffMs} ms doubling, capped 1 s, 8 attempts)`,
    `rotations:                ${o.rotations} requested ${o.spacingMs} ms apart, ${r.rotationsAtHeyGen} performed at HeyGen (crash retry reused the Idempotency-Key)`,
    `delivered:                ${r.delivered}`,
    `undelivered (lost):       ${r.lost}`,
    `first-attempt rejections: ${r.firstAttemptRejections} (${((100 * r.firstAttemptRejections) / r.deliveries).toFixed(2)} %)`,
    `total attempts:           ${r.attempts}`,
    `attempts per delivery:    ${[...r.attemptsHistogram]
      .sort((a, b) => a[0] - b[0])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ')}`,
    `receiver refreshes:       ${r.refreshes} verification misses led to a (rate-limited) re-read`,
    `elapsed:                  ${r.elapsedMs} ms`,
    ...r.rotationLog,
  ];
  for (const l of lines) process.stdout.write(`${l}\n`);
  const { attemptsHistogram: _h, rotationLog: _l, ...json } = r;
  process.stdout.write(`${JSON.stringify(json)}\n`);
  if (r.lost > 0 || r.rotationsAtHeyGen !== o.rotations) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
