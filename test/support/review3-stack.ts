/**
 * Review 3 (issue 19): one relay stack in one process on the fake HeyGen's virtual clock: the real
 * ingress (its evidence recorder, the staleness check on), the real registrar, memory stores. As in
 * test/unit/heygen-registrar-proof.test.ts, with the journal, tolerance and dedup mode injectable.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { type HealJournal, MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import type { SigningKeySource } from '../../functions/core/ports.js';
import { MemorySigningSecretStore, type SigningSecretStore } from '../../functions/core/secret-store.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { type ReconcileSummary, reconcile } from '../../providers/heygen/runtime/registrar.js';
import type { FakeHeyGen } from './fake-heygen.js';

export const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
export const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
const quiet: Telemetry = { debug() {}, info() {}, warn() {}, error() {}, count() {} };

export type Body = { event_type: string; event_data: Record<string, unknown> };

export interface StackOptions {
  /** The ingress's staleness check (s); 300 is the construct's default, 0 turns it off. */
  readonly toleranceSeconds?: number;
  readonly heals?: HealJournal;
  /** The Lambda's clock minus HeyGen's (the fake's): negative when HeyGen's clock is ahead. @default 0 */
  readonly lambdaSkewMs?: number;
  /** The signing secret's store (made on the stack's clock); a MemorySigningSecretStore by default. */
  readonly secretStore?: (now: () => number) => MemorySigningSecretStore;
  /** The evidence recorder's interval (its per-interval budgets); 0, none. @default 0 */
  readonly evidenceIntervalMs?: number;
}

/** The ingress's keys read from the signing secret's store: its current secret, then its pending one. */
export function storeKeys(store: SigningSecretStore): SigningKeySource {
  const getKeys = async () => {
    const { current, pending } = await store.read();
    return [
      { secret: current?.secret, label: 'AWSCURRENT' },
      { secret: pending?.value?.secret, label: 'AWSPENDING' },
    ].filter((k): k is { secret: string; label: string } => typeof k.secret === 'string');
  };
  return { getKeys, refresh: getKeys };
}

/** One stack as deployed (defaults: staleness check 300 s, dedup mode `record`, 48 h window). */
export function review3Stack(hg: FakeHeyGen, options: StackOptions = {}) {
  const { clock } = hg;
  const skew = options.lambdaSkewMs ?? 0;
  const now = () => clock.t + skew;
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const store = options.secretStore?.(now) ?? new MemorySigningSecretStore(null, `sig-${randomUUID()}`, now);
  const dedup = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: 'record', now });
  const evidence = new MemoryEvidenceStore();
  const heals = options.heals ?? new MemoryHealJournal();
  const lease = { store: new MemoryLeaseStore(now), name: `heygen:${store.name}`, now };
  const keys = storeKeys(store);
  const bus: unknown[] = [];
  const ingress = createIngress({
    routes: [{ provider: heygen, path: '/heygen', keys, timestampToleranceSeconds: toleranceSeconds, budgetMs: 8_000, dedup }],
    maxBodyBytes: 256 * 1024,
    publisher: { publish: async (e) => void bus.push(e) },
    telemetry: quiet,
    parked: { park: async () => undefined },
    now,
    onTrouble: evidenceRecorder(evidence, { intervalMs: options.evidenceIntervalMs ?? 0, now }),
  });
  const post = async (raw: string, signature: string, sentAtMs = clock.t, path = '/heygen') =>
    (
      await ingress({
        method: 'POST',
        path,
        headers: {
          'heygen-signature': signature,
          'heygen-timestamp': String(Math.floor(sentAtMs / 1000)),
          'heygen-event-id': `evt_${randomUUID()}`,
        },
        body: Buffer.from(raw),
        requestId: randomUUID(),
      })
    ).statusCode;
  const sign = (secret: string, raw: string) => createHmac('sha256', secret).update(raw).digest('hex');
  /** HeyGen creates `event` for our endpoint and delivers it, stamped by HeyGen's clock (`skewMs` off ours). */
  const receive = async (event: Body, skewMs = 0) => {
    const [ep] = hg.fake.endpointsFor(URL_A);
    if (!ep) throw new Error('no endpoint');
    hg.fake.emit(ep.endpoint_id, event);
    const raw = JSON.stringify(event);
    return post(raw, sign(ep.secret, raw), clock.t + skewMs);
  };
  const register = (): Promise<ReconcileSummary> =>
    reconcile(
      { url: URL_A, events: EVENTS },
      { client: hg.client, secretStore: store, lease, heals, evidence: { evidence, history: hg.client, dedup, now } },
    );
  return { store, dedup, evidence, heals, bus, post, sign, receive, register };
}
