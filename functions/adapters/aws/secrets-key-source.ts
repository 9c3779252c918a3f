import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SigningKey, SigningKeySource } from '../../core/ports.js';

/**
 * Reads the signing secret from its `SecretString`: either the plain secret, or the JSON the
 * registrar writes (`{"secret": "...", "endpointId": "..."}`). Returns null when none is set.
 */
export function parseSigningSecret(secretString: string | undefined): string | null {
  if (secretString === undefined) return null;
  const trimmed = secretString.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as { secret?: unknown };
      return typeof value.secret === 'string' && value.secret.length > 0 ? value.secret : null;
    } catch {
      return null;
    }
  }
  return trimmed;
}

export interface SecretsKeySourceOptions {
  /** How long keys are served from memory before a re-read. @default 300_000 */
  readonly cacheTtlMs?: number;
  /** Re-reads after a verification miss happen at most this often. @default 1_000 */
  readonly minRefreshIntervalMs?: number;
  /** AWSPREVIOUS stays accepted for this long after AWSCURRENT was created. @default 900_000 */
  readonly previousGraceMs?: number;
  readonly now?: () => number;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/**
 * Live signing keys from Secrets Manager: AWSCURRENT, AWSPENDING (a rotation in progress) and
 * AWSPREVIOUS while inside the grace period. Cached; re-read on a miss at most once per interval;
 * single-flight; when Secrets Manager fails, the last good keys keep serving.
 *
 * Powertools Parameters is not used here because its cache key ignores `VersionStage`, so the
 * three stages of one secret would overwrite each other in its cache.
 */
export class SecretsManagerKeySource implements SigningKeySource {
  private keys: readonly SigningKey[] | undefined;
  private loadedAt = 0;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<readonly SigningKey[]> | undefined;
  private readonly cacheTtlMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly previousGraceMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    options: SecretsKeySourceOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 300_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.previousGraceMs = options.previousGraceMs ?? 900_000;
    this.now = options.now ?? Date.now;
  }

  async getKeys(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    if (this.keys && this.now() - this.loadedAt < this.cacheTtlMs) return this.keys;
    return this.load(signal);
  }

  async refresh(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    if (this.now() - this.lastAttemptAt < this.minRefreshIntervalMs) return this.inflight ?? this.keys ?? [];
    return this.load(signal);
  }

  private load(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    this.inflight ??= this.fetch(signal)
      .then(
        (keys) => {
          this.keys = keys;
          this.loadedAt = this.now();
          return keys;
        },
        (err: unknown) => {
          if (this.keys) return this.keys; // serve the last good keys through an outage
          throw err;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async stage(stage: string, signal?: AbortSignal): Promise<GetSecretValueCommandOutput | undefined> {
    try {
      return await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }), {
        abortSignal: signal,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async fetch(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    this.lastAttemptAt = this.now();
    const [current, pending] = await Promise.all([this.stage('AWSCURRENT', signal), this.stage('AWSPENDING', signal)]);
    const keys: SigningKey[] = [];
    const seen = new Set<string>();
    const add = (out: GetSecretValueCommandOutput | undefined, label: string) => {
      const secret = parseSigningSecret(out?.SecretString);
      if (secret && !seen.has(secret)) {
        seen.add(secret);
        keys.push({ secret, label });
      }
    };
    add(current, 'AWSCURRENT');
    add(pending, 'AWSPENDING');
    const currentSince = current?.CreatedDate?.getTime();
    if (currentSince !== undefined && this.now() - currentSince < this.previousGraceMs) {
      add(await this.stage('AWSPREVIOUS', signal), 'AWSPREVIOUS');
    }
    return keys;
  }
}
