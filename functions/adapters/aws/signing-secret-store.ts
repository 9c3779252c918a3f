import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  type IssuedSigningSecret,
  parseStoredSigningSecret,
  type SecretSnapshot,
  SecretVersionConflictError,
  StoredTextSecretStore,
  serializeStoredSigningSecret,
} from '../../core/secret-store.js';

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/** A custom staging label that keeps a freshly written version from being deprecated until it is made current. */
export const STAGED_LABEL = 'RELAY_STAGED';

/** Version id holding each label, from DescribeSecret's VersionIdsToStages. */
export function labelHolders(versions: Record<string, string[]> | undefined): Map<string, string> {
  const holders = new Map<string, string>();
  for (const [id, stages] of Object.entries(versions ?? {})) for (const s of stages) holders.set(s, id);
  return holders;
}

/** A stored value as Secrets Manager holds it: its SecretString and when the version was created. */
interface RawValue {
  readonly text?: string | undefined;
  readonly createdAt?: number | undefined;
}

/** What {@link SecretsManagerSigningSecretStore.readRaw} reads (a provider's store parses it its own way). */
export interface RawSecretSnapshot {
  readonly version: string | null;
  /** AWSPREVIOUS's version (where AWSCURRENT was last moved from), or null. */
  readonly previous: string | null;
  readonly current: RawValue | undefined;
  readonly pending: (RawValue & { readonly version: string }) | null;
}

/**
 * The signing secret in AWS Secrets Manager, written compare-and-set:
 * - `read` names AWSCURRENT's VersionId (and a pending rotation's version, if AWSPENDING sits on
 *   another version);
 * - `put` writes a new version under a fresh ClientRequestToken (so a value that was current once
 *   can be made current again; a reused token would be a silent no-op), labelled RELAY_STAGED, then
 *   moves AWSCURRENT to it with `RemoveFromVersionId` = the version read. Secrets Manager refuses
 *   that move when AWSCURRENT has moved meanwhile, which is the version check. The replaced version
 *   becomes AWSPREVIOUS (the ingress accepts it for a grace period), and AWSPENDING is removed
 *   from a pending version that holds a value, so the ingress never keeps accepting a retired value
 *   and the next rotation is not refused as "previous rotation not complete".
 */
export class SecretsManagerSigningSecretStore extends StoredTextSecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {
    super(secretId);
  }

  private async value(versionId: string, signal?: AbortSignal): Promise<RawValue | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionId: versionId }), {
        abortSignal: signal,
      });
      return { text: out.SecretString, createdAt: out.CreatedDate?.getTime() };
    } catch (err) {
      if (isNotFound(err)) return undefined; // a rotation's pending version before createSecret put its value
      throw err;
    }
  }

  /**
   * AWSCURRENT's value and a pending rotation's (AWSPENDING on another version), as stored, read by
   * VersionId from one DescribeSecret (one consistent picture of the stages).
   */
  async readRaw(signal?: AbortSignal): Promise<RawSecretSnapshot> {
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.secretId }), { abortSignal: signal });
    const holders = labelHolders(described.VersionIdsToStages);
    const version = holders.get('AWSCURRENT') ?? null;
    const held = holders.get('AWSPENDING');
    const pendingId = held !== undefined && held !== version ? held : null;
    const [current, pending] = await Promise.all([
      version ? this.value(version, signal) : undefined,
      pendingId ? this.value(pendingId, signal) : undefined,
    ]);
    const previous = holders.get('AWSPREVIOUS') ?? null;
    return { version, previous, current, pending: pendingId ? { version: pendingId, ...pending } : null };
  }

  async read(signal?: AbortSignal): Promise<SecretSnapshot> {
    const { version, previous, current, pending } = await this.readRaw(signal);
    return {
      version,
      previous,
      current: parseStoredSigningSecret(current?.text),
      ...(current?.createdAt !== undefined ? { currentCreatedAt: current.createdAt } : {}),
      pending: pending
        ? {
            version: pending.version,
            value: parseStoredSigningSecret(pending.text),
            ...(pending.createdAt !== undefined ? { createdAt: pending.createdAt } : {}),
          }
        : null,
    };
  }

  protected async putText(text: string, expected: string | null, signal?: AbortSignal): Promise<string> {
    const token = randomUUID();
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        ClientRequestToken: token,
        SecretString: text,
        VersionStages: [STAGED_LABEL],
      }),
      { abortSignal: signal },
    );
    await this.moveCurrent(token, expected, signal);
    // A pending rotation that already holds a value is superseded by this write (its provider secret
    // is dead: the lease guarantees our provider call came after it). A pending version without a
    // value is a rotation Secrets Manager has staged but not started; its createSecret runs later
    // under the lease and rotates from the value written here, so it stays.
    const after = await this.read(signal);
    if (after.pending && after.pending.value !== null) await this.dropPending(after.pending.version, signal);
    return token;
  }

  /**
   * Moves AWSCURRENT to `version` if it still sits on `expected` (compare-and-set: Secrets Manager
   * refuses the move when AWSCURRENT moved meanwhile, and that refusal is a SecretVersionConflictError).
   * The replaced version becomes AWSPREVIOUS.
   */
  async moveCurrent(version: string, expected: string | null, signal?: AbortSignal): Promise<void> {
    const refused = await this.moveStage('AWSCURRENT', { to: version, from: expected }, signal);
    if (refused) throw new SecretVersionConflictError(this.secretId, expected, { cause: refused });
  }

  /** Writes `value` as a new version labelled AWSPENDING under `token` (a rotation's ClientRequestToken). */
  async putPending(token: string, value: IssuedSigningSecret, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        ClientRequestToken: token,
        SecretString: serializeStoredSigningSecret(value),
        VersionStages: ['AWSPENDING'],
      }),
      { abortSignal: signal },
    );
  }

  async dropPending(version: string, signal?: AbortSignal): Promise<void> {
    // Refused: AWSPENDING is no longer on `version` (a rotation moved on): nothing to drop.
    await this.moveStage('AWSPENDING', { from: version }, signal);
  }

  /**
   * Moves `stage` onto `to` and/or off `from`. Returns the InvalidParameterException with which
   * Secrets Manager refuses to take the stage off a version that no longer holds it, or null.
   */
  private async moveStage(
    stage: string,
    move: { to?: string; from?: string | null },
    signal: AbortSignal | undefined,
  ): Promise<Error | null> {
    try {
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: this.secretId,
          VersionStage: stage,
          ...(move.to ? { MoveToVersionId: move.to } : {}),
          ...(move.from ? { RemoveFromVersionId: move.from } : {}),
        }),
        { abortSignal: signal },
      );
      return null;
    } catch (err) {
      if (err instanceof Error && err.name === 'InvalidParameterException') return err;
      throw err;
    }
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
