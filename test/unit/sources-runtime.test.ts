import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { createIngress } from '../../functions/core/ingress.js';
import { toParkedRecord } from '../../functions/core/parked.js';
import { sign } from '../../functions/core/verify.js';
import { ConfigError, loadIngressConfig } from '../../functions/wiring/ingress-config.js';
import { republishParked } from '../../functions/wiring/parked-ops.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { captureTelemetry, MemoryParkedStore, MockAws } from '../support/aws-mocks.js';
import { describeBehaviourTable } from '../support/behaviour-table.js';
import { functionUrlEvent, sampleBody } from '../support/heygen.js';

const PROD = 'whsec_prod_0123456789abcdef';

// The whole behaviour table for a second HeyGen account (its own route and source id), over the AWS adapters.
const SAMPLES = ['avatar_video.success', 'avatar_video.fail', 'video_translate.success'] as const;
describeBehaviourTable({
  name: 'heygen',
  source: 'heygen-staging',
  aws: new MockAws(),
  build: { source: 'heygen-staging', path: '/heygen-staging' },
  secret: 'whsec_staging_primary_0123456789ab',
  other: 'whsec_staging_other_fedcba987654',
  endpointId: 'ep_s',
  signatureHeader: 'heygen-signature',
  event: (body, delivery = {}) => functionUrlEvent(body, { path: '/heygen-staging', ...delivery }),
  sample: (variant = 0) => sampleBody(SAMPLES[variant]),
  timestamped: (timestamp, delivery, variant = 0) =>
    functionUrlEvent(sampleBody(SAMPLES[variant]), { path: '/heygen-staging', ...delivery, timestamp }),
  envelope: (type, data) => JSON.stringify({ ...(type === undefined ? {} : { event_type: type }), event_data: data }),
  type: 'avatar_video.success',
  published: {
    headers: { 'heygen-event-id': 'evt_s' },
    type: 'avatar_video.success',
    detail: () => ({ callbackId: 'order-1042', deliveryId: 'evt_s' }),
    marker: 'order-1042',
  },
  retryHeaders: { 'heygen-event-id': 'retry' },
});
const STAGING = 'whsec_staging_0123456789abcdef';

/** Two HeyGen accounts in one relay: their own route, secret, envelope `source`, metric label and evidence. */
describe('Function: ingress with two sources of one provider', () => {
  function pipeline() {
    const published: RelayEvent[] = [];
    const parked = new MemoryParkedStore();
    const telemetry = captureTelemetry();
    const evidence = new MemoryEvidenceStore();
    const route = (path: string, secret: string, source?: string) => ({
      provider: heygen,
      ...(source ? { source } : {}),
      path,
      keys: new StaticKeySource([secret]),
      timestampToleranceSeconds: 0,
      budgetMs: 1000,
      dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }),
    });
    const ingress = createIngress({
      maxBodyBytes: 4096,
      publisher: { publish: async (e) => void published.push(e) },
      telemetry,
      onTrouble: evidenceRecorder(evidence, { intervalMs: 0 }),
      parked,
      routes: [route('/heygen', PROD), route('/heygen-staging', STAGING, 'heygen-staging')],
    });
    const send = (path: string, secret: string, videoId: string, raw?: string) => {
      const body = Buffer.from(raw ?? JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: videoId } }));
      return ingress({ method: 'POST', path, headers: { 'heygen-signature': sign(secret, body) }, body, requestId: 'r' });
    };
    return { send, published, telemetry, evidence, parked };
  }

  it('publishes each account with provider heygen and its own source; the default source is the provider name', async () => {
    const { send, published, telemetry } = pipeline();
    expect((await send('/heygen', PROD, 'v1')).statusCode).toBe(200);
    expect((await send('/heygen-staging', STAGING, 'v2')).statusCode).toBe(200);
    expect(published.map((e) => [e.provider, e.source])).toEqual([
      ['heygen', 'heygen'],
      ['heygen', 'heygen-staging'],
    ]);
    for (const e of published) expect(assertRelayEvent(JSON.parse(JSON.stringify(e)))).toEqual(e);
    expect(telemetry.counts.filter((c) => c.metric === 'Published').map((c) => c.dimensions?.provider)).toEqual([
      'heygen',
      'heygen-staging',
    ]);
  });

  it("refuses one account's signature on the other's route, and records the evidence under that source only", async () => {
    const { send, published, evidence } = pipeline();
    expect((await send('/heygen-staging', PROD, 'v3')).statusCode).toBe(401);
    expect(published).toHaveLength(0);
    expect((await evidence.read('heygen-staging')).lastSignatureRejectionAt).not.toBeNull();
    expect((await evidence.read('heygen')).lastSignatureRejectionAt).toBeNull();
  });
});

describe('Parked deliveries of a second account', () => {
  it('keep their source, and are re-published with it', async () => {
    const route = {
      provider: heygen,
      source: 'heygen-staging',
      path: '/heygen-staging',
      keys: new StaticKeySource([STAGING]),
      timestampToleranceSeconds: 0,
      budgetMs: 1000,
      dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' as const }),
    };
    const parked = new MemoryParkedStore();
    const ingress = createIngress({
      maxBodyBytes: 4096,
      publisher: { publish: async () => undefined },
      telemetry: captureTelemetry(),
      parked,
      routes: [route],
    });
    // A key twice: EventBridge would keep only one, so the delivery is parked.
    const body = Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"v","video_id":"w"}}');
    const res = await ingress({
      method: 'POST',
      path: '/heygen-staging',
      headers: { 'heygen-signature': sign(STAGING, body) },
      body,
      requestId: 'r',
    });
    expect(res.statusCode).toBe(202);
    const [delivery] = [...parked.byId.values()];
    expect(delivery?.source).toBe('heygen-staging');
    const record = JSON.stringify(toParkedRecord(delivery as never, new Date().toISOString()));
    const out: RelayEvent[] = [];
    const result = await republishParked(
      {
        archive: { read: async () => record, remove: async () => undefined } as never,
        publisher: { publish: async (e) => void out.push(e) },
      },
      'k',
      { acceptLossy: true },
    );
    expect(result.outcome).toBe('published');
    expect(out.map((e) => e.source)).toEqual(['heygen-staging']);
  });
});

describe('Function: RELAY_PROVIDERS with sources', () => {
  const env = (providers: unknown[]) => ({
    RELAY_PROVIDERS: JSON.stringify(providers),
    EVENT_BUS_NAME: 'b',
    DEDUP_ENABLED: 'false',
  });
  const entry = (extra: Record<string, unknown>) => ({
    name: 'heygen',
    path: '/heygen',
    secretId: 's',
    timestampToleranceSeconds: 0,
    ...extra,
  });

  it('reads a source id per entry', () => {
    const config = loadIngressConfig(env([entry({}), entry({ path: '/b', source: 'heygen-b' })]));
    expect(config.providers.map((p) => p.source)).toEqual([undefined, 'heygen-b']);
  });

  it.each([
    ['a malformed source id', [entry({ source: 'Not OK' })], /source must be/],
    ['one source twice', [entry({}), entry({ path: '/b', source: 'heygen' })], /source "heygen" twice/],
  ])('refuses %s', (_n, providers, message) => {
    expect(() => loadIngressConfig(env(providers))).toThrowError(ConfigError);
    expect(() => loadIngressConfig(env(providers))).toThrowError(message);
  });
});
