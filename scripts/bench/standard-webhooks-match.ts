/**
 * `npx tsx scripts/bench/standard-webhooks-match.ts`: the cost of verifying one Standard Webhooks
 * delivery (precheck + match, one key), as the ingress does it now (node:crypto HMAC over the raw
 * bytes, providers/standard-webhooks/runtime/signature.ts) against how it did before issue 20
 * (the `standardwebhooks` library's `sign`: the Buffer decoded to text, re-encoded, a JavaScript
 * SHA-256). Alternating rounds, median of 5, at 1 KB and 64 KB. Prints µs per delivery.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { hmacV1, standardWebhooksSignature } from '../../providers/standard-webhooks/runtime/signature.js';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const key = { secret, label: 'AWSCURRENT' };
const library = new Webhook(secret);

function cases(size: number) {
  const body = Buffer.from(JSON.stringify({ type: 'video.completed', data: { s: 'a'.repeat(size - 48) } }));
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = `v1,${hmacV1(Buffer.from(secret.slice('whsec_'.length), 'base64'), 'msg_1', ts, body).toString('base64')}`;
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': sig };
  /** dfd2de7's match, less its regex precheck: the library signs, the entry is compared. */
  const before = () => {
    const given = [Buffer.from(sig.slice(3), 'base64')];
    const expected = Buffer.from(library.sign('msg_1', new Date(Number(ts) * 1000), Buffer.from(body)).slice(3), 'base64');
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  };
  const now = () => {
    standardWebhooksSignature.precheck(body, headers);
    return standardWebhooksSignature.match([key], body, headers) === key;
  };
  if (!before() || !now()) throw new Error('a case does not verify');
  return { before, now };
}

function timeIt(f: () => boolean, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t) / n / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

for (const size of [1024, 65536]) {
  const { before, now } = cases(size);
  const n = size > 10_000 ? 300 : 3_000;
  timeIt(before, n);
  timeIt(now, n);
  const b: number[] = [];
  const a: number[] = [];
  for (let round = 0; round < 5; round++) {
    b.push(timeIt(before, n));
    a.push(timeIt(now, n));
  }
  const [mb, ma] = [median(b), median(a)];
  console.log(`${size / 1024} KB: before ${mb.toFixed(1)} µs, now ${ma.toFixed(1)} µs (${(ma / mb).toFixed(2)}x)`);
}
