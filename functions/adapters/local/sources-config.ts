/**
 * The sources `npm start -- --config <file>` serves (docs/local-relay.md): any number of HeyGen,
 * JoggAI and Standard Webhooks sources, each on its own path with its own secret, read from a JSON
 * file and checked with messages that name the source and the field (never a secret's value).
 *
 * ```json
 * { "sources": [
 *   { "id": "heygen", "provider": "heygen" },
 *   { "id": "heygen-staging", "provider": "heygen", "secretEnv": "HEYGEN_STAGING_SECRET" },
 *   { "id": "replicate", "provider": "standard-webhooks",
 *     "options": { "typeField": "status", "typePrefix": "prediction", "dataField": null } },
 *   { "id": "acme", "provider": "standard-webhooks", "path": "/hooks/acme" } ] }
 * ```
 * A source's secret: `secret` (the value itself; fine for a local try, not for a file you commit),
 * else the environment variable `secretEnv` names, else one generated for the run (saved to
 * `<stateDir>/<id>-secret` once the relay listens, printed).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PROVIDERS } from '../../../providers/runtime.js';
import { ConfigError, routeProvider } from '../../wiring/ingress-config.js';
import type { LocalProvider } from './relay.js';

/** A source's secret and where it came from (for the start banner: never printed unless generated). */
export interface LocalSourceSecret {
  readonly source: string;
  readonly secret: string;
  /** `config file`, `$NAME`, or `generated` (saved to `file` once the relay listens). */
  readonly from: string;
  readonly file: string;
}

export interface LocalSources {
  readonly providers: LocalProvider[];
  readonly secrets: LocalSourceSecret[];
}

const SOURCE_FIELDS = [
  'id',
  'provider',
  'path',
  'secret',
  'secretEnv',
  'timestampToleranceSeconds',
  'acceptSubpaths',
  'dedupMode',
  'options',
] as const;
const SOURCE_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const PATH = /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A secret of the provider's shape: Standard Webhooks `whsec_` + base64 of 24 bytes (the spec's size); others `whsec_local_...`. */
export function generatedSecret(provider: string): string {
  return provider === 'standard-webhooks'
    ? `whsec_${randomBytes(24).toString('base64')}`
    : `whsec_local_${randomBytes(24).toString('base64url')}`;
}

/** One source entry checked and turned into a route of the local relay, with its secret. */
function readSource(raw: unknown, at: string, env: NodeJS.ProcessEnv, stateDir: string) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${at} must be an object`);
  const entry = raw as Record<string, unknown>;
  const unknown = Object.keys(entry).find((k) => !(SOURCE_FIELDS as readonly string[]).includes(k));
  if (unknown) throw new ConfigError(`${at}: unknown field "${unknown}" (known: ${SOURCE_FIELDS.join(', ')})`);
  const {
    id,
    provider,
    path,
    secret,
    secretEnv,
    timestampToleranceSeconds: tolerance,
    acceptSubpaths,
    dedupMode,
    options,
  } = entry;
  if (typeof id !== 'string' || !SOURCE_ID.test(id))
    throw new ConfigError(`${at}: id must be 1-40 lowercase letters, digits, "-" or "_" (it names the source)`);
  const where = `source "${id}"`;
  if (typeof provider !== 'string' || !Object.hasOwn(PROVIDERS, provider))
    throw new ConfigError(`${where}: provider must be one of ${Object.keys(PROVIDERS).join(', ')}`);
  if (path !== undefined && (typeof path !== 'string' || !PATH.test(path)))
    throw new ConfigError(`${where}: path must start with / and hold only letters, digits, ".", "_", "~", "-" and "/"`);
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0))
    throw new ConfigError(`${where}: secret must be a non-empty string`);
  if (secretEnv !== undefined && (typeof secretEnv !== 'string' || !ENV_NAME.test(secretEnv)))
    throw new ConfigError(`${where}: secretEnv must name an environment variable`);
  if (secret !== undefined && secretEnv !== undefined) throw new ConfigError(`${where}: give secret or secretEnv, not both`);
  if (secretEnv !== undefined && !env[secretEnv])
    throw new ConfigError(`${where}: the environment variable ${secretEnv} is not set`);
  if (tolerance !== undefined && (!Number.isInteger(tolerance) || (tolerance as number) < 0))
    throw new ConfigError(`${where}: timestampToleranceSeconds must be a whole number of seconds (0 turns the check off)`);
  if (acceptSubpaths !== undefined && typeof acceptSubpaths !== 'boolean')
    throw new ConfigError(`${where}: acceptSubpaths must be true or false`);
  if (dedupMode !== undefined && dedupMode !== 'record' && dedupMode !== 'claim')
    throw new ConfigError(`${where}: dedupMode must be "record" or "claim"`);
  // The plug-in's own check of its options (ConfigError naming the source and the option).
  routeProvider({
    name: provider,
    source: id,
    ...(options === undefined ? {} : { options: options as Record<string, unknown> }),
  });
  const value = (secret as string | undefined) ?? (secretEnv ? env[secretEnv] : undefined);
  const source: LocalSourceSecret = {
    source: id,
    secret: value ?? generatedSecret(provider),
    from: secret !== undefined ? 'config file' : secretEnv !== undefined ? `$${secretEnv}` : 'generated',
    file: join(stateDir, `${id}-secret`),
  };
  const route: LocalProvider = {
    name: provider,
    source: id,
    secrets: [source.secret],
    path: (path as string | undefined) ?? `/${id}`,
    ...(tolerance === undefined ? {} : { timestampToleranceSeconds: tolerance as number }),
    ...(acceptSubpaths ? { acceptSubpaths: true } : {}),
    ...(dedupMode === undefined ? {} : { dedupMode }),
    ...(options === undefined ? {} : { options: options as Record<string, unknown> }),
  };
  return { route, source };
}

/** The sources of a config file's parsed JSON; throws a ConfigError naming the source and field. */
export function localSources(config: unknown, env: NodeJS.ProcessEnv = process.env, stateDir = '.relay'): LocalSources {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new ConfigError('the config must be a JSON object with a "sources" list');
  const { sources, ...rest } = config as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ConfigError(`unknown top-level field "${extra}" (known: sources)`);
  if (!Array.isArray(sources) || sources.length === 0) throw new ConfigError('"sources" must list at least one source');
  const read = sources.map((s, i) => readSource(s, `sources[${i}]`, env, stateDir));
  const seen = (key: (r: (typeof read)[number]) => string, what: string) => {
    const taken = new Set<string>();
    for (const r of read) {
      const k = key(r);
      if (taken.has(k)) throw new ConfigError(`two sources use the ${what} "${k}"`);
      taken.add(k);
    }
  };
  seen((r) => r.source.source, 'id');
  seen((r) => r.route.path ?? '', 'path');
  return { providers: read.map((r) => r.route), secrets: read.map((r) => r.source) };
}
