/**
 * JoggAI's secret store on Secrets Manager stages: current = AWSCURRENT, pending = AWSPENDING
 * (the ingress's SecretsManagerKeySource accepts both, and AWSPREVIOUS for its grace period), so a
 * rotation's overlap needs no ingress change. Values are `{"secret","endpointId","url"}`.
 */

import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type IssuedSigningSecret, parseStoredSigningSecret, serializeStoredSigningSecret } from '../../core/secret-store.js';
import type { JoggAiSecretState, JoggAiSecretStore } from './secret-store.js';

function complete(raw: string | undefined): IssuedSigningSecret | null {
  const v = parseStoredSigningSecret(raw);
  return v?.secret && v.endpointId && v.url ? { secret: v.secret, endpointId: v.endpointId, url: v.url } : null;
}

/** Version token derived from the value, so re-putting the same value is idempotent. */
function token(kind: string, value: IssuedSigningSecret): string {
  return createHash('sha256').update(`${kind}:${value.endpointId}:${value.secret}`).digest('hex').slice(0, 64);
}

export class SecretsManagerJoggAiSecretStore implements JoggAiSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    readonly name: string,
  ) {}

  private async stage(stage: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.name, VersionStage: stage }), {
        abortSignal: signal,
      });
      return out.SecretString;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  async get(signal?: AbortSignal): Promise<JoggAiSecretState> {
    const [current, pending] = await Promise.all([this.stage('AWSCURRENT', signal), this.stage('AWSPENDING', signal)]);
    return { current: complete(current), pending: complete(pending) };
  }

  async putCurrent(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.name,
        SecretString: serializeStoredSigningSecret(value),
        ClientRequestToken: token('c', value),
      }),
      { abortSignal: signal },
    );
  }

  async putPending(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.name,
        SecretString: serializeStoredSigningSecret(value),
        ClientRequestToken: token('p', value),
        VersionStages: ['AWSPENDING'],
      }),
      { abortSignal: signal },
    );
  }

  async promotePending(signal?: AbortSignal): Promise<void> {
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.name }), { abortSignal: signal });
    const stages = Object.entries(described.VersionIdsToStages ?? {});
    const pending = stages.find(([, s]) => s.includes('AWSPENDING'))?.[0];
    const current = stages.find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    if (!pending) return;
    if (pending !== current)
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: this.name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pending,
          ...(current ? { RemoveFromVersionId: current } : {}),
        }),
        { abortSignal: signal },
      );
    await this.client.send(
      new UpdateSecretVersionStageCommand({ SecretId: this.name, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }),
      {
        abortSignal: signal,
      },
    );
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
