/**
 * The ingress's configuration, read once at module load from the environment the construct sets.
 * Fails fast with a message naming the variable. Holds ARNs and names only, never secret values.
 */

import { getProvider } from '../../providers/runtime.js';
import type { ProviderIngress } from '../../providers/types.js';
import type { DedupMode } from '../core/ports.js';

export interface ProviderConfig {
  /** Provider plug-in name (providers). */
  readonly name: string;
  /**
   * The source's id when the relay has several accounts of this provider (envelope `source`,
   * metrics and evidence label). @default the provider's name
   */
  readonly source?: string;
  /** Route on the Function URL, e.g. `/heygen`. */
  readonly path: string;
  /** ARN or name of the Secrets Manager secret holding the signing secret. */
  readonly secretId: string;
  readonly timestampToleranceSeconds: number;
  /** Also route `<path>/<segment>` to this provider (distinct endpoint URLs, e.g. for an overlapping rotation). */
  readonly acceptSubpaths?: boolean;
  /** How this provider's deliveries are deduplicated. @default the provider's `defaultDedupMode` */
  readonly dedupMode?: DedupMode;
  /**
   * The provider plug-in's settings for this route (its `withOptions`; e.g. Standard Webhooks: how a
   * sender's body maps to the envelope), written by the source at synth. @default none
   */
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface IngressConfig {
  readonly eventBusName: string;
  readonly dedupTableName: string | null;
  readonly dedupWindowSeconds: number;
  readonly dedupLockSeconds: number;
  readonly maxBodyBytes: number;
  readonly secretCacheSeconds: number;
  readonly secretRefreshIntervalMs: number;
  readonly secretGraceSeconds: number;
  /** S3 bucket for parked deliveries (signed, but EventBridge can never take them); null: none (answered 503). */
  readonly parkedBucketName: string | null;
  readonly providers: readonly ProviderConfig[];
  /** Also recognise deliveries recorded under the earlier body key (DEDUP_LEGACY_BODY_KEYS=true). */
  readonly dedupLegacyBodyKeys: boolean;
  /** The relay's state table, where refused and failed deliveries are recorded as evidence (null: not recorded). */
  readonly stateTableName: string | null;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`Environment variable ${name} is required`);
  return v;
}

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`Environment variable ${name} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

/** The provider plug-in serving a route: the named one, configured by the route's `options` if any. */
export function routeProvider(p: Pick<ProviderConfig, 'name' | 'source' | 'options'>): ProviderIngress {
  const provider = getProvider(p.name);
  if (p.options === undefined) return provider;
  const who = p.source ?? p.name;
  if (typeof p.options !== 'object' || p.options === null || Array.isArray(p.options))
    throw new ConfigError(`Provider ${who}: options must be an object`);
  if (!provider.withOptions) throw new ConfigError(`Provider ${who}: ${p.name} takes no options`);
  try {
    return provider.withOptions(p.options);
  } catch (err) {
    throw new ConfigError(`Provider ${who}: options: ${(err as Error).message}`);
  }
}

export function loadIngressConfig(env: Env = process.env): IngressConfig {
  let providers: ProviderConfig[];
  try {
    providers = JSON.parse(required(env, 'RELAY_PROVIDERS')) as ProviderConfig[];
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('Environment variable RELAY_PROVIDERS must be JSON');
  }
  if (!Array.isArray(providers) || providers.length === 0)
    throw new ConfigError('RELAY_PROVIDERS must list at least one provider');
  const sources = new Set<string>();
  for (const p of providers) {
    getProvider(p.name);
    if (p.source !== undefined && (typeof p.source !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(p.source)))
      throw new ConfigError(`Provider ${p.name}: source must be 1-40 lowercase letters, digits, "-" or "_"`);
    const source = p.source ?? p.name;
    if (sources.has(source)) throw new ConfigError(`RELAY_PROVIDERS lists the source "${source}" twice`);
    sources.add(source);
    if (typeof p.path !== 'string' || !p.path.startsWith('/'))
      throw new ConfigError(`Provider ${p.name}: path must start with /`);
    if (typeof p.secretId !== 'string' || p.secretId.length === 0)
      throw new ConfigError(`Provider ${p.name}: secretId is required`);
    if (!Number.isInteger(p.timestampToleranceSeconds) || p.timestampToleranceSeconds < 0)
      throw new ConfigError(`Provider ${p.name}: timestampToleranceSeconds must be an integer >= 0`);
    if (p.acceptSubpaths !== undefined && typeof p.acceptSubpaths !== 'boolean')
      throw new ConfigError(`Provider ${p.name}: acceptSubpaths must be a boolean`);
    if (p.dedupMode !== undefined && p.dedupMode !== 'record' && p.dedupMode !== 'claim')
      throw new ConfigError(`Provider ${p.name}: dedupMode must be "record" or "claim"`);
    routeProvider(p);
  }
  const dedupEnabled = env.DEDUP_ENABLED !== 'false';
  return {
    eventBusName: required(env, 'EVENT_BUS_NAME'),
    dedupTableName: dedupEnabled ? required(env, 'DEDUP_TABLE_NAME') : null,
    dedupWindowSeconds: integer(env, 'DEDUP_WINDOW_SECONDS', 48 * 3600, 1),
    dedupLockSeconds: integer(env, 'DEDUP_LOCK_SECONDS', 15, 1),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 256 * 1024, 1),
    secretCacheSeconds: integer(env, 'SECRET_CACHE_SECONDS', 300, 0),
    secretRefreshIntervalMs: integer(env, 'SECRET_REFRESH_INTERVAL_MS', 1_000, 0),
    secretGraceSeconds: integer(env, 'SECRET_GRACE_SECONDS', 900, 0),
    parkedBucketName: env.PARKED_BUCKET_NAME || null,
    providers,
    stateTableName: env.STATE_TABLE_NAME || null,
    dedupLegacyBodyKeys: env.DEDUP_LEGACY_BODY_KEYS === 'true',
  };
}
