/**
 * Signing-secret storage port for the registrar and the rotation (provider-agnostic).
 *
 * Stored `SecretString` format (what the ingress reads, see adapters/aws/secrets-key-source.ts):
 *   {"secret":"whsec_...","endpointId":"ep_...","url":"https://..."}
 * A plain string (the secret alone) is accepted on read; it carries no endpoint id.
 */
import type { StoredSigningSecret } from './ports.js';
import { signingSecretProblem, WeakSigningSecretError } from './secret-quality.js';

/** A complete value as the registrar and rotation write it. */
export interface IssuedSigningSecret {
  readonly secret: string;
  readonly endpointId: string;
  readonly url: string;
  /** On a rotation's pending value: the current version it replaces (finishSecret checks it). */
  readonly replaces?: string | null;
}

/** What is stored now, with the version a compare-and-set write must name. */
export interface SecretSnapshot {
  /** Version of the current value (AWSCURRENT's VersionId); null when nothing was ever stored. */
  readonly version: string | null;
  readonly current: StoredSigningSecret | null;
  /** A rotation in progress: AWSPENDING on a version other than the current one. */
  readonly pending: { readonly version: string; readonly value: StoredSigningSecret | null; readonly createdAt?: number } | null;
  /** When the current version was stored (epoch ms), when the store knows it. */
  readonly currentCreatedAt?: number;
  /**
   * The version AWSCURRENT was last moved away from (AWSPREVIOUS: Secrets Manager moves it there on
   * every move of AWSCURRENT), when the store knows it; it tells a move away and back apart.
   */
  readonly previous?: string | null;
}

export interface SigningSecretStore {
  /** Where the secret lives (ARN, name or path), for log lines. Never the value. */
  readonly name: string;
  /** The current value, or null when none has been stored (or it holds no usable secret). */
  get(signal?: AbortSignal): Promise<StoredSigningSecret | null>;
  /** The current value with its version, and a pending rotation's value if there is one. */
  read(signal?: AbortSignal): Promise<SecretSnapshot>;
  /**
   * Stores `value` as current if the current version is still `expected` (compare and set), and
   * drops a pending rotation's value (it is superseded: the provider's secret just changed under
   * the lease). Returns the new version. Throws SecretVersionConflictError when another writer
   * stored since `expected` was read, and WeakSigningSecretError for an unusable secret.
   */
  put(value: IssuedSigningSecret, expected: string | null, signal?: AbortSignal): Promise<string>;
  /** Drops a pending rotation's value if `version` still holds it (stores without rotation have none). */
  dropPending?(version: string, signal?: AbortSignal): Promise<void>;
}

/**
 * A store that keeps the value in its stored text format (Secrets Manager's SecretString, a file):
 * `get` is the current value of `read`, and `put` refuses an unusable secret, then writes the
 * value's stored text compare-and-set (`putText`).
 */
export abstract class StoredTextSecretStore implements SigningSecretStore {
  constructor(readonly name: string) {}

  abstract read(signal?: AbortSignal): Promise<SecretSnapshot>;

  /** Stores `text` as current if the current version is still `expected`; returns the new version (see `put`). */
  protected abstract putText(text: string, expected: string | null, signal?: AbortSignal): Promise<string>;

  async get(signal?: AbortSignal): Promise<StoredSigningSecret | null> {
    return (await this.read(signal)).current;
  }

  async put(value: IssuedSigningSecret, expected: string | null, signal?: AbortSignal): Promise<string> {
    assertStorable(value, this.name);
    return this.putText(serializeStoredSigningSecret(value), expected, signal);
  }
}

/** The stored secret changed since it was read: someone else wrote; re-read and decide again. */
export class SecretVersionConflictError extends Error {
  constructor(
    where: string,
    readonly expected: string | null,
    options?: ErrorOptions,
  ) {
    super(`the signing secret in ${where} changed since it was read (expected version ${expected ?? 'none'})`, options);
    this.name = 'SecretVersionConflictError';
  }
}

/** Throws WeakSigningSecretError unless `value.secret` is usable (see core/secret-quality.ts). */
export function assertStorable(value: IssuedSigningSecret, where: string): void {
  const problem = signingSecretProblem(value.secret);
  if (problem !== null) throw new WeakSigningSecretError(problem, where);
}

/** Parses a stored SecretString (JSON or plain). Returns null for an empty or unusable value. */
export function parseStoredSigningSecret(secretString: string | undefined | null): StoredSigningSecret | null {
  if (secretString === undefined || secretString === null) return null;
  const trimmed = secretString.trim();
  if (trimmed === '') return null;
  if (trimmed.startsWith('{')) {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return null;
    }
    const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
    return {
      secret: str(value.secret),
      endpointId: str(value.endpointId),
      url: str(value.url),
      ...(str(value.replaces) ? { replaces: str(value.replaces) } : {}),
    };
  }
  return { secret: trimmed, endpointId: null, url: null };
}

/** Serializes with a fixed key order, so the same value always gives the same string. */
export function serializeStoredSigningSecret(value: IssuedSigningSecret): string {
  return JSON.stringify({
    secret: value.secret,
    endpointId: value.endpointId,
    url: value.url,
    ...(value.replaces ? { replaces: value.replaces } : {}),
  });
}

let memoryStores = 0;

/** In-memory store for tests, dry runs and the model-based chaos run; versions are counted. */
export class MemorySigningSecretStore implements SigningSecretStore {
  readonly name: string;
  readonly history: IssuedSigningSecret[] = [];
  private value: StoredSigningSecret | null;
  private version: string | null;
  private seq = 0;
  private storedAt: number | undefined;
  private previous: string | null = null;
  /** A rotation's pending value (tests set it to model AWSPENDING). */
  pending: { version: string; value: StoredSigningSecret | null; createdAt?: number } | null = null;

  /** @param name unique per store by default, so stores in one process get leases of their own. */
  constructor(
    initial: StoredSigningSecret | null = null,
    name = `memory-${++memoryStores}`,
    private readonly now: () => number = Date.now,
  ) {
    this.value = initial;
    this.version = initial ? 'v0' : null;
    this.name = name;
  }

  async get(): Promise<StoredSigningSecret | null> {
    return this.value;
  }

  async read(): Promise<SecretSnapshot> {
    return {
      version: this.version,
      current: this.value,
      pending: this.pending,
      previous: this.previous,
      ...(this.storedAt === undefined ? {} : { currentCreatedAt: this.storedAt }),
    };
  }

  async put(value: IssuedSigningSecret, expected: string | null): Promise<string> {
    assertStorable(value, this.name);
    if (expected !== this.version) throw new SecretVersionConflictError(this.name, expected);
    this.value = { ...value };
    this.previous = this.version;
    this.version = `v${++this.seq}`;
    this.storedAt = this.now();
    this.pending = null;
    this.history.push({ ...value });
    return this.version;
  }

  async dropPending(version: string): Promise<void> {
    if (this.pending?.version === version) this.pending = null;
  }

  /** An operator's (or another tool's) unconditional write, e.g. `aws secretsmanager put-secret-value`. */
  overwrite(value: StoredSigningSecret | null): void {
    this.value = value;
    this.previous = this.version;
    this.version = `v${++this.seq}`;
    this.storedAt = this.now();
  }
}
