/**
 * Several sources on one ingress (issue 20 finding 1): two Standard Webhooks senders and two HeyGen
 * accounts, each with its own secret, over one dedup store factory, signed the way their senders sign.
 */
import { createHmac } from 'node:crypto';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import type { RelayRequest } from '../../functions/core/http.js';
import { createIngress, type IngressOptions, type ProviderRoute } from '../../functions/core/ingress.js';
import type { DedupMode, DedupStore, ParkedStore } from '../../functions/core/ports.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { standardWebhooks } from '../../providers/standard-webhooks/runtime/index.js';
import type { ProviderIngress } from '../../providers/types.js';
import { captureTelemetry } from './aws-mocks.js';

export interface Tenant {
  readonly source: string;
  readonly provider: ProviderIngress;
  readonly secret: string;
}

/** Two Standard Webhooks senders and two HeyGen accounts (the second of each a non-default source). */
export const TENANTS = {
  replicate: { source: 'replicate', provider: standardWebhooks, secret: 'whsec_cmVwbGljYXRlLXNlY3JldC0wMTIzNDU2Nzg5YWJj' },
  'svix-app': { source: 'svix-app', provider: standardWebhooks, secret: 'whsec_c3ZpeC1hcHAtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=' },
  heygen: { source: 'heygen', provider: heygen, secret: 'whsec_tenant_heygen_primary_0123456789' },
  'heygen-staging': { source: 'heygen-staging', provider: heygen, secret: 'whsec_tenant_heygen_staging_987654321' },
} as const satisfies Record<string, Tenant>;

export type TenantId = keyof typeof TENANTS;

export interface TenantRelay {
  readonly ingress: ReturnType<typeof createIngress>;
  readonly published: RelayEvent[];
  readonly telemetry: ReturnType<typeof captureTelemetry>;
}

/** One ingress serving `tenants` at `/<source>`, each route's dedup store from `dedupFor`. */
export function tenantRelay(
  tenants: readonly Tenant[],
  dedupFor: (tenant: Tenant, mode: DedupMode) => DedupStore,
  options: { readonly parked?: ParkedStore; readonly publish?: IngressOptions['publisher']; readonly now?: () => number } = {},
): TenantRelay {
  const published: RelayEvent[] = [];
  const telemetry = captureTelemetry();
  const routes: ProviderRoute[] = tenants.map((t) => ({
    provider: t.provider,
    ...(t.source === t.provider.name ? {} : { source: t.source }),
    path: `/${t.source}`,
    keys: new StaticKeySource([t.secret]),
    timestampToleranceSeconds: 0,
    budgetMs: 5_000,
    dedup: dedupFor(t, t.provider.defaultDedupMode),
  }));
  const ingress = createIngress({
    maxBodyBytes: 1 << 20,
    publisher: options.publish ?? { publish: async (e) => void published.push(e) },
    telemetry,
    routes,
    ...(options.parked ? { parked: options.parked } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { ingress, published, telemetry };
}

/** A delivery to `tenant` signed as its sender signs (Standard Webhooks: `webhookId` is the sender's message id). */
export function tenantDelivery(tenant: Tenant, body: string | Buffer, webhookId = 'msg_2FxPZ0001'): RelayRequest {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (tenant.provider.name === heygen.name)
    return {
      method: 'POST',
      path: `/${tenant.source}`,
      headers: { 'heygen-signature': sign(tenant.secret, raw) },
      body: raw,
      requestId: 'r',
    };
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(tenant.secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(raw).digest('base64');
  return {
    method: 'POST',
    path: `/${tenant.source}`,
    headers: { 'webhook-id': webhookId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` },
    body: raw,
    requestId: 'r',
  };
}

export const swBody = (n: number | string) =>
  JSON.stringify({ type: 'video.completed', timestamp: '2026-12-07T10:00:00Z', data: { id: `vid_${n}` } });
export const heygenBody = (videoId: string) =>
  JSON.stringify({
    event_type: 'avatar_video.success',
    event_data: { video_id: videoId, url: `https://cdn.example/${videoId}.mp4` },
  });
