/**
 * Load generator (its own process): N concurrent senders over keep-alive HTTP/1.1 to a loopback
 * URL, each posting unique signed deliveries until the time or count bound is hit. Prints one JSON
 * line: sent, ok (200 + "published"), other statuses, errors, deliveries/s, latency p50/p99 (ms).
 * Refuses any host outside 127.0.0.0/8 and ::1.
 */
import { Agent, request } from 'node:http';
import { BENCH_SECRET, bodyFactory, sign } from '../lib/payload';
import { percentile, sortedCopy } from '../lib/stats';

const cfg = JSON.parse(process.env.BENCH_LOAD ?? '{}') as {
  url: string;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  bodyBytes: number;
  tag: string;
};
const url = new URL(cfg.url);
if (!/^127\.\d+\.\d+\.\d+$/.test(url.hostname) && url.hostname !== '[::1]' && url.hostname !== 'localhost')
  throw new Error(`loopback only, got ${url.hostname}`);

const agent = new Agent({ keepAlive: true, maxSockets: cfg.concurrency });
const factory = bodyFactory(cfg.bodyBytes, cfg.tag);
let seq = 0;
let sent = 0;
let ok = 0;
let errors = 0;
const statuses: Record<string, number> = {};
const latencies: number[] = [];

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'heygen-signature': sign(BENCH_SECRET, body),
          'heygen-timestamp': String(Math.floor(Date.now() / 1000)),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function sender(deadline: number) {
  while (Date.now() < deadline && sent < cfg.maxRequests) {
    sent++;
    const body = factory.body(seq++);
    const t0 = process.hrtime.bigint();
    try {
      const res = await post(body);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status === 200 && res.text.includes('published')) ok++;
    } catch {
      errors++;
    }
  }
}

async function main() {
  const start = Date.now();
  const deadline = start + cfg.durationMs;
  await Promise.all(Array.from({ length: cfg.concurrency }, () => sender(deadline)));
  const elapsedS = (Date.now() - start) / 1000;
  const sorted = sortedCopy(latencies);
  agent.destroy();
  process.stdout.write(
    `${JSON.stringify({ sent, ok, errors, statuses, elapsedS, perSecond: ok / elapsedS, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
}
void main();
