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
import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { labelHolders, SecretsManagerSigningSecretStore } from '../../../functions/adapters/aws/signing-secret-store.js';
import { LeaseBusyError, type LeaseStore, MemoryLeaseStore, withLease } from '../../../functions/core/lease.js';
import type { StoredSigningSecret } from '../../../functions/core/ports.js';
import { signingSecretProblem } from '../../../functions/core/secret-quality.js';
import { parseStoredSigningSecret, SecretVersionConflictError } from '../../../functions/core/secret-store.js';
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

/** One step's invocation: the secret, this rotation's token, and the ports. */
interface StepContext {
  readonly secretId: string;
  readonly token: string;
  readonly step: string;
  readonly deps: RotationDeps;
  readonly store: SecretsManagerSigningSecretStore;
  readonly log: RegistrarLogger | undefined;
}

type StepRun = (c: StepContext, writer: SecretWriter | null) => Promise<RotationResult>;

/**
 * The four steps and their rules. The steps that write (at HeyGen or to AWSCURRENT) hold the lease;
 * every step first passes {@link settledToken} (a token already current, or no longer pending, is done).
 */
const STEPS: Readonly<Record<RotationStep, { readonly underLease: boolean; readonly run: StepRun }>> = {
  /** Rotate at HeyGen (key = token) and store the answer as AWSPENDING; cancel with no endpoint yet. */
  createSecret: { underLease: true, run: createSecret },
  /** Nothing: HeyGen switched to the new secret inside rotate-secret already (createSecret). */
  setSecret: { underLease: false, run: setSecret },
  /** The pending value names an endpoint and holds a usable secret. */
  testSecret: { underLease: false, run: testSecret },
  /** Promote AWSPENDING if AWSCURRENT is still the version it replaces, else drop it (superseded). */
  finishSecret: { underLease: true, run: finishSecret },
};

export async function rotationStep(event: RotationEvent, deps: RotationDeps): Promise<RotationResult> {
  const c: StepContext = {
    secretId: event.SecretId,
    token: event.ClientRequestToken,
    step: event.Step,
    deps,
    store: new SecretsManagerSigningSecretStore(deps.secrets, event.SecretId),
    log: deps.logger,
  };
  const settled = await settledToken(c, true);
  if (settled) return settled;
  const step = Object.hasOwn(STEPS, c.step) ? STEPS[c.step as RotationStep] : undefined;
  if (!step) throw new RotationError(`unknown rotation step ${JSON.stringify(c.step)}`);
  return step.underLease ? underLease(c, step.run) : step.run(c, null);
}

/**
 * The rule every step checks first: a token that holds AWSCURRENT is done (`already_current`; an
 * AWSPENDING left beside it by a finishSecret that died is removed), and a token that no longer holds
 * AWSPENDING was cancelled or superseded by a later write (`superseded`). Null: the step goes on.
 */
async function settledToken(c: StepContext, first: boolean): Promise<RotationResult | null> {
  const stages = (await describe(c))[c.token] ?? [];
  if (stages.includes('AWSCURRENT')) {
    if (!first) return 'already_current';
    if (stages.includes('AWSPENDING')) await removePending(c); // finishSecret moved AWSCURRENT and died before this
    c.log?.info('rotation: version is already AWSCURRENT', { step: c.step, token: c.token });
    return 'already_current';
  }
  if (stages.includes('AWSPENDING')) return null;
  if (first) {
    c.log?.warn('rotation: this version is no longer AWSPENDING (cancelled or superseded); nothing to do', {
      step: c.step,
      token: c.token,
    });
  }
  return 'superseded';
}

async function describe(c: StepContext): Promise<Record<string, string[]>> {
  const described = await c.deps.secrets.send(new DescribeSecretCommand({ SecretId: c.secretId }), {
    abortSignal: c.deps.signal,
  });
  if (described.RotationEnabled === false) throw new RotationError(`secret ${c.secretId} does not have rotation enabled`);
  return described.VersionIdsToStages ?? {};
}

/**
 * Runs a writing step holding the lease shared with the registrar and the CLI: first a change a dead
 * holder made at HeyGen and never stored (see {@link replayLeftover}), then the token is checked
 * again (it may have been superseded while we waited). A busy lease fails the step: Secrets Manager
 * retries it.
 */
async function underLease(c: StepContext, run: StepRun): Promise<RotationResult> {
  const { deps } = c;
  const lease = deps.lease ?? { store: processLeases, name: `heygen:${c.secretId}` };
  const options = {
    owner: `rotation-${randomUUID()}`,
    ttlMs: LEASE_TTL_MS,
    waitMs: lease.waitMs ?? LEASE_WAIT_MS,
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(lease.sleep ? { sleep: lease.sleep } : {}),
    ...(lease.now ? { now: lease.now } : {}),
  };
  try {
    return await withLease(lease.store, lease.name, options, async (grant) => {
      const writer = deps.heygen ? new SecretWriter(grant, lease.store, deps.heygen, c.store, deps.signal, lease.now) : null;
      if (writer) await replayLeftover(c, writer);
      return (await settledToken(c, false)) ?? run(c, writer);
    });
  } catch (err) {
    if (err instanceof LeaseBusyError) {
      // The registrar or the CLI is changing the secret right now.
      throw new RotationError(`${err.message}; Secrets Manager retries this step`, { cause: err });
    }
    throw err;
  }
}

/**
 * A change a dead holder made at HeyGen and never stored comes first (same key, answer stored).
 * - A create the registrar made: the registrar replays it (it knows the relay's desired endpoint);
 *   rotating meanwhile would overwrite that record, so the step fails and is retried.
 * - This very step's crashed attempt (same key) is not replayed here: the step makes that call again
 *   with the same key, and stores the answer as AWSPENDING.
 * - An endpoint HeyGen no longer has: nothing to replay, the intent is cleared.
 */
async function replayLeftover(c: StepContext, writer: SecretWriter): Promise<void> {
  const leftover = writer.leftover;
  if (!leftover) return;
  if (leftover.op !== 'rotate') {
    throw new RotationError(
      'a registrar change awaits recovery (the registrar replays it on its next run); Secrets Manager retries this step',
    );
  }
  if (leftover.key === rotationIdempotencyKey(c.token)) return;
  const before = await c.store.read(c.deps.signal);
  try {
    await writer.rotate(
      leftover.endpointId,
      leftover.key,
      leftover.base,
      async (rotated) => {
        const url = before.current?.url ?? c.deps.endpointUrl ?? '';
        await writer.storeIssued({ secret: rotated.secret, endpointId: rotated.endpoint_id, url }, before.version);
      },
      leftover.op,
    );
    c.log?.warn('rotation: replayed a secret change a previous writer made at HeyGen and never stored', {
      endpointId: leftover.endpointId,
    });
  } catch (err) {
    if (!(err instanceof HeyGenNotFoundError)) throw err;
    await writer.clearIntent();
  }
}

/** Removes AWSPENDING from this rotation's version (no-op if it is not there any more). */
async function removePending(c: StepContext): Promise<void> {
  await c.store.dropPending(c.token, c.deps.signal);
}

/** The value this rotation's token holds as AWSPENDING, or undefined when it holds none yet. */
async function getPending(c: StepContext): Promise<string | undefined> {
  try {
    const out = await c.deps.secrets.send(
      new GetSecretValueCommand({ SecretId: c.secretId, VersionId: c.token, VersionStage: 'AWSPENDING' }),
      { abortSignal: c.deps.signal },
    );
    return out.SecretString;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * createSecret's rules, in order: AWSPENDING already holds a value for this token → nothing to do;
 * no API key → fail (retried on the schedule); no endpoint registered yet → cancel the rotation;
 * else rotate at HeyGen with Idempotency-Key = token and store the answer as AWSPENDING, with the
 * AWSCURRENT version it `replaces` (an endpoint HeyGen no longer has fails the step).
 */
async function createSecret(c: StepContext, writer: SecretWriter | null): Promise<RotationResult> {
  if ((await getPending(c)) !== undefined) {
    c.log?.info('rotation: AWSPENDING already holds a value for this token; nothing to do', { token: c.token });
    return 'pending_exists';
  }
  const { version, current } = await readCurrent(c);
  if (c.deps.heygen === null || writer === null) {
    throw new RotationError(
      `HeyGen API key is not set: put your key into ${c.deps.apiKeySecretName ?? 'the HeyGen API key secret'}; rotation retries on its schedule`,
    );
  }
  const url = current?.url ?? c.deps.endpointUrl ?? null;
  const endpointId = current?.endpointId ?? (url ? await endpointAt(c.deps.heygen, url, c.deps.signal) : null);
  if (!endpointId) return cancel(c);
  await rotateIntoPending(c, writer, endpointId, url ?? '', version);
  c.log?.info('rotation: HeyGen issued a new secret; stored as AWSPENDING', { token: c.token, endpointId });
  return 'rotated';
}

/** AWSCURRENT's version and value (by VersionId, from the labels DescribeSecret shows). */
async function readCurrent(c: StepContext): Promise<{ version: string | null; current: StoredSigningSecret | null }> {
  const version = labelHolders(await describe(c)).get('AWSCURRENT') ?? null;
  const out = version
    ? await c.deps.secrets.send(new GetSecretValueCommand({ SecretId: c.secretId, VersionId: version }), {
        abortSignal: c.deps.signal,
      })
    : undefined;
  return { version, current: parseStoredSigningSecret(out?.SecretString) };
}

/** The oldest HeyGen endpoint that delivers to `url`, or null. */
async function endpointAt(heygen: HeyGenWebhookApi, url: string, signal: AbortSignal | undefined): Promise<string | null> {
  const target = normalizeUrl(url);
  const found = (await heygen.listEndpoints({ signal }))
    .filter((e) => normalizeUrl(e.url) === target)
    .sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
  return found?.endpoint_id ?? null;
}

/**
 * No endpoint registered yet (the registrar issues the first secret): cancel this rotation. A copy of
 * the current value in AWSPENDING would name no endpoint and fail testSecret on every later attempt,
 * blocking every later rotation.
 */
async function cancel(c: StepContext): Promise<RotationResult> {
  await removePending(c);
  c.log?.warn('rotation: no HeyGen endpoint registered yet; rotation cancelled (the registrar issues the first secret)', {
    token: c.token,
  });
  return 'cancelled';
}

/** rotate-secret under a recorded intent; the answer goes to AWSPENDING before anything else can fail. */
async function rotateIntoPending(
  c: StepContext,
  writer: SecretWriter,
  endpointId: string,
  url: string,
  replaces: string | null,
): Promise<void> {
  try {
    await writer.rotate(endpointId, rotationIdempotencyKey(c.token), replaces, async (rotated) => {
      // From here on HeyGen signs with the new secret: store it before anything else can fail.
      const value = { secret: rotated.secret, endpointId: rotated.endpoint_id, url, replaces };
      await c.store.putPending(c.token, value, c.deps.signal);
    });
  } catch (err) {
    if (err instanceof HeyGenNotFoundError) {
      await writer.clearIntent();
      // Unless another writer's endpoint holds our URL: then the registrar reports second_writer (alarmed)
      // and takes it over only 24 h after its last takeover (a rotation then finishes).
      throw new RotationError(
        `HeyGen endpoint ${endpointId} no longer exists; the registrar registers one at the relay URL on its next run (if it reports second_writer, see that alarm)`,
        { cause: err },
      );
    }
    throw err;
  }
}

async function setSecret(c: StepContext): Promise<RotationResult> {
  c.log?.info('rotation: setSecret has nothing to do', { token: c.token });
  return 'set_noop';
}

async function testSecret(c: StepContext): Promise<RotationResult> {
  const { token } = c;
  const pending = await getPending(c);
  if (pending === undefined) throw new RotationError(`no AWSPENDING value for token ${token}`);
  const parsed = parseStoredSigningSecret(pending);
  if (!parsed?.endpointId) throw new RotationError(`AWSPENDING for token ${token} names no endpoint`);
  const problem = signingSecretProblem(parsed.secret);
  if (problem !== null) throw new RotationError(`AWSPENDING for token ${token} does not hold a usable secret: ${problem}`);
  c.log?.info('rotation: pending value is well-formed', { token });
  return 'tested';
}

/**
 * finishSecret's rules: AWSCURRENT moved since createSecret → superseded (a later writer, under the
 * lease so after this rotation's HeyGen call, stored the secret HeyGen signs with now: ours is dead,
 * dropped); else AWSCURRENT moves to this token (compare-and-set) and AWSPENDING is removed.
 */
async function finishSecret(c: StepContext): Promise<RotationResult> {
  const { token } = c;
  const currentVersion = labelHolders(await describe(c)).get('AWSCURRENT');
  const pending = parseStoredSigningSecret(await getPending(c));
  if (pending?.replaces && currentVersion !== pending.replaces) {
    await removePending(c);
    c.log?.warn('rotation: superseded by a later write; AWSCURRENT left as it is', { token, current: currentVersion });
    return 'superseded';
  }
  try {
    await c.store.moveCurrent(token, currentVersion ?? null, c.deps.signal);
  } catch (err) {
    if (err instanceof SecretVersionConflictError) {
      throw new RotationError('AWSCURRENT moved while finishing (a write outside the lease); Secrets Manager retries this step', {
        cause: err.cause,
      });
    }
    throw err;
  }
  await removePending(c);
  c.log?.info('rotation: AWSCURRENT moved to the new version', { token, previous: currentVersion });
  return 'finished';
}
