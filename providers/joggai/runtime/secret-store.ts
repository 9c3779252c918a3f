/**
 * Where JoggAI's endpoint secrets live. JoggAI cannot change a secret, so a rotation overlaps two
 * endpoints: the new one is held as *pending* (the ingress accepts current and pending, like
 * Secrets Manager's AWSCURRENT and AWSPENDING stages) until it is promoted; the replaced current
 * stays accepted as *previous* for a grace period (AWSPREVIOUS).
 *
 * Every write is checked against the version read (compare and set), so a writer acting on a state
 * that someone else changed since (an operator's put-secret-value, a run that outlived its lease)
 * fails with SecretVersionConflictError instead of overwriting blindly:
 * - `putCurrent(value, expected)` stores only while AWSCURRENT is still `expected`;
 * - a pending value records what it replaces (the current version and its endpoint), and
 *   `promotePending` moves AWSCURRENT only while it is still on that version.
 */
import { assertStorable, type IssuedSigningSecret, SecretVersionConflictError } from '../../../functions/core/secret-store.js';

/** A rotation's second endpoint, with what it replaces. */
export interface JoggAiPendingValue extends IssuedSigningSecret {
  /** The AWSCURRENT version it replaces: promotion is refused once AWSCURRENT moved past it. */
  readonly replaces: string;
  /** The endpoint it replaces, deleted once this one is current (also after a crash mid-promotion). */
  readonly replacesEndpointId: string;
}

/** A stored value: as the registrar writes it, or a promoted pending value (which keeps its `replaces*`). */
export type JoggAiStoredValue = IssuedSigningSecret & {
  readonly replacesEndpointId?: string;
};

export interface JoggAiSecretState {
  /** AWSCURRENT's version: the base of a compare-and-set write. null when nothing was ever stored. */
  readonly version: string | null;
  /** The current value, or null when none is stored or it is incomplete (no endpoint id or URL). */
  readonly current: JoggAiStoredValue | null;
  /**
   * A rotation in progress: AWSPENDING on a version other than AWSCURRENT. AWSPENDING on the
   * AWSCURRENT version is a finished promotion (it crashed before removing the label), not a pending
   * rotation. `value` is null when that version holds no complete pending value (e.g. one written
   * before pending values recorded what they replace): such a pending cannot be promoted safely.
   */
  readonly pending: { readonly version: string; readonly value: JoggAiPendingValue | null } | null;
}

export interface JoggAiSecretStore {
  readonly name: string;
  get(signal?: AbortSignal): Promise<JoggAiSecretState>;
  /**
   * Stores `value` as current if AWSCURRENT is still `expected` (reconcile: adopt or create), under
   * a version of its own (a value that was current once can be made current again). A pending
   * rotation is superseded and dropped. Returns the new version.
   */
  putCurrent(value: IssuedSigningSecret, expected: string | null, signal?: AbortSignal): Promise<string>;
  /** Stores the second endpoint of a rotation; the ingress accepts it next to current. Returns its version. */
  putPending(value: JoggAiPendingValue, signal?: AbortSignal): Promise<string>;
  /**
   * The pending version becomes current, if AWSCURRENT is still on `pending.value.replaces`
   * (SecretVersionConflictError otherwise); the old current becomes previous (accepted for the
   * grace period), and AWSPENDING is removed.
   */
  promotePending(pending: { readonly version: string; readonly value: JoggAiPendingValue }, signal?: AbortSignal): Promise<void>;
  /** Removes AWSPENDING from `version` if it still holds it. */
  dropPending(version: string, signal?: AbortSignal): Promise<void>;
}

/** A pending value that names what it replaces (anything else cannot be promoted safely). */
export function completePending(value: Partial<JoggAiPendingValue> | null | undefined): JoggAiPendingValue | null {
  if (!value?.secret || !value.endpointId || !value.url || !value.replaces || !value.replacesEndpointId) return null;
  return {
    secret: value.secret,
    endpointId: value.endpointId,
    url: value.url,
    replaces: value.replaces,
    replacesEndpointId: value.replacesEndpointId,
  };
}

/** In memory (tests, dry runs). `liveSecrets()` is what an ingress would accept now. */
export class MemoryJoggAiSecretStore implements JoggAiSecretStore {
  readonly name = 'memory';
  current: JoggAiStoredValue | null = null;
  version: string | null = null;
  pending: { version: string; value: JoggAiPendingValue } | null = null;
  previous: { value: IssuedSigningSecret; until: number } | null = null;
  readonly history: string[] = [];
  private seq = 0;

  constructor(
    private readonly graceMs = 900_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<JoggAiSecretState> {
    return { version: this.version, current: this.current, pending: this.pending };
  }

  async putCurrent(value: IssuedSigningSecret, expected: string | null): Promise<string> {
    assertStorable(value, this.name);
    if (expected !== this.version) throw new SecretVersionConflictError(this.name, expected);
    this.makeCurrent({ secret: value.secret, endpointId: value.endpointId, url: value.url });
    this.pending = null;
    this.history.push(`current:${value.endpointId}`);
    return this.version as string;
  }

  async putPending(value: JoggAiPendingValue): Promise<string> {
    assertStorable(value, this.name);
    const version = `v${++this.seq}`;
    this.pending = { version, value: { ...value } };
    this.history.push(`pending:${value.endpointId}`);
    return version;
  }

  async promotePending(pending: { version: string; value: JoggAiPendingValue }): Promise<void> {
    if (this.pending?.version !== pending.version) return; // promoted (or dropped) already
    if (this.version !== pending.value.replaces) throw new SecretVersionConflictError(this.name, pending.value.replaces);
    this.makeCurrent(this.pending.value, pending.version);
    this.pending = null;
    this.history.push(`promote:${pending.value.endpointId}`);
  }

  async dropPending(version: string): Promise<void> {
    if (this.pending?.version === version) {
      this.pending = null;
      this.history.push(`drop:${version}`);
    }
  }

  /** An operator's (or another tool's) unconditional write, e.g. `aws secretsmanager put-secret-value`. */
  overwrite(value: JoggAiStoredValue | null): void {
    if (value) this.makeCurrent(value);
    else {
      this.current = null;
      this.version = `v${++this.seq}`;
    }
  }

  liveSecrets(): string[] {
    const out = [this.current?.secret, this.pending?.value.secret];
    if (this.previous && this.now() < this.previous.until) out.push(this.previous.value.secret);
    return [...new Set(out.filter((s): s is string => typeof s === 'string'))];
  }

  private makeCurrent(value: JoggAiStoredValue, version = `v${++this.seq}`): void {
    if (this.current) this.previous = { value: this.current, until: this.now() + this.graceMs };
    this.current = { ...value };
    this.version = version;
  }
}
