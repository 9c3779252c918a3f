/**
 * Leak check of the ingress pipeline's per-request bookkeeping (functions/core/ingress.ts: the
 * deadline timer, the in-flight slots, the abort listeners of copies that wait): 100,000 deliveries
 * plus 20,000 copies in flight at the same time, every 97th publish failing, through createIngress
 * with in-memory ports. Prints the heap after each 20,000 (after a GC) and the timers still active:
 * a leak shows as a growing heap or a non-zero timer count.
 *
 *   node --expose-gc --import tsx scripts/ingress-leak-check.ts [claim|record]
 */
import { MemoryDedupStore } from '../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../functions/core/envelope.js';
import { createIngress } from '../functions/core/ingress.js';
import { heygenRoute, signedHeyGenRequest } from '../test/support/heygen-ingress.js';

const SECRET = 'whsec_fake_leak_check_0123456789abcdef'; // a fake key for this local check
const noop = () => {};
const mode = process.argv[2] === 'record' ? 'record' : 'claim';
const dedup = new MemoryDedupStore({ windowSeconds: 1, lockSeconds: 1, mode });
let calls = 0;
/**
 * Successful publishes per event id of the current batch (ids never recur across batches): each
 * must be 1. Cleared per batch so that the check itself does not grow the heap.
 */
const publishes = new Map<string, number>();
let publishedEvents = 0;
let publishedTwice = 0;
/** The bus: every third publish yields (so some copies find the first in flight), every 97th fails. */
async function publish(event: RelayEvent): Promise<void> {
  calls++;
  if (calls % 3 === 0) await new Promise((r) => setImmediate(r));
  if (calls % 97 === 0) throw new Error('EventBridge unavailable');
  publishes.set(event.id, (publishes.get(event.id) ?? 0) + 1);
}

const ingress = createIngress({
  maxBodyBytes: 1 << 16,
  publisher: { publish },
  telemetry: { debug: noop, info: noop, warn: noop, error: noop, count: noop },
  routes: [heygenRoute(SECRET, 8_000, dedup)],
});

function request(i: number) {
  const body = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v${i}` } }));
  return signedHeyGenRequest(SECRET, body);
}

async function main(): Promise<void> {
  const statuses: Record<string, number> = {};
  for (let round = 1; round <= 5; round++) {
    for (let batch = 0; batch < 20; batch++) {
      const answers: Promise<{ statusCode: number; body: string }>[] = [];
      for (let i = 0; i < 1_000; i++) {
        const n = (round - 1) * 20_000 + batch * 1_000 + i;
        answers.push(ingress(request(n)));
        if (n % 5 === 0) answers.push(ingress(request(n))); // a copy while the first is in flight
      }
      for (const a of await Promise.all(answers)) {
        const key = `${a.statusCode} ${a.statusCode === 200 ? (JSON.parse(a.body) as { status: string }).status : ''}`.trim();
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      publishedEvents += publishes.size;
      for (const n of publishes.values()) if (n > 1) publishedTwice++;
      publishes.clear();
    }
    dedup.sweep();
    (globalThis as { gc?: () => void }).gc?.();
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    console.log(
      `${mode}: after ${round * 20_000} deliveries: heapUsed ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB, active timers ${timers}`,
    );
  }
  console.log(JSON.stringify(statuses));
  console.log(`events published: ${publishedEvents}, published more than once: ${publishedTwice}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
