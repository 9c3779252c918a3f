/**
 * HeyGen signing-secret rotation on Secrets Manager's 4-step protocol
 * (createSecret → setSecret → testSecret → finishSecret), following AWS's rotation template.
 *
 * HeyGen invalidates the old secret the moment rotate-secret answers, so the new secret must reach
 * Secrets Manager even if this function dies right after HeyGen's answer. The step's
 * ClientRequestToken is therefore sent as HeyGen's Idempotency-Key: Secrets Manager retries
 * createSecret with the same token, HeyGen replays the same secret (for 24 h), and it is stored
 * as AWSPENDING under that token. A retried step never rotates a second time.
 *
 * The ingress accepts AWSCURRENT, AWSPENDING and (for a grace period) AWSPREVIOUS, and re-reads
 * on a verification miss, so deliveries signed with the new secret verify as soon as AWSPENDING
 * exists, before finishSecret moves AWSCURRENT.
 */
import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { StoredSigningSecret } from '../../core/ports.js';
import { parseStoredSigningSecret, serializeStoredSigningSecret } from '../../core/secret-store.js';
import { type HeyGenWebhookApi, IDEMPOTENCY_KEY_PATTERN } from './api/client.js';
import { HeyGenNotFoundError } from './api/errors.js';
import { normalizeUrl, type RegistrarLogger } from './registrar.js';

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** The event Secrets Manager sends to a rotation function. */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: RotationStep | string;
}

export interface RotationDeps {
  readonly secrets: SecretsManagerClient;
  /** HeyGen client; null when no API key is configured (createSecret then fails with a clear error). */
  readonly heygen: HeyGenWebhookApi | null;
  readonly logger?: RegistrarLogger;
  /** The relay's webhook URL, used to find the endpoint when the stored value names none. */
  readonly endpointUrl?: string;
  /** Where the API key lives, for the error message. */
  readonly apiKeySecretName?: string;
  readonly signal?: AbortSignal;
}

export type RotationResult =
  | 'already_current'
  | 'pending_exists'
  | 'rotated'
  | 'nothing_to_rotate'
  | 'set_noop'
  | 'tested'
  | 'finished';

/** A rotation step could not be done; Secrets Manager marks the rotation failed and retries later. */
export class RotationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RotationError';
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/** HeyGen's Idempotency-Key for a token: the token itself (a UUID) or, if it does not fit, its hash. */
export function rotationIdempotencyKey(clientRequestToken: string): string {
  return IDEMPOTENCY_KEY_PATTERN.test(clientRequestToken)
    ? clientRequestToken
    : `sm-${createHash('sha256').update(clientRequestToken).digest('hex')}`;
}

/** A signing secret as HeyGen issues it: non-empty, no whitespace, bounded length. */
export function isWellFormedSecret(secret: unknown): secret is string {
  return typeof secret === 'string' && /^\S{8,1024}$/.test(secret);
}

export async function rotationStep(event: RotationEvent, deps: RotationDeps): Promise<RotationResult> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  const log = deps.logger;
  const sm = deps.secrets;
  const opts = { abortSignal: deps.signal };

  const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }), opts);
  if (described.RotationEnabled === false) {
    throw new RotationError(`secret ${secretId} does not have rotation enabled`);
  }
  const versions = described.VersionIdsToStages ?? {};
  const stages = versions[token];
  if (!stages) throw new RotationError(`secret version ${token} has no stage for rotation of ${secretId}`);
  if (stages.includes('AWSCURRENT')) {
    log?.info('rotation: version is already AWSCURRENT', { step, token });
    return 'already_current';
  }
  if (!stages.includes('AWSPENDING')) {
    throw new RotationError(`secret version ${token} is not set as AWSPENDING for rotation of ${secretId}`);
  }

  switch (step) {
    case 'createSecret':
      return createSecret();
    case 'setSecret':
      // HeyGen switched to the new secret inside rotate-secret already (createSecret).
      log?.info('rotation: setSecret has nothing to do', { token });
      return 'set_noop';
    case 'testSecret':
      return testSecret();
    case 'finishSecret':
      return finishSecret();
    default:
      throw new RotationError(`unknown rotation step ${JSON.stringify(step)}`);
  }

  async function getPending(): Promise<string | undefined> {
    try {
      const out = await sm.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: token, VersionStage: 'AWSPENDING' }),
        opts,
      );
      return out.SecretString;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function createSecret(): Promise<RotationResult> {
    const currentOut = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }), opts);
    if ((await getPending()) !== undefined) {
      log?.info('rotation: AWSPENDING already exists for this token; nothing to do', { token });
      return 'pending_exists';
    }
    const current: StoredSigningSecret | null = parseStoredSigningSecret(currentOut.SecretString);
    if (deps.heygen === null) {
      throw new RotationError(
        `HeyGen API key is not set: put your key into ${deps.apiKeySecretName ?? 'the HeyGen API key secret'}; rotation retries on its schedule`,
      );
    }
    const url = current?.url ?? deps.endpointUrl ?? null;
    let endpointId = current?.endpointId ?? null;
    if (!endpointId && url) {
      const target = normalizeUrl(url);
      const found = (await deps.heygen.listEndpoints({ signal: deps.signal }))
        .filter((e) => normalizeUrl(e.url) === target)
        .sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
      endpointId = found?.endpoint_id ?? null;
    }
    if (!endpointId) {
      // No endpoint registered yet (the registrar issues the first secret): keep the value as is.
      log?.warn('rotation: no HeyGen endpoint registered yet; the pending version repeats the current value', {
        token,
      });
      await sm.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: token,
          SecretString: currentOut.SecretString ?? '',
          VersionStages: ['AWSPENDING'],
        }),
        opts,
      );
      return 'nothing_to_rotate';
    }

    let rotated: { endpoint_id: string; secret: string };
    try {
      rotated = await deps.heygen.rotateSecret(endpointId, {
        idempotencyKey: rotationIdempotencyKey(token),
        signal: deps.signal,
      });
    } catch (err) {
      if (err instanceof HeyGenNotFoundError) {
        throw new RotationError(`HeyGen endpoint ${endpointId} no longer exists; the registrar re-creates it on its next run`, {
          cause: err,
        });
      }
      throw err;
    }
    // From here on HeyGen signs with the new secret: store it before anything else can fail.
    await sm.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: serializeStoredSigningSecret({
          secret: rotated.secret,
          endpointId: rotated.endpoint_id,
          url: url ?? '',
        }),
        VersionStages: ['AWSPENDING'],
      }),
      opts,
    );
    log?.info('rotation: HeyGen issued a new secret; stored as AWSPENDING', { token, endpointId });
    return 'rotated';
  }

  async function testSecret(): Promise<RotationResult> {
    const pending = await getPending();
    if (pending === undefined) throw new RotationError(`no AWSPENDING value for token ${token}`);
    const parsed = parseStoredSigningSecret(pending);
    if (parsed?.endpointId) {
      if (!isWellFormedSecret(parsed.secret)) {
        throw new RotationError(`AWSPENDING for token ${token} does not hold a well-formed secret`);
      }
    } else {
      // Only the "nothing to rotate" copy may lack an endpoint; it must equal AWSCURRENT.
      const current = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }), opts);
      if (current.SecretString !== pending) {
        throw new RotationError(`AWSPENDING for token ${token} names no endpoint`);
      }
    }
    log?.info('rotation: pending value is well-formed', { token });
    return 'tested';
  }

  async function finishSecret(): Promise<RotationResult> {
    const currentVersion = Object.entries(versions).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: token,
        RemoveFromVersionId: currentVersion,
      }),
      opts,
    );
    log?.info('rotation: AWSCURRENT moved to the new version', { token, previous: currentVersion });
    return 'finished';
  }
}
