/**
 * JoggAI's secret store on Secrets Manager stages: current = AWSCURRENT, pending = AWSPENDING
 * (the ingress's SecretsManagerKeySource accepts both, and AWSPREVIOUS for its grace period), so a
 * rotation's overlap needs no ingress change. Values are `{"secret","endpointId","url"}`; a pending
 * value adds `replaces` (the AWSCURRENT version it replaces) and `replacesEndpointId`.
 *
 * Writes are compare-and-set, with the shared machinery of the HeyGen store
 * (adapters/aws/signing-secret-store.ts):
 * - `putCurrent` IS that store's `put`: a fresh ClientRequestToken per write (PutSecretValue with a
 *   token that already names a version is a silent no-op on AWS, so a deterministic token could
 *   never make a once-current value current again), then AWSCURRENT moved with
 *   RemoveFromVersionId = the version read, which AWS refuses when AWSCURRENT moved meanwhile;
 * - `promotePending` moves AWSCURRENT to the pending version with RemoveFromVersionId = the version
 *   the pending value replaces (the same check), then removes AWSPENDING. A crash between the two
 *   leaves AWSPENDING on the AWSCURRENT version, which `get` reads as no pending (a finished
 *   promotion), and the promoted value still names the endpoint it replaced.
 * Every read goes by VersionId from DescribeSecret's labels (one consistent picture of the stages).
 */

import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSigningSecretStore } from '../../../functions/adapters/aws/signing-secret-store.js';
import { assertStorable, type IssuedSigningSecret } from '../../../functions/core/secret-store.js';
import {
  completePending,
  type JoggAiPendingValue,
  type JoggAiSecretState,
  type JoggAiSecretStore,
  type JoggAiStoredValue,
} from './secret-store.js';

function parse(raw: string | undefined): Record<string, unknown> | null {
  const trimmed = raw?.trim() ?? '';
  if (!trimmed.startsWith('{')) return null;
  try {
    const v = JSON.parse(trimmed) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function currentValue(raw: string | undefined): JoggAiStoredValue | null {
  const v = parse(raw);
  const secret = str(v?.secret);
  const endpointId = str(v?.endpointId);
  const url = str(v?.url);
  if (!secret || !endpointId || !url) return null;
  const replaces = str(v?.replaces);
  const replacesEndpointId = str(v?.replacesEndpointId);
  return { secret, endpointId, url, ...(replaces ? { replaces } : {}), ...(replacesEndpointId ? { replacesEndpointId } : {}) };
}

function pendingValue(raw: string | undefined): JoggAiPendingValue | null {
  const v = parse(raw);
  return completePending({
    secret: str(v?.secret),
    endpointId: str(v?.endpointId),
    url: str(v?.url),
    replaces: str(v?.replaces),
    replacesEndpointId: str(v?.replacesEndpointId),
  } as Partial<JoggAiPendingValue>);
}

function serializePending(value: JoggAiPendingValue): string {
  return JSON.stringify({
    secret: value.secret,
    endpointId: value.endpointId,
    url: value.url,
    replaces: value.replaces,
    replacesEndpointId: value.replacesEndpointId,
  });
}

export class SecretsManagerJoggAiSecretStore implements JoggAiSecretStore {
  /** The shared compare-and-set store: `put` and `dropPending` are exactly what JoggAI needs. */
  private readonly shared: SecretsManagerSigningSecretStore;

  constructor(
    private readonly client: SecretsManagerClient,
    readonly name: string,
  ) {
    this.shared = new SecretsManagerSigningSecretStore(client, name);
  }

  async get(signal?: AbortSignal): Promise<JoggAiSecretState> {
    const { version, current, pending } = await this.shared.readRaw(signal);
    return {
      version,
      current: currentValue(current?.text),
      pending: pending ? { version: pending.version, value: pendingValue(pending.text) } : null,
    };
  }

  async putCurrent(value: IssuedSigningSecret, expected: string | null, signal?: AbortSignal): Promise<string> {
    return this.shared.put({ secret: value.secret, endpointId: value.endpointId, url: value.url }, expected, signal);
  }

  async putPending(value: JoggAiPendingValue, signal?: AbortSignal): Promise<string> {
    assertStorable(value, this.name);
    // A fresh token: a pending value is never replayed (a resumed rotation reads it back), and a
    // reused token would be ignored without moving AWSPENDING. PutSecretValue moves AWSPENDING
    // from whichever version held it (a stale pending, or a finished promotion's leftover label).
    const token = randomUUID();
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.name,
        SecretString: serializePending(value),
        ClientRequestToken: token,
        VersionStages: ['AWSPENDING'],
      }),
      { abortSignal: signal },
    );
    return token;
  }

  async promotePending(pending: { version: string; value: JoggAiPendingValue }, signal?: AbortSignal): Promise<void> {
    // Refused (SecretVersionConflictError) when AWSCURRENT is no longer on the version the pending
    // value replaces: someone stored since.
    await this.shared.moveCurrent(pending.version, pending.value.replaces, signal);
    await this.dropPending(pending.version, signal);
  }

  async dropPending(version: string, signal?: AbortSignal): Promise<void> {
    await this.shared.dropPending(version, signal);
  }
}

/** The JoggAI API key from its secret: a plain string or `{"apiKey": "..."}`; null when unset or without a value. */
export async function readJoggAiApiKey(
  client: SecretsManagerClient,
  secretId: string,
  signal?: AbortSignal,
): Promise<string | null> {
  let out: { SecretString?: string | undefined };
  try {
    out = await client.send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: signal });
  } catch (err) {
    // No value yet (a secret created without one, or deleted): the same as an empty key, like HeyGen's.
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return null;
    throw err;
  }
  const raw = out.SecretString?.trim() ?? '';
  if (raw === '') return null;
  if (!raw.startsWith('{')) return raw;
  try {
    const v = JSON.parse(raw) as { apiKey?: unknown };
    return typeof v.apiKey === 'string' && v.apiKey.trim() !== '' ? v.apiKey.trim() : null;
  } catch {
    return null;
  }
}
