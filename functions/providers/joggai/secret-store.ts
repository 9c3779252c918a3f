/**
 * Where JoggAI's endpoint secrets live. JoggAI cannot change a secret, so a rotation overlaps two
 * endpoints: the new one is held as *pending* (the ingress accepts current and pending, like
 * Secrets Manager's AWSCURRENT and AWSPENDING stages) until it is promoted; the replaced current
 * stays accepted as *previous* for a grace period (AWSPREVIOUS).
 */
import type { IssuedSigningSecret } from '../../core/secret-store.js';

export interface JoggAiSecretState {
  readonly current: IssuedSigningSecret | null;
  readonly pending: IssuedSigningSecret | null;
}

export interface JoggAiSecretStore {
  readonly name: string;
  get(signal?: AbortSignal): Promise<JoggAiSecretState>;
  /** Replaces the current value (reconcile: adopt or create). */
  putCurrent(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void>;
  /** Stores the second endpoint of a rotation; the ingress accepts it next to current. */
  putPending(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void>;
  /** Pending becomes current; the old current becomes previous (accepted for the grace period). */
  promotePending(signal?: AbortSignal): Promise<void>;
}

/** In memory (tests, dry runs). `liveSecrets()` is what an ingress would accept now. */
export class MemoryJoggAiSecretStore implements JoggAiSecretStore {
  readonly name = 'memory';
  current: IssuedSigningSecret | null = null;
  pending: IssuedSigningSecret | null = null;
  previous: { value: IssuedSigningSecret; until: number } | null = null;
  readonly history: string[] = [];

  constructor(
    private readonly graceMs = 900_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<JoggAiSecretState> {
    return { current: this.current, pending: this.pending };
  }
  async putCurrent(value: IssuedSigningSecret): Promise<void> {
    this.current = { ...value };
    this.history.push(`current:${value.endpointId}`);
  }
  async putPending(value: IssuedSigningSecret): Promise<void> {
    this.pending = { ...value };
    this.history.push(`pending:${value.endpointId}`);
  }
  async promotePending(): Promise<void> {
    if (!this.pending) return;
    if (this.current) this.previous = { value: this.current, until: this.now() + this.graceMs };
    this.current = this.pending;
    this.pending = null;
    this.history.push(`promote:${this.current.endpointId}`);
  }
  liveSecrets(): string[] {
    const out = [this.current?.secret, this.pending?.secret];
    if (this.previous && this.now() < this.previous.until) out.push(this.previous.value.secret);
    return [...new Set(out.filter((s): s is string => typeof s === 'string'))];
  }
}
