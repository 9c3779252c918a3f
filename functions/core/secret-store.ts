/**
 * Signing-secret storage port for the registrar and the rotation (provider-agnostic).
 *
 * Stored `SecretString` format (what the ingress reads, see adapters/aws/secrets-key-source.ts):
 *   {"secret":"whsec_...","endpointId":"ep_...","url":"https://..."}
 * A plain string (the secret alone) is accepted on read; it carries no endpoint id.
 */
import type { StoredSigningSecret } from './ports.js';

/** A complete value as the registrar and rotation write it. */
export interface IssuedSigningSecret {
  readonly secret: string;
  readonly endpointId: string;
  readonly url: string;
}

export interface SigningSecretStore {
  /** Where the secret lives (ARN, name or path), for log lines. Never the value. */
  readonly name: string;
  /** The current value, or null when none has been stored (or it holds no usable secret). */
  get(signal?: AbortSignal): Promise<StoredSigningSecret | null>;
  /** Stores a new current value. */
  put(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void>;
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
  });
}

/** In-memory store for tests, dry runs and the CLI. */
export class MemorySigningSecretStore implements SigningSecretStore {
  readonly name: string;
  readonly history: IssuedSigningSecret[] = [];
  private value: StoredSigningSecret | null;

  constructor(initial: StoredSigningSecret | null = null, name = 'memory') {
    this.value = initial;
    this.name = name;
  }

  async get(): Promise<StoredSigningSecret | null> {
    return this.value;
  }

  async put(value: IssuedSigningSecret): Promise<void> {
    this.value = { ...value };
    this.history.push({ ...value });
  }
}
