import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { abortable } from '../../core/abortable.js';
import type { SigningKey, SigningKeySource } from '../../core/ports.js';
import { type SecretProblem, usableKeys, type WeakSecretReporter } from '../../core/usable-keys.js';
import { labelHolders } from './signing-secret-store.js';

/** What a stage's `SecretString` holds: a candidate secret (not yet judged), or nothing set. */
export type SecretCandidate = { readonly value: unknown } | null;

/**
 * Reads a stage's `SecretString`: either the plain secret (trimmed: `put-secret-value` of a file
 * often ends in a newline), or the JSON the registrar writes (`{"secret": "...", "endpointId": "..."}`).
 * Null when none is set (empty, or `{"secret": null}`, the empty-safe default). Anything else is a
 * candidate for the quality rule to judge, never silently taken as the key: a JSON array, a
 * non-string `secret`, the word `null`.
 */
export function readSecretCandidate(secretString: string | undefined): SecretCandidate {
  if (secretString === undefined) return null;
  const trimmed = secretString.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return { value: undefined }; // malformed JSON: refused, reported
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { value };
    const secret = (value as { secret?: unknown }).secret;
    return secret === null || secret === undefined ? null : { value: secret };
  }
  return { value: trimmed };
}

/** The signing secret a `SecretString` holds when it is usable as a key, else null. */
export function parseSigningSecret(secretString: string | undefined): string | null {
  const candidate = readSecretCandidate(secretString);
  if (candidate === null) return null;
  return usableKeys([{ label: 'value', value: candidate.value }], () => {})[0]?.secret ?? null;
}

export interface SecretsKeySourceOptions {
  /** How long keys are served from memory before a (background) re-read. @default 300_000 */
  readonly cacheTtlMs?: number;
  /**
   * After a verification miss, the secret's versions are checked (one `DescribeSecret`) at most this
   * often, and its values re-read only when a version changed. @default 1_000
   */
  readonly minRefreshIntervalMs?: number;
  /**
   * While misses keep coming and the versions stay unchanged (bad signatures from a stranger), the
   * check's interval doubles from `minRefreshIntervalMs` up to this; a changed version, or a quiet
   * spell of twice the interval, sets it back. It bounds both the cost of a stream of bad signatures
   * (one call per interval per route per execution environment) and how long a genuine new version
   * can go unseen during one. @default 8_000
   */
  readonly maxMissCheckIntervalMs?: number;
  /** AWSPREVIOUS stays accepted for this long after AWSCURRENT was created. @default 900_000 */
  readonly previousGraceMs?: number;
  /**
   * With last-good keys in hand, the longest a request waits on a re-read after a verification
   * miss; past it, it answers with the keys it has and the re-read goes on in the background.
   * @default 1_000 (a quarter of JoggAI's 4 s budget, an eighth of HeyGen's 8 s)
   */
  readonly staleWaitMs?: number;
  /** A re-read's own deadline (it is not tied to one request). @default 6_000 */
  readonly loadTimeoutMs?: number;
  /** First back-off after a failed read, doubled per failure up to `maxBackoffMs`. @default 1_000 */
  readonly backoffMs?: number;
  /** @default 30_000 */
  readonly maxBackoffMs?: number;
  /** Told about each stage whose value is refused as a key (its label and the reason, never the value). */
  readonly onWeakSecret?: WeakSecretReporter;
  /** The provider's own rule for its secrets (ProviderIngress.secretProblem), after the general one. */
  readonly secretProblem?: SecretProblem;
  readonly now?: () => number;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/**
 * Live signing keys from Secrets Manager: AWSCURRENT, AWSPENDING (a rotation in progress) and
 * AWSPREVIOUS while inside the grace period; a value that fails the quality rule is never a key.
 *
 * Stale-while-revalidate: once keys have been read, no request waits on Secrets Manager for them.
 * An expired cache serves the last good keys and re-reads in the background; a verification miss
 * waits at most `staleWaitMs` for its re-read. A failed re-read backs off (1 s, 2 s, ... 30 s) and
 * keeps the last good keys. Only a cold source (nothing read yet) waits, bounded by the request's
 * own deadline. Reads are single-flight and run on their own deadline, so one request's deadline
 * never cancels a read that others wait on.
 *
 * Powertools Parameters is not used here because its cache key ignores `VersionStage`, so the
 * three stages of one secret would overwrite each other in its cache.
 */
export class SecretsManagerKeySource implements SigningKeySource {
  private keys: readonly SigningKey[] | undefined;
  private loadedAt = 0;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private retryAt = Number.NEGATIVE_INFINITY;
  private lastError: unknown;
  private inflight: Promise<readonly SigningKey[]> | undefined;
  /** The versions that held AWSCURRENT and AWSPENDING at the last full read (null: none). */
  private readVersions: { current: string | null; pending: string | null } | undefined;
  /** The current interval between miss checks, and when the next may run. */
  private missInterval: number;
  private nextMissCheckAt = Number.NEGATIVE_INFINITY;
  private readonly cacheTtlMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly maxMissCheckIntervalMs: number;
  private readonly previousGraceMs: number;
  private readonly staleWaitMs: number;
  private readonly loadTimeoutMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onWeakSecret: WeakSecretReporter;
  private readonly secretProblem: SecretProblem | undefined;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    options: SecretsKeySourceOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 300_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.maxMissCheckIntervalMs = Math.max(this.minRefreshIntervalMs, options.maxMissCheckIntervalMs ?? 8_000);
    this.missInterval = this.minRefreshIntervalMs;
    this.previousGraceMs = options.previousGraceMs ?? 900_000;
    this.staleWaitMs = options.staleWaitMs ?? 1_000;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 6_000;
    this.backoffMs = options.backoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.onWeakSecret = options.onWeakSecret ?? (() => {});
    this.secretProblem = options.secretProblem;
    this.now = options.now ?? Date.now;
  }

  async getKeys(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    if (this.keys) {
      if (this.now() - this.loadedAt >= this.cacheTtlMs) void this.start()?.catch(() => {});
      return this.keys; // fresh, or stale while the re-read runs in the background
    }
    return this.cold(signal);
  }

  /**
   * After a verification miss: the keys, re-read if the secret's versions changed since the last
   * read. The check (one DescribeSecret) runs at most once per miss interval, which doubles while
   * misses find nothing new (see `maxMissCheckIntervalMs`).
   */
  async refresh(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    if (!this.keys) return this.cold(signal);
    const keys = this.keys;
    if (!this.inflight && !this.missCheckDue()) return keys;
    const reading = this.start('miss');
    if (!reading) return keys; // backing off after a failure: the last good keys serve
    let timer: NodeJS.Timeout | undefined;
    const enough = new Promise<readonly SigningKey[]>((resolve) => {
      timer = setTimeout(() => resolve(keys), this.staleWaitMs);
    });
    try {
      return await abortable(Promise.race([reading.catch(() => keys), enough]), signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Nothing read yet: wait for a read (bounded by the caller's signal), unless backing off. */
  private cold(signal?: AbortSignal): Promise<readonly SigningKey[]> {
    const reading = this.start();
    if (!reading) return Promise.reject(this.lastError ?? new Error('Secrets Manager read is backing off'));
    return abortable(reading, signal);
  }

  /** Whether a miss may check the versions now; if so, schedules the next check (the interval's back-off). */
  private missCheckDue(): boolean {
    const now = this.now();
    // Never sooner than the shortest interval after any read (a cold or background one included).
    if (now < this.nextMissCheckAt || now - this.lastAttemptAt < this.minRefreshIntervalMs) return false;
    // A quiet spell (no check for twice the interval) starts again from the shortest interval.
    if (now - this.nextMissCheckAt >= this.missInterval) this.missInterval = this.minRefreshIntervalMs;
    this.nextMissCheckAt = now + this.missInterval;
    return true;
  }

  /**
   * The read in flight, a new one, or undefined while backing off after a failure. `miss`: a
   * verification miss's check, which reads the values only when the versions changed.
   */
  private start(kind: 'full' | 'miss' = 'full'): Promise<readonly SigningKey[]> | undefined {
    if (this.inflight) return this.inflight;
    if (this.now() < this.retryAt) return undefined;
    this.lastAttemptAt = this.now();
    const deadline = AbortSignal.timeout(this.loadTimeoutMs);
    const load = kind === 'miss' ? this.missRead(deadline) : this.fetch(deadline);
    // Raced with its own deadline too: a client that ignores the signal cannot hold the read open.
    this.inflight = abortable(load, deadline)
      .then(
        (read) => {
          this.failures = 0;
          this.retryAt = Number.NEGATIVE_INFINITY;
          if (read === UNCHANGED) return this.keys as readonly SigningKey[];
          this.keys = read.keys;
          this.readVersions = read.versions;
          this.loadedAt = this.now();
          return read.keys;
        },
        (err: unknown) => {
          this.failures++;
          this.lastError = err;
          this.retryAt = this.now() + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (this.failures - 1));
          if (this.keys) return this.keys; // serve the last good keys through an outage
          throw err;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async stage(stage: string, signal: AbortSignal): Promise<GetSecretValueCommandOutput | undefined> {
    try {
      return await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: stage }), {
        abortSignal: signal,
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * A miss's check: one DescribeSecret; the values are read again only when AWSCURRENT or AWSPENDING
   * moved since the last read (a new version stored, a rotation promoted). Unchanged, the check's
   * interval doubles; changed (or the check itself failed: then the values are read as before), it
   * goes back to the shortest.
   */
  private async missRead(signal: AbortSignal): Promise<Read | typeof UNCHANGED> {
    const before = this.readVersions;
    if (before) {
      let holders: Map<string, string> | undefined;
      try {
        const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.secretId }), { abortSignal: signal });
        // No version map (nothing to compare with): read the values.
        if (described?.VersionIdsToStages) holders = labelHolders(described.VersionIdsToStages);
      } catch (err) {
        if (signal.aborted) throw err;
      }
      if (
        holders &&
        (holders.get('AWSCURRENT') ?? null) === before.current &&
        (holders.get('AWSPENDING') ?? null) === before.pending
      ) {
        this.missInterval = Math.min(this.maxMissCheckIntervalMs, this.missInterval * 2);
        return UNCHANGED;
      }
    }
    this.missInterval = this.minRefreshIntervalMs;
    return this.fetch(signal);
  }

  private async fetch(signal: AbortSignal): Promise<Read> {
    const [current, pending] = await Promise.all([this.stage('AWSCURRENT', signal), this.stage('AWSPENDING', signal)]);
    const candidates: { label: string; value: unknown }[] = [];
    const add = (out: GetSecretValueCommandOutput | undefined, label: string) => {
      const candidate = readSecretCandidate(out?.SecretString);
      if (candidate) candidates.push({ label, value: candidate.value });
    };
    add(current, 'AWSCURRENT');
    add(pending, 'AWSPENDING');
    const currentSince = current?.CreatedDate?.getTime();
    if (currentSince !== undefined && this.now() - currentSince < this.previousGraceMs) {
      add(await this.stage('AWSPREVIOUS', signal), 'AWSPREVIOUS');
    }
    // A stage read without its VersionId leaves the versions unknown: every miss's check then reads.
    const versionOf = (out: GetSecretValueCommandOutput | undefined) => (out === undefined ? null : out.VersionId);
    const versions = { current: versionOf(current), pending: versionOf(pending) };
    return {
      keys: usableKeys(candidates, this.onWeakSecret, this.secretProblem),
      versions: versions.current === undefined || versions.pending === undefined ? undefined : (versions as Read['versions']),
    };
  }
}

/** A full read: the usable keys and the versions they came from. */
interface Read {
  readonly keys: readonly SigningKey[];
  /** Undefined when a stage came back without its VersionId. */
  readonly versions: { readonly current: string | null; readonly pending: string | null } | undefined;
}

/** A miss's check found the versions of the last read: the keys in hand stay. */
const UNCHANGED = Symbol('unchanged');
