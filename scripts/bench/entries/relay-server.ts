/**
 * The local relay (startLocalRelay: the real middy handler, core, in-memory dedup and signing keys)
 * with a publisher that counts in memory. Forked with IPC by the orchestrator: sends
 * {ready, url}, answers 'stats' with {published, maxRssMb}. Logging is set through the environment.
 */
import { startLocalRelay } from '../../../functions/adapters/local/relay';
import type { RelayEvent } from '../../../functions/core/envelope';
import { BENCH_SECRET } from '../lib/payload';

let published = 0;
const ids = new Set<string>();
async function main() {
  const relay = await startLocalRelay({
    providers: [{ name: 'heygen', secrets: [BENCH_SECRET] }],
    sinkPath: '/dev/null',
    publisher: {
      async publish(event: RelayEvent) {
        published++;
        ids.add(event.id);
      },
    },
    host: '127.0.0.1',
    port: 0,
  });
  process.on('message', (m) => {
    if (m === 'stats')
      process.send?.({ stats: { published, unique: ids.size, maxRssMb: process.resourceUsage().maxRSS / 1024 } });
    if (m === 'stop') void relay.close().then(() => process.exit(0));
  });
  process.send?.({ ready: true, url: `${relay.url}/heygen` });
}
void main();
