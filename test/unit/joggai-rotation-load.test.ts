/**
 * Rotation under load: the fake JoggAI delivers an event every few ms from every live endpoint
 * (each signed with its own secret, non-2xx retried 3 times, 5 s scaled down to 40 ms) to the
 * local relay, while the registrar rotates the secret twice. Zero events lost, none published twice.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import type { IssuedSigningSecret } from '../../functions/core/secret-store.js';
import { JoggAiClient } from '../../providers/joggai/runtime/api/client.js';
import { reconcileJoggAi } from '../../providers/joggai/runtime/registrar.js';
import { rotateJoggAi } from '../../providers/joggai/runtime/rotation.js';
import { type JoggAiPendingValue, MemoryJoggAiSecretStore } from '../../providers/joggai/runtime/secret-store.js';
import { type DeliveryResult, FakeJoggAi } from '../fakes/joggai-api.js';

const RETRY_MS = 40;
const EVERY_MS = 3;
/** How long a stored secret takes to reach the ingress (Secrets Manager + cache stand-in). */
const PROPAGATION_MS = 15;

/** A memory store whose changes reach the relay's key source after PROPAGATION_MS. */
class PropagatingStore extends MemoryJoggAiSecretStore {
  constructor(private readonly apply: (secrets: string[]) => void) {
    super(900_000);
  }
  private later(): void {
    const secrets = this.liveSecrets();
    setTimeout(() => this.apply(secrets), PROPAGATION_MS);
  }
  override async putCurrent(v: IssuedSigningSecret, expected: string | null): Promise<string> {
    const version = await super.putCurrent(v, expected);
    this.later();
    return version;
  }
  override async putPending(v: JoggAiPendingValue): Promise<string> {
    const version = await super.putPending(v);
    this.later();
    return version;
  }
  override async promotePending(pending: { version: string; value: JoggAiPendingValue }): Promise<void> {
    await super.promotePending(pending);
    this.later();
  }
}

function quietMetrics(): Metrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const m = new Metrics({ namespace: 'Test', serviceName: 'test' });
  if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  return m;
}

/** Delivers an event every EVERY_MS until `stop()`; returns the results. */
function produce(fake: FakeJoggAi) {
  const deliveries: Promise<DeliveryResult>[] = [];
  let n = 0;
  let running = true;
  const types = ['generated_avatar_video_success', 'generated_image_success', 'generated_motion_failed'] as const;
  const loop = (async () => {
    while (running) {
      n++;
      const type = types[n % types.length] ?? types[0];
      deliveries.push(
        fake.deliver({
          ...(type === 'generated_avatar_video_success' ? { event_id: `evt_${n}` } : {}),
          event: type,
          timestamp: Math.floor(Date.now() / 1000),
          data: { video_id: `v_${n}`, photo_id: `p_${n}`, motion_id: `m_${n}`, n },
        }),
      );
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { n, results: await Promise.all(deliveries) };
    },
  };
}

describe('JoggAI rotation under load (fake JoggAI → local relay)', () => {
  const fake = new FakeJoggAi({ maxRetries: 3, retryDelayMs: RETRY_MS });
  const published: RelayEvent[] = [];
  let relay: LocalRelay;
  beforeAll(async () => {
    await fake.start();
    relay = await startLocalRelay({
      providers: [{ name: 'joggai', secrets: [], acceptSubpaths: true }],
      sinkPath: '/dev/null',
      publisher: { publish: async (e) => void published.push(e) },
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      metrics: quietMetrics(),
    });
  });
  afterAll(async () => {
    await relay.close();
    await fake.stop();
  });

  it('loses nothing and publishes nothing twice across two rotations', async () => {
    const keySource = relay.keys.get('joggai');
    if (!keySource) throw new Error('no key source');
    const store = new PropagatingStore((secrets) => keySource.set(secrets));
    const client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: fake.url });
    const desired = { url: `${relay.url}/joggai` };
    expect((await reconcileJoggAi(desired, { client, store })).outcome).toBe('changed');
    await new Promise((r) => setTimeout(r, PROPAGATION_MS * 2));

    const producer = produce(fake);

    const overlap = () => new Promise<void>((r) => setTimeout(r, 150));
    await new Promise((r) => setTimeout(r, 200));
    const first = await rotateJoggAi(desired, { client, store, overlap });
    await new Promise((r) => setTimeout(r, 200));
    const second = await rotateJoggAi(desired, { client, store, overlap });
    await new Promise((r) => setTimeout(r, 200));
    const { n, results } = await producer.stop();

    // Every event reached the relay through at least one endpoint...
    const lost = results.filter((r) => r.endpoints.length === 0 || !r.endpoints.some((e) => e.delivered));
    expect(lost).toEqual([]);
    // ...and was published exactly once.
    const counts = new Map<number, number>();
    for (const e of published) counts.set(Number(e.data.n), (counts.get(Number(e.data.n)) ?? 0) + 1);
    expect(counts.size).toBe(n);
    expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
    expect(published).toHaveLength(n);

    const overlapped = results.filter((r) => r.endpoints.length === 2).length;
    const retried = fake.attempts.filter((a) => a.attempt > 1).length;
    const rejected = fake.attempts.filter((a) => a.status === 401).length;
    const gaveUp = results.flatMap((r) => r.endpoints).filter((e) => !e.delivered).length;
    expect(first.to.url).toBe(`${relay.url}/joggai/r1`);
    expect(second.to.url).toBe(`${relay.url}/joggai/r2`);
    expect(overlapped).toBeGreaterThan(0); // the dedup really absorbed double deliveries
    expect([...fake.endpoints.values()].map((e) => e.url)).toEqual([`${relay.url}/joggai/r2`]);
    console.info(
      `joggai rotation under load: events=${n} published=${published.length} deliveredByBothEndpoints=${overlapped} ` +
        `attempts=${fake.attempts.length} retries=${retried} 401s=${rejected} endpointGaveUp=${gaveUp}`,
    );
  }, 30_000);

  it('negative control: a naive switch (old endpoint deleted before the new secret reaches the relay) loses events', async () => {
    published.length = 0;
    fake.endpoints.clear();
    const keySource = relay.keys.get('joggai');
    if (!keySource) throw new Error('no key source');
    const client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: fake.url });
    const old = await client.createEndpoint({
      url: `${relay.url}/joggai`,
      status: 'enabled',
      events: ['generated_avatar_video_success', 'generated_image_success', 'generated_motion_failed'],
    });
    keySource.set([old.secret]);
    const producer = produce(fake);
    await new Promise((r) => setTimeout(r, 100));
    const next = await client.createEndpoint({ url: `${relay.url}/joggai/r1`, status: 'enabled', events: old.events });
    await client.deleteEndpoint(old.endpoint_id);
    keySource.set([]); // the old secret is dropped at once...
    await new Promise((r) => setTimeout(r, RETRY_MS * 3 + 150)); // ...and the new one arrives after JoggAI gave up
    keySource.set([next.secret]);
    await new Promise((r) => setTimeout(r, 100));
    const { results } = await producer.stop();
    const lost = results.filter((r) => !r.endpoints.some((e) => e.delivered));
    expect(lost.length).toBeGreaterThan(0);
    console.info(`joggai naive switch: events=${results.length} lost=${lost.length}`);
  }, 30_000);
});
