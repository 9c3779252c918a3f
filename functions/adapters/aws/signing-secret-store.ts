import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { StoredSigningSecret } from '../../core/ports.js';
import {
  type IssuedSigningSecret,
  parseStoredSigningSecret,
  type SigningSecretStore,
  serializeStoredSigningSecret,
} from '../../core/secret-store.js';

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/**
 * The signing secret in AWS Secrets Manager. `get` reads AWSCURRENT; `put` writes a new version,
 * which becomes AWSCURRENT (the one before becomes AWSPREVIOUS, which the ingress still accepts for
 * a grace period).
 */
export class SecretsManagerSigningSecretStore implements SigningSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  get name(): string {
    return this.secretId;
  }

  async get(signal?: AbortSignal): Promise<StoredSigningSecret | null> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({
          SecretId: this.secretId,
          VersionStage: 'AWSCURRENT',
        }),
        { abortSignal: signal },
      );
      return parseStoredSigningSecret(out.SecretString);
    } catch (err) {
      // A secret created without a value has no AWSCURRENT version yet.
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async put(value: IssuedSigningSecret, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        SecretString: serializeStoredSigningSecret(value),
      }),
      { abortSignal: signal },
    );
  }
}

/**
 * Reads the HeyGen API key from its secret. Returns null when the secret has no value yet or
 * still holds a placeholder, so the caller can say which secret to fill instead of failing.
 */
export async function readHeyGenApiKey(
  client: SecretsManagerClient,
  secretId: string,
  signal?: AbortSignal,
): Promise<string | null> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: signal });
    return parseApiKeySecret(out.SecretString);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

const PLACEHOLDER = /^(|replace[-_ ]?me.*|change[-_ ]?me.*|placeholder.*|todo.*|<.*>|set[-_ ]?me.*|xxx+)$/i;

/**
 * The API key from a SecretString: a plain string, or JSON with `apiKey`, `api_key`,
 * `HEYGEN_API_KEY` or `heygenApiKey`. Placeholders (`REPLACE_ME`, `<your key>`, ...) count as unset.
 */
export function parseApiKeySecret(secretString: string | undefined): string | null {
  if (secretString === undefined) return null;
  let value = secretString.trim();
  if (value.startsWith('{')) {
    try {
      const json = JSON.parse(value) as Record<string, unknown>;
      const found = [json.apiKey, json.api_key, json.HEYGEN_API_KEY, json.heygenApiKey].find(
        (v): v is string => typeof v === 'string',
      );
      value = (found ?? '').trim();
    } catch {
      return null;
    }
  }
  if (PLACEHOLDER.test(value)) return null;
  return value;
}
