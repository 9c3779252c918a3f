/**
 * HeyGen signing-secret rotation on Secrets Manager's 4-step protocol
 * (createSecret → setSecret → testSecret → finishSecret), following AWS's rotation template.
 *
 * HeyGen invalidates the old secret the moment rotate-secret answers, so the new secret must reach
 * Secrets Manager even if this function dies right after HeyGen's answer. The step's
 * ClientRequestToken is therefore sent as HeyGen's Idempotency-Key: Secrets Manager retries
 * createSecret with the same token, HeyGen replays the same secret (for 24 h), and it is stored
 * as AWSPENDING under that token. The call is also recorded as the lease's intent before it is
 * made, so a registrar run that comes first replays it (same key) and stores the answer.
 *
 * The steps that write (createSecret, finishSecret) hold the signing secret's lease (one writer at
 * a time with the registrar and the CLI) and check versions:
 * - the pending value records the AWSCURRENT version it `replaces`; finishSecret promotes it only
 *   if AWSCURRENT is still that version (compare-and-set), otherwise the rotation was superseded
 *   by a later write (whose secret is the live one) and its pending value is dropped;
 * - finishSecret removes AWSPENDING once AWSCURRENT moved (AWS leaves it attached otherwise, and a
 *   stale AWSPENDING keeps a retired secret accepted and blocks the next rotation);
 * - with no endpoint registered yet, createSecret cancels the rotation (removes AWSPENDING from the
 *   token) instead of storing a copy that could never pass testSecret;
 * - a step whose token no longer holds AWSPENDING (superseded, or cancelled) does nothing.
 *
 * The ingress accepts AWSCURRENT, AWSPENDING and (for a grace period) AWSPREVIOUS, and re-reads
 * on a verification miss, so deliveries signed with the new secret verify as soon as AWSPENDING
 * holds it, before finishSecret moves AWSCURRENT.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { labelHolders, SecretsManagerSigningSecretStore } from '../../../functions/adapters/aws/signing-secret-store.js';
import { LeaseBusyError, type LeaseStore, MemoryLeaseStore, withLease } from '../../../functions/core/lease.js';
import { signingSecretProblem } from '../../../functions/core/secret-quality.js';
import { parseStoredSigningSecret, serializeStoredSigningSecret } from '../../../functions/core/secret-store.js';
import { type HeyGenWebhookApi, IDEMPOTENCY_KEY_PATTERN } from './api/client.js';
import { HeyGenNotFoundError } from './api/errors.js';
import { LEASE_TTL_MS, LEASE_WAIT_MS, normalizeUrl, type RegistrarLogger, SecretWriter } from './registrar.js';

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
  /** The one-writer lease shared with the registrar (same name). @default an in-process lease */
  readonly lease?: {
    readonly store: LeaseStore;
    readonly name: string;
    readonly waitMs?: number;
    /** Injected by tests that run on a virtual clock. */
    readonly sleep?: (ms: number) => Promise<void>;
    readonly now?: () => number;
  };
}

/** In-process lease used when none is injected (unit tests). */
const processLeases = new MemoryLeaseStore();

export type RotationResult =
  | 'already_current'
  | 'pending_exists'
  | 'rotated'
  | 'nothing_to_rotate'
  | 'set_noop'
  | 'tested'
  | 'finished'
  | 'superseded'
  | 'cancelled';

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

export async function rotationStep(event: RotationEvent, deps: RotationDeps): Promise<RotationResult> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  const log = deps.logger;
  const sm = deps.secrets;
  const opts = { abortSignal: deps.signal };

  const describe = async () => {
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }), opts);
    if (described.RotationEnabled === false) throw new RotationError(`secret ${secretId} does not have rotation enabled`);
    return described.VersionIdsToStages ?? {};
  };
  const versions = await describe();
  const stages = versions[token] ?? [];
  if (stages.includes('AWSCURRENT')) {
    if (stages.includes('AWSPENDING')) await removePending(); // finishSecret moved AWSCURRENT and died before this
    log?.info('rotation: version is already AWSCURRENT', { step, token });
    return 'already_current';
  }
  if (!stages.includes('AWSPENDING')) {
    // Cancelled (no endpoint yet) or superseded by a later write: there is nothing left to do.
    log?.warn('rotation: this version is no longer AWSPENDING (cancelled or superseded); nothing to do', { step, token });
    return 'superseded';
  }

  switch (step) {
    case 'createSecret':
      return underLease(createSecret);
    case 'setSecret':
      // HeyGen switched to the new secret inside rotate-secret already (createSecret).
      log?.info('rotation: setSecret has nothing to do', { token });
      return 'set_noop';
    case 'testSecret':
      return testSecret();
    case 'finishSecret':
      return underLease(finishSecret);
    default:
      throw new RotationError(`unknown rotation step ${JSON.stringify(step)}`);
  }

  async function underLease(fn: (writer: SecretWriter | null) => Promise<RotationResult>): Promise<RotationResult> {
    const lease = deps.lease ?? { store: processLeases, name: `heygen:${secretId}` };
    try {
      return await withLease(
        lease.store,
        lease.name,
        {
          owner: `rotation-${randomUUID()}`,
          ttlMs: LEASE_TTL_MS,
          waitMs: lease.waitMs ?? LEASE_WAIT_MS,
          ...(deps.signal ? { signal: deps.signal } : {}),
          ...(lease.sleep ? { sleep: lease.sleep } : {}),
          ...(lease.now ? { now: lease.now } : {}),
        },
        async (grant) => {
          const writer = deps.heygen
            ? new SecretWriter(
                grant,
                lease.store,
                deps.heygen,
                new SecretsManagerSigningSecretStore(sm, secretId),
                deps.signal,
                lease.now,
              )
            : null;
          // A change a dead holder made at HeyGen and never stored comes first (same key, answer stored).
          // (The intent of this very step's crashed attempt is not replayed here: the step itself makes
          // that call again with the same key, and stores the answer as AWSPENDING.)
          if (writer?.leftover && writer.leftover.op !== 'rotate') {
            // A create the registrar made and never stored: the registrar replays it (it knows the
            // relay's desired endpoint); rotating meanwhile would overwrite that record.
            throw new RotationError(
              'a registrar change awaits recovery (the registrar replays it on its next run); Secrets Manager retries this step',
            );
          }
          if (writer?.leftover && writer.leftover.key !== rotationIdempotencyKey(token)) {
            const leftover = writer.leftover;
            const store = new SecretsManagerSigningSecretStore(sm, secretId);
            const before = await store.read(deps.signal);
            try {
              await writer.rotate(
                leftover.endpointId,
                leftover.key,
                leftover.base,
                async (rotated) => {
                  await writer.storeIssued(
                    {
                      secret: rotated.secret,
                      endpointId: rotated.endpoint_id,
                      url: before.current?.url ?? deps.endpointUrl ?? '',
                    },
                    before.version,
                  );
                },
                leftover.op,
              );
              log?.warn('rotation: replayed a secret change a previous writer made at HeyGen and never stored', {
                endpointId: leftover.endpointId,
              });
            } catch (err) {
              if (!(err instanceof HeyGenNotFoundError)) throw err;
              await writer.clearIntent();
            }
          }
          // Re-check under the lease: the token may have been superseded while we waited.
          const now = (await describe())[token] ?? [];
          if (now.includes('AWSCURRENT')) return 'already_current';
          if (!now.includes('AWSPENDING')) return 'superseded';
          return fn(writer);
        },
      );
    } catch (err) {
      if (err instanceof LeaseBusyError) {
        // Secrets Manager retries the step; the registrar or the CLI is changing the secret right now.
        throw new RotationError(`${err.message}; Secrets Manager retries this step`, { cause: err });
      }
      throw err;
    }
  }

  /** Removes AWSPENDING from this rotation's version (no-op if it is not there any more). */
  async function removePending(): Promise<void> {
    await new SecretsManagerSigningSecretStore(sm, secretId).dropPending(token, deps.signal);
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

  async function createSecret(writer: SecretWriter | null): Promise<RotationResult> {
    if ((await getPending()) !== undefined) {
      log?.info('rotation: AWSPENDING already holds a value for this token; nothing to do', { token });
      return 'pending_exists';
    }
    const holders = labelHolders(await describe());
    const currentVersion = holders.get('AWSCURRENT') ?? null;
    const currentOut = currentVersion
      ? await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: currentVersion }), opts)
      : undefined;
    const current = parseStoredSigningSecret(currentOut?.SecretString);
    if (deps.heygen === null || writer === null) {
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
      // No endpoint registered yet (the registrar issues the first secret): cancel this rotation.
      // A copy of the current value in AWSPENDING would name no endpoint and fail testSecret on
      // every later attempt, blocking every later rotation.
      await removePending();
      log?.warn('rotation: no HeyGen endpoint registered yet; rotation cancelled (the registrar issues the first secret)', {
        token,
      });
      return 'cancelled';
    }

    try {
      await writer.rotate(endpointId, rotationIdempotencyKey(token), currentVersion, async (rotated) => {
        // From here on HeyGen signs with the new secret: store it before anything else can fail.
        await sm.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: serializeStoredSigningSecret({
              secret: rotated.secret,
              endpointId: rotated.endpoint_id,
              url: url ?? '',
              replaces: currentVersion,
            }),
            VersionStages: ['AWSPENDING'],
          }),
          opts,
        );
      });
    } catch (err) {
      if (err instanceof HeyGenNotFoundError) {
        await writer.clearIntent();
        throw new RotationError(`HeyGen endpoint ${endpointId} no longer exists; the registrar re-creates it on its next run`, {
          cause: err,
        });
      }
      throw err;
    }
    log?.info('rotation: HeyGen issued a new secret; stored as AWSPENDING', { token, endpointId });
    return 'rotated';
  }

  async function testSecret(): Promise<RotationResult> {
    const pending = await getPending();
    if (pending === undefined) throw new RotationError(`no AWSPENDING value for token ${token}`);
    const parsed = parseStoredSigningSecret(pending);
    if (!parsed?.endpointId) throw new RotationError(`AWSPENDING for token ${token} names no endpoint`);
    const problem = signingSecretProblem(parsed.secret);
    if (problem !== null) throw new RotationError(`AWSPENDING for token ${token} does not hold a usable secret: ${problem}`);
    log?.info('rotation: pending value is well-formed', { token });
    return 'tested';
  }

  async function finishSecret(): Promise<RotationResult> {
    const currentVersion = labelHolders(await describe()).get('AWSCURRENT');
    const pending = parseStoredSigningSecret(await getPending());
    if (pending?.replaces && currentVersion !== pending.replaces) {
      // AWSCURRENT moved since createSecret: a later writer (under the lease, so after this
      // rotation's HeyGen call) stored the secret HeyGen signs with now. Ours is dead: drop it.
      await removePending();
      log?.warn('rotation: superseded by a later write; AWSCURRENT left as it is', { token, current: currentVersion });
      return 'superseded';
    }
    try {
      await sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: token,
          ...(currentVersion ? { RemoveFromVersionId: currentVersion } : {}),
        }),
        opts,
      );
    } catch (err) {
      if (err instanceof Error && err.name === 'InvalidParameterException') {
        throw new RotationError(
          'AWSCURRENT moved while finishing (a write outside the lease); Secrets Manager retries this step',
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    await removePending();
    log?.info('rotation: AWSCURRENT moved to the new version', { token, previous: currentVersion });
    return 'finished';
  }
}
