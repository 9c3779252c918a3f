/**
 * Registrar core (pure; ports injected): makes sure exactly one HeyGen webhook endpoint points at
 * this relay's URL, subscribes to the configured events, and that we hold its signing secret.
 *
 * One writer at a time: a run holds the lease of the signing secret (core/lease.ts) for all of its
 * changes; a run that finds it busy waits briefly and then reports `busy`. Under the lease:
 * 1. a leftover intent (a provider call that changed the secret, recorded before it was made, by a
 *    holder that died before storing the answer) is replayed with the same Idempotency-Key and the
 *    answer stored;
 * 2. the stored endpoint, if its URL changed (our config, or someone at HeyGen), is PATCHed back to
 *    our URL: the endpoint and its secret stay, nothing delivers elsewhere;
 * 3. absent → create (fresh Idempotency-Key) and store its secret;
 *    present, other events → PATCH events (full replace);
 *    present, no usable secret held for it → rotate-secret under a recorded intent and store;
 *    duplicates at our URL → keep one (the one whose secret we hold, else the oldest), delete others;
 *    a stale pending rotation (AWSPENDING on a value the current moved past) → dropped.
 * Every store is compare-and-set against the version read under the lease; a conflict (someone
 * wrote outside the lease) is re-read, never overwritten blindly.
 * No API key → one clear log line, outcome `missing_api_key`, no throw.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sourceEventKey } from '../../core/event-key.js';
import type { EvidenceStore } from '../../core/evidence.js';
import {
  LeaseBusyError,
  type LeaseGrant,
  type LeaseIntent,
  type LeaseStore,
  MemoryLeaseStore,
  withLease,
} from '../../core/lease.js';
import type { DedupStore, StoredSigningSecret } from '../../core/ports.js';
import { isUsableSigningSecret } from '../../core/secret-quality.js';
import { type SecretSnapshot, SecretVersionConflictError, type SigningSecretStore } from '../../core/secret-store.js';
import type { HeyGenWebhookApi, WebhookEndpoint } from './api/client.js';
import { HeyGenAuthError, HeyGenConflictError, HeyGenNotFoundError } from './api/errors.js';

/** Longer than the registrar's (2 min) and the rotation's (1 min) Lambda timeouts, so a Lambda never outlives its lease. */
export const LEASE_TTL_MS = 240_000;
/** How long a writer waits for a busy lease before reporting `busy`. */
export const LEASE_WAIT_MS = 20_000;

/** Where the one-writer lease of a HeyGen signing secret lives. */
export interface RegistrarLease {
  readonly store: LeaseStore;
  /** The lease's name: one per signing secret (e.g. `heygen:<secret ARN>`). */
  readonly name: string;
  /** This run's identity (unique per run). @default a random UUID */
  readonly owner?: string;
  /** @default LEASE_TTL_MS */
  readonly ttlMs?: number;
  /** @default LEASE_WAIT_MS */
  readonly waitMs?: number;
  /** Injected by tests that run on a virtual clock. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** In-process lease used when none is injected (unit tests, one-off scripts): excludes writers in this process only. */
const processLeases = new MemoryLeaseStore();

export interface DesiredEndpoint {
  /** The relay's public HTTPS URL that HeyGen must deliver to. */
  readonly url: string;
  /**
   * Event types to subscribe to; null = all events; undefined = leave an existing endpoint's
   * events as they are (a new endpoint then gets all events).
   */
  readonly events?: readonly string[] | null;
}

/** The subset of a structured logger the registrar uses (Powertools Logger fits). */
export interface RegistrarLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/**
 * What the registrar reads to know, not believe, that the stored secret is the one HeyGen signs with.
 * The secret is wrong when both hold: the ingress refused a signature after the current secret was
 * stored (plus `graceMs`, which covers a rotation's brief overlap: HeyGen signs with the new secret
 * the moment rotate-secret answers, before AWSPENDING is read), and HeyGen's history lists an event
 * created after that grace and at least `retrySpacingMs` ago (HeyGen's retries had their chance) that
 * the relay never recorded. A quiet account has neither, and stays `in_sync`.
 */
export interface SecretEvidence {
  readonly evidence: EvidenceStore;
  /** The relay source whose evidence this is (a second HeyGen account's own id). @default 'heygen' */
  readonly source?: string;
  readonly history: Pick<Required<HeyGenWebhookApi>, 'listEvents'>;
  /** A read-only lookup of the dedup table (a `record`-mode store). */
  readonly dedup: DedupStore;
  /** @default MISMATCH_GRACE_MS */
  readonly graceMs?: number;
  /** @default MISMATCH_RETRY_SPACING_MS */
  readonly retrySpacingMs?: number;
  /** History pages (of 100) read at most. @default 3 */
  readonly maxPages?: number;
  readonly now?: () => number;
}

/** After the current secret was stored, refusals are not evidence for this long (a rotation's overlap). */
export const MISMATCH_GRACE_MS = 5 * 60_000;
/** A missed event counts only when it is older than this (HeyGen's first retries come within minutes). */
export const MISMATCH_RETRY_SPACING_MS = 10 * 60_000;

export interface RegistrarDeps {
  /** Evidence that the stored secret verifies HeyGen's deliveries; without it `in_sync` rests on the stored state alone. */
  readonly evidence?: SecretEvidence;
  /** HeyGen client; null when no API key is configured yet. */
  readonly client: HeyGenWebhookApi | null;
  readonly secretStore: SigningSecretStore;
  readonly logger?: RegistrarLogger;
  /** Compute the plan, change nothing. */
  readonly dryRun?: boolean;
  /** Where the operator puts the API key (named in the missing-key message). */
  readonly apiKeySecretName?: string;
  /** Overrides the next-step advice of the missing/rejected-key messages (e.g. for the CLI). */
  readonly apiKeyHint?: string;
  readonly signal?: AbortSignal;
  /** The one-writer lease. @default an in-process lease named after the secret store */
  readonly lease?: RegistrarLease;
}

export type ActionStatus = 'planned' | 'done';

export type ReconcileAction =
  | {
      readonly type: 'create';
      readonly reason: 'absent' | 'deleted_behind_our_back';
      readonly url: string;
      readonly events: readonly string[] | null;
      readonly idempotencyKey: string;
      endpointId?: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'update';
      readonly endpointId: string;
      readonly from: readonly string[] | null;
      readonly to: readonly string[] | null;
      status: ActionStatus;
    }
  | {
      readonly type: 'rotate';
      readonly endpointId: string;
      readonly reason: 'no_secret_stored' | 'secret_for_other_endpoint' | 'unusable_secret_stored';
      readonly idempotencyKey: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'delete';
      readonly endpointId: string;
      readonly reason: 'duplicate';
      status: ActionStatus;
    }
  | {
      readonly type: 'recover';
      readonly endpointId: string;
      readonly op: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'update_url';
      readonly endpointId: string;
      readonly from: string;
      readonly to: string;
      status: ActionStatus;
    }
  | {
      readonly type: 'drop_pending';
      readonly reason: 'stale_rotation';
      status: ActionStatus;
    }
  | {
      readonly type: 'resync';
      readonly endpointId: string;
      readonly reason: 'secret_mismatch';
      readonly idempotencyKey: string;
      /** The evidence: the last signature refusal, and one event HeyGen delivered that the relay never recorded. */
      readonly lastSignatureRejectionAt: string;
      readonly missedEvent: { readonly eventId: string; readonly type: string; readonly createdAt: string };
      status: ActionStatus;
    }
  | {
      readonly type: 'store_secret';
      readonly endpointId: string;
      readonly store: string;
      status: ActionStatus;
    };

export type ReconcileOutcome =
  | 'in_sync'
  | 'changed'
  | 'planned'
  | 'secret_mismatch'
  | 'missing_api_key'
  | 'unauthorized'
  | 'busy';

export interface ReconcileSummary {
  readonly outcome: ReconcileOutcome;
  readonly dryRun: boolean;
  readonly found: {
    /** Endpoints in the HeyGen account (null when HeyGen was not asked). */
    readonly total: number | null;
    /** Ids of the endpoints that point at our URL, before any change. */
    readonly matching: readonly string[];
    readonly storedEndpointId: string | null;
    readonly storedSecret: boolean;
  };
  readonly actions: readonly ReconcileAction[];
  /** The endpoint that now (or, in a dry run, would) deliver to us. */
  readonly endpointId: string | null;
  readonly warnings: readonly string[];
  /** Human-readable next step for `missing_api_key` / `unauthorized`. */
  readonly message?: string;
  /** How long a rotation has been pending (AWSPENDING holds a value on another version), in seconds; 0 when none. */
  readonly pendingRotationAgeSeconds?: number;
  /**
   * Age of the current signing secret (AWSCURRENT's version, from its CreatedDate as the run read
   * it; 0 when the run stored it), in seconds; absent when no secret is stored or its date is unknown.
   */
  readonly signingSecretAgeSeconds?: number;
}

/** The current secret's age in seconds as `snapshot` shows it (0 when `storedNow`), or undefined. */
function secretAgeSeconds(snapshot: SecretSnapshot | null, storedNow: boolean): number | undefined {
  if (!snapshot?.current?.secret) return undefined;
  if (storedNow) return 0;
  if (snapshot.currentCreatedAt === undefined) return undefined;
  return Math.max(0, Math.round((Date.now() - snapshot.currentCreatedAt) / 1000));
}

const ageField = (age: number | undefined) => (age === undefined ? {} : { signingSecretAgeSeconds: age });

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function canonicalEvents(events: readonly string[] | null | undefined): string[] | null {
  if (events === null || events === undefined) return null;
  return [...new Set(events)].sort();
}

function sameEvents(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  const ca = canonicalEvents(a);
  const cb = canonicalEvents(b);
  if (ca === null || cb === null) return ca === cb;
  return ca.length === cb.length && ca.every((e, i) => e === cb[i]);
}

export function normalizeUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

/**
 * Idempotency-Key for a change the registrar makes at HeyGen (create an endpoint, or rotate the
 * secret of one it adopts).
 *
 * HeyGen replays its first answer to a key for 24 hours. That is what makes a retry safe (the
 * client's own retries, or the replay of a recorded intent, get the same endpoint or secret back
 * instead of a second create or rotation), and also what makes a reused key dangerous: a key sent
 * again for a *new* change within 24 h would be answered with the old change's secret, which a
 * later rotation may have killed already. So each planned change gets a key of its own, derived
 * from the state it replaces (the stored version, the endpoint) and the lease's fence, which grows
 * with every grant and is never reused. A key is sent twice only to replay a recorded intent, and
 * then it asks for exactly that change: within 24 h HeyGen answers with the same secret, after
 * that it rotates once more; either answer is the secret HeyGen signs with now, because every
 * lease holder replays a leftover intent before it changes anything else at HeyGen.
 */
export function changeIdempotencyKey(
  purpose: 'create' | 'adopt' | 'resync',
  lease: { readonly name: string; readonly fence: number },
  base: string | null,
  target: string,
): string {
  const material = JSON.stringify({ purpose, lease: lease.name, fence: lease.fence, base, target });
  return `hgr-${purpose}-${sha(material).slice(0, 48)}`;
}

function pickKeeper(matching: readonly WebhookEndpoint[], stored: StoredSigningSecret | null): WebhookEndpoint | undefined {
  const ours = matching.find((e) => e.endpoint_id === stored?.endpointId);
  if (ours) return ours;
  return [...matching].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.endpoint_id.localeCompare(b.endpoint_id))[0];
}

/** We hold the secret of `endpointId`: a usable secret is stored for that very endpoint. */
export function holdsSecretFor(stored: StoredSigningSecret | null, endpointId: string): boolean {
  return stored?.endpointId === endpointId && isUsableSigningSecret(stored.secret);
}

/**
 * What a writer holding the lease may do to HeyGen's secret: record the intent, call HeyGen, store
 * the answer compare-and-set, clear the intent. Shared by the registrar and the rotation function.
 */
export class SecretWriter {
  /** The intent recorded now (the leftover one until it is replayed or cleared). */
  private intent: LeaseIntent | null;

  constructor(
    private readonly grant: LeaseGrant,
    private readonly leases: LeaseStore,
    private readonly client: HeyGenWebhookApi,
    readonly store: SigningSecretStore,
    private readonly signal?: AbortSignal,
    private readonly now: () => number = Date.now,
  ) {
    this.intent = grant.intent;
  }

  get fence(): { readonly name: string; readonly fence: number } {
    return this.grant;
  }

  /** The intent a dead holder left, if any (cleared by {@link recover}). */
  get leftover(): LeaseIntent | null {
    return this.grant.intent;
  }

  /**
   * Rotates `endpointId`'s secret at HeyGen with `key`, recording the intent first, and hands the
   * answer to `store` (which must persist it); clears the intent once stored. From the moment
   * HeyGen answers, only the returned secret verifies deliveries.
   */
  async rotate(
    endpointId: string,
    key: string,
    base: string | null,
    store: (rotated: { endpoint_id: string; secret: string }) => Promise<void>,
    op = 'rotate',
  ): Promise<void> {
    await this.setIntent({ op, endpointId, key, base, at: this.now() });
    const rotated = await this.client.rotateSecret(endpointId, { idempotencyKey: key, signal: this.signal });
    await store(rotated);
    await this.setIntent(null);
  }

  /**
   * Creates an endpoint at HeyGen with `key`, recording the intent (with the request body) first, so
   * a holder that dies before storing the new endpoint's secret leaves enough to replay it. The
   * caller stores the secret and then clears the intent.
   */
  async create(
    body: { url: string; events: readonly string[] | null },
    key: string,
    base: string | null,
  ): Promise<WebhookEndpoint> {
    await this.setIntent({ op: 'create', endpointId: '', key, base, at: this.now(), url: body.url, events: body.events });
    return this.client.createEndpoint(body, { idempotencyKey: key, signal: this.signal });
  }

  /**
   * Stores `value` as current over whatever is stored now. Only for a secret HeyGen just issued
   * under this lease (it is the newest one HeyGen has): a version conflict means someone wrote
   * outside the lease (a person with put-secret-value), and their value is older than ours, so we
   * re-read and store again; each attempt first confirms we still hold the lease.
   */
  async storeIssued(value: { secret: string; endpointId: string; url: string }, expected: string | null): Promise<string> {
    let base = expected;
    for (let attempt = 1; ; attempt++) {
      await this.leases.setIntent(this.grant, this.intent, this.signal); // still ours? (throws LeaseLostError)
      try {
        return await this.store.put(value, base, this.signal);
      } catch (err) {
        if (!(err instanceof SecretVersionConflictError) || attempt >= 3) throw err;
        base = (await this.store.read(this.signal)).version;
      }
    }
  }

  /** Clears the recorded intent (after it was resolved another way, or turned out moot). */
  async clearIntent(): Promise<void> {
    await this.setIntent(null);
  }

  private async setIntent(intent: LeaseIntent | null): Promise<void> {
    await this.leases.setIntent(this.grant, intent, this.signal);
    this.intent = intent;
  }
}

interface RunContext {
  readonly desired: DesiredEndpoint;
  readonly deps: RegistrarDeps;
  readonly client: HeyGenWebhookApi;
  readonly actions: ReconcileAction[];
  readonly warnings: string[];
}

export async function reconcile(desired: DesiredEndpoint, deps: RegistrarDeps): Promise<ReconcileSummary> {
  const dryRun = deps.dryRun === true;
  const log = deps.logger;
  const actions: ReconcileAction[] = [];
  const warnings: string[] = [];
  const apiKeyWhere = deps.apiKeySecretName ?? 'the HeyGen API key secret';
  /** The summary of a run that stopped before reading HeyGen's endpoints (no key, a refused key, a busy lease). */
  const stoppedEarly = async (
    outcome: 'missing_api_key' | 'unauthorized' | 'busy',
    message: string,
  ): Promise<ReconcileSummary> => {
    const snapshot = await deps.secretStore.read(deps.signal).catch(() => null);
    const stored = snapshot?.current ?? null;
    return {
      outcome,
      dryRun,
      found: { total: null, matching: [], storedEndpointId: stored?.endpointId ?? null, storedSecret: Boolean(stored?.secret) },
      actions,
      endpointId: stored?.endpointId ?? null,
      warnings,
      message,
      ...ageField(secretAgeSeconds(snapshot, false)),
    };
  };

  if (deps.client === null) {
    const message = `HeyGen API key is not set: ${deps.apiKeyHint ?? `put your key into ${apiKeyWhere} (SecretString = the key, or {"apiKey": "..."}). The registrar retries on its schedule.`}`;
    log?.warn(message, { outcome: 'missing_api_key', apiKeySecret: apiKeyWhere });
    return stoppedEarly('missing_api_key', message);
  }
  const ctx: RunContext = { desired, deps, client: deps.client, actions, warnings };
  try {
    if (dryRun) return await run(ctx, null);
    const lease = deps.lease ?? { store: processLeases, name: `heygen:${deps.secretStore.name}` };
    return await withLease(
      lease.store,
      lease.name,
      {
        owner: lease.owner ?? `registrar-${randomUUID()}`,
        ttlMs: lease.ttlMs ?? LEASE_TTL_MS,
        waitMs: lease.waitMs ?? LEASE_WAIT_MS,
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(lease.sleep ? { sleep: lease.sleep } : {}),
        ...(lease.now ? { now: lease.now } : {}),
      },
      async (grant) => {
        const writer = new SecretWriter(grant, lease.store, ctx.client, deps.secretStore, deps.signal, lease.now);
        // A write outside the lease (a person's put-secret-value) between our read and our store
        // makes the store fail its version check: start over from a fresh read, at most twice more.
        for (let attempt = 1; ; attempt++) {
          try {
            return await run(ctx, writer);
          } catch (err) {
            if (!(err instanceof SecretVersionConflictError) || attempt >= 3) throw err;
            log?.warn('the signing secret changed outside the lease during the run; re-reading', { attempt });
            actions.length = 0;
            warnings.length = 0;
          }
        }
      },
    );
  } catch (err) {
    if (err instanceof LeaseBusyError) {
      log?.warn('another writer holds the lease; this run changes nothing', { outcome: 'busy', holder: err.holder });
      return stoppedEarly('busy', err.message);
    }
    if (err instanceof HeyGenAuthError) {
      const message = `HeyGen rejected the API key (HTTP ${err.status}): ${deps.apiKeyHint ?? `put a valid key into ${apiKeyWhere}. The registrar retries on its schedule.`}`;
      log?.error(message, { outcome: 'unauthorized', apiKeySecret: apiKeyWhere, requestId: err.requestId });
      return stoppedEarly('unauthorized', message);
    }
    throw err;
  }
}

/** One pass; `writer` is null in a dry run (plan only). */
async function run(ctx: RunContext, writer: SecretWriter | null): Promise<ReconcileSummary> {
  const { desired, deps, client, actions, warnings } = ctx;
  const dryRun = writer === null;
  const call = { signal: deps.signal };
  const target = normalizeUrl(desired.url);
  const log = deps.logger;

  // 1. A change a dead holder made at HeyGen and never stored: replay it, store the answer.
  const leftover = writer?.leftover ?? null;
  if (writer && leftover) {
    const action: ReconcileAction = { type: 'recover', endpointId: leftover.endpointId, op: leftover.op, status: 'planned' };
    actions.push(action);
    const before = await deps.secretStore.read(deps.signal);
    if (leftover.op === 'create') {
      // The same request under the same key: within HeyGen's 24 h HeyGen answers with the endpoint it
      // created then (it may have been moved to another URL or deleted since); after that, the replay
      // creates one, which is ours as well. Either way we now know it and hold its secret; step 2
      // brings it back to our URL and step 5 removes duplicates.
      const replayed = await writer.create(
        { url: leftover.url ?? desired.url, events: leftover.events ?? null },
        leftover.key,
        before.version,
      );
      const exists = (await client.listEndpoints(call)).some((e) => e.endpoint_id === replayed.endpoint_id);
      if (exists && replayed.secret)
        await storeIssued(writer, before, replayed.endpoint_id, replayed.secret, desired.url, actions);
      await writer.clearIntent();
    } else {
      try {
        await writer.rotate(
          leftover.endpointId,
          leftover.key,
          leftover.base,
          async (rotated) => {
            await storeIssued(writer, before, rotated.endpoint_id, rotated.secret, desired.url, actions);
          },
          leftover.op,
        );
      } catch (err) {
        if (!(err instanceof HeyGenNotFoundError)) throw err;
        await writer.clearIntent(); // the endpoint is gone: nothing to recover, the run re-creates it
      }
    }
    action.status = 'done';
    log?.warn('replayed a secret change a previous writer made at HeyGen and never stored', {
      op: leftover.op,
      endpointId: leftover.endpointId,
    });
  }

  let snapshot = await deps.secretStore.read(deps.signal);
  const stored = snapshot.current;
  let endpoints = await client.listEndpoints(call);
  const total = endpoints.length;
  const matchingIds = endpoints.filter((e) => normalizeUrl(e.url) === target).map((e) => e.endpoint_id);

  // 2. Our endpoint (the one whose secret we hold) delivering somewhere else: bring it back.
  const ownById = stored?.endpointId ? endpoints.find((e) => e.endpoint_id === stored.endpointId) : undefined;
  if (ownById && normalizeUrl(ownById.url) !== target) {
    const action: ReconcileAction = {
      type: 'update_url',
      endpointId: ownById.endpoint_id,
      from: ownById.url,
      to: desired.url,
      status: 'planned',
    };
    actions.push(action);
    if (!dryRun) {
      const updated = await client.updateEndpoint(ownById.endpoint_id, { url: desired.url }, call);
      action.status = 'done';
      endpoints = endpoints.map((e) => (e.endpoint_id === updated.endpoint_id ? { ...e, ...updated, url: desired.url } : e));
    } else {
      endpoints = endpoints.map((e) => (e.endpoint_id === ownById.endpoint_id ? { ...e, url: desired.url } : e));
    }
  }
  let matching = endpoints.filter((e) => normalizeUrl(e.url) === target);
  let keeper = pickKeeper(matching, stored);
  let secretSecured = false;

  // 3a. None at our URL: create one and store its secret.
  if (!keeper) {
    const action: Extract<ReconcileAction, { type: 'create' }> = {
      type: 'create',
      reason: stored?.endpointId ? 'deleted_behind_our_back' : 'absent',
      url: desired.url,
      events: canonicalEvents(desired.events),
      idempotencyKey: writer ? changeIdempotencyKey('create', writer.fence, snapshot.version, target) : '(assigned when run)',
      status: 'planned',
    };
    actions.push(action);
    if (writer) {
      try {
        const created = await writer.create({ url: desired.url, events: action.events }, action.idempotencyKey, snapshot.version);
        action.status = 'done';
        action.endpointId = created.endpoint_id;
        keeper = created;
        if (created.secret) {
          snapshot = await storeIssued(writer, snapshot, created.endpoint_id, created.secret, desired.url, actions);
          secretSecured = true;
        } else {
          warnings.push('create answered without a secret; adopting via rotate-secret');
        }
        await writer.clearIntent();
      } catch (err) {
        // Someone (a person, or a relay in another account) created it between our list and our create.
        if (!(err instanceof HeyGenConflictError) || err.code !== 'conflict') throw err;
        await writer.clearIntent(); // HeyGen refused it: nothing was created
        log?.warn('create hit 409 conflict; re-reading the endpoint list', { url: desired.url });
        actions.pop();
        endpoints = await client.listEndpoints(call);
        matching = endpoints.filter((e) => normalizeUrl(e.url) === target);
        keeper = pickKeeper(matching, stored);
        if (!keeper) throw err;
      }
    } else {
      secretSecured = true; // a create would bring its secret along
    }
  }

  const createdNow = actions.some((a) => a.type === 'create' && a.status === 'done');
  if (keeper && !(createdNow && secretSecured)) {
    // 3b. The endpoint existed: converge its events and make sure we hold its secret.
    if (!createdNow && desired.events !== undefined && !sameEvents(keeper.events, desired.events)) {
      const action: ReconcileAction = {
        type: 'update',
        endpointId: keeper.endpoint_id,
        from: keeper.events ?? null,
        to: canonicalEvents(desired.events ?? null),
        status: 'planned',
      };
      actions.push(action);
      if (!dryRun) {
        await client.updateEndpoint(keeper.endpoint_id, { events: action.to }, call);
        action.status = 'done';
      }
    }
    if (keeper.status !== 'enabled') {
      warnings.push(`endpoint ${keeper.endpoint_id} is '${keeper.status}' at HeyGen; the v3 API documents no way to enable it`);
    }
    if (!holdsSecretFor(stored, keeper.endpoint_id) && !secretSecured) {
      const action: ReconcileAction = {
        type: 'rotate',
        endpointId: keeper.endpoint_id,
        reason: !stored?.secret
          ? 'no_secret_stored'
          : stored.endpointId === keeper.endpoint_id
            ? 'unusable_secret_stored'
            : stored.endpointId
              ? 'secret_for_other_endpoint'
              : 'no_secret_stored',
        idempotencyKey: writer
          ? changeIdempotencyKey('adopt', writer.fence, snapshot.version, keeper.endpoint_id)
          : '(assigned when run)',
        status: 'planned',
      };
      actions.push(action);
      if (writer) {
        const base = snapshot;
        await writer.rotate(keeper.endpoint_id, action.idempotencyKey, base.version, async (rotated) => {
          action.status = 'done';
          snapshot = await storeIssued(writer, base, keeper.endpoint_id, rotated.secret, desired.url, actions);
        });
      }
    }
  }

  // 4. A pending rotation that the current value has moved past (its secret is dead): drop it, so
  // the ingress stops accepting it and the next rotation is not refused.
  const pending = snapshot.pending;
  if (pending?.value?.secret && pending.value.replaces !== undefined && pending.value.replaces !== snapshot.version) {
    const action: ReconcileAction = { type: 'drop_pending', reason: 'stale_rotation', status: 'planned' };
    actions.push(action);
    if (writer && deps.secretStore.dropPending) {
      await deps.secretStore.dropPending(pending.version, deps.signal);
      action.status = 'done';
    }
  } else if (pending?.value?.secret) {
    warnings.push('a rotation is in progress (AWSPENDING holds the new secret); it finishes on its own');
  }

  // 5. Duplicates: everything at our URL except the keeper.
  for (const extra of matching) {
    if (!keeper || extra.endpoint_id === keeper.endpoint_id) continue;
    const action: ReconcileAction = { type: 'delete', endpointId: extra.endpoint_id, reason: 'duplicate', status: 'planned' };
    actions.push(action);
    if (!dryRun) {
      try {
        await client.deleteEndpoint(extra.endpoint_id, call);
      } catch (err) {
        if (!(err instanceof HeyGenNotFoundError)) throw err; // already gone: fine
      }
      action.status = 'done';
    }
  }

  // 6. Nothing to change by the stored state: ask the evidence whether HeyGen really signs with our secret.
  if (actions.length === 0 && keeper && deps.evidence && !snapshot.pending?.value?.secret) {
    const found = await secretMismatch(deps.evidence, snapshot, deps.signal);
    if (found) {
      const action: Extract<ReconcileAction, { type: 'resync' }> = {
        type: 'resync',
        endpointId: keeper.endpoint_id,
        reason: 'secret_mismatch',
        // A key of its own (purpose, fence, version): never one whose 24 h replay could hand back a dead secret.
        idempotencyKey: writer
          ? changeIdempotencyKey('resync', writer.fence, snapshot.version, keeper.endpoint_id)
          : '(assigned when run)',
        lastSignatureRejectionAt: new Date(found.rejectedAt).toISOString(),
        missedEvent: found.missed,
        status: 'planned',
      };
      actions.push(action);
      log?.error('the stored signing secret is not the one HeyGen signs with: re-synchronizing', {
        outcome: 'secret_mismatch',
        endpointId: keeper.endpoint_id,
        lastSignatureRejectionAt: action.lastSignatureRejectionAt,
        missedEvent: found.missed,
      });
      if (writer) {
        const base = snapshot;
        const endpointId = keeper.endpoint_id;
        await writer.rotate(endpointId, action.idempotencyKey, base.version, async (rotated) => {
          action.status = 'done';
          snapshot = await storeIssued(writer, base, endpointId, rotated.secret, desired.url, actions);
        });
      }
    }
  }

  for (const w of warnings) log?.warn(w, { endpointId: keeper?.endpoint_id });
  return {
    outcome: actions.some((a) => a.type === 'resync')
      ? 'secret_mismatch'
      : actions.length === 0
        ? 'in_sync'
        : dryRun
          ? 'planned'
          : 'changed',
    dryRun,
    found: { total, matching: matchingIds, storedEndpointId: stored?.endpointId ?? null, storedSecret: Boolean(stored?.secret) },
    actions,
    endpointId: keeper?.endpoint_id ?? null,
    warnings,
    pendingRotationAgeSeconds:
      snapshot.pending?.value?.secret && !actions.some((a) => a.type === 'drop_pending' && a.status === 'done')
        ? Math.max(0, Math.round((Date.now() - (snapshot.pending.createdAt ?? Date.now())) / 1000))
        : 0,
    // `snapshot` is what the run read, or what it stored (storeIssued): then the secret is brand new.
    ...ageField(
      secretAgeSeconds(
        snapshot,
        actions.some((a) => a.type === 'store_secret' && a.status === 'done'),
      ),
    ),
  };
}

/** The evidence rule of {@link SecretEvidence}: the refusal and the missed event, or null. */
async function secretMismatch(
  e: SecretEvidence,
  snapshot: SecretSnapshot,
  signal?: AbortSignal,
): Promise<{ rejectedAt: number; missed: { eventId: string; type: string; createdAt: string } } | null> {
  const now = (e.now ?? Date.now)();
  const from = (snapshot.currentCreatedAt ?? 0) + (e.graceMs ?? MISMATCH_GRACE_MS);
  const until = now - (e.retrySpacingMs ?? MISMATCH_RETRY_SPACING_MS);
  const { lastSignatureRejectionAt: rejectedAt, lastMissedAt } = await e.evidence.read(e.source ?? 'heygen', signal);
  if (rejectedAt === null || rejectedAt < from || from > until) return null;
  // The backfill may have recovered the missed events already (it records when): that is the evidence too.
  if (lastMissedAt !== null && lastMissedAt >= from)
    return {
      rejectedAt,
      missed: { eventId: '(recovered by the backfill)', type: '', createdAt: new Date(lastMissedAt).toISOString() },
    };
  let token: string | undefined;
  for (let page = 0; page < (e.maxPages ?? 3); page++) {
    const got = await e.history.listEvents({ limit: 100, ...(token ? { token } : {}) }, { ...(signal ? { signal } : {}) });
    for (const entry of got.events) {
      const created = Date.parse(entry.createdAt);
      if (!(created >= from && created <= until)) continue;
      const key = sourceEventKey(e.source ?? 'heygen', entry.eventKey);
      if ((await e.dedup.claim(key, `registrar-${randomUUID()}`, signal)) !== 'claimed') continue;
      return { rejectedAt, missed: { eventId: entry.eventId, type: entry.eventType, createdAt: entry.createdAt } };
    }
    const oldest = got.events.at(-1);
    if (got.nextToken === null || (oldest && Date.parse(oldest.createdAt) < from)) return null;
    token = got.nextToken;
  }
  return null;
}

/** Stores a secret HeyGen just issued (see SecretWriter.storeIssued) and returns the snapshot after it. */
async function storeIssued(
  writer: SecretWriter,
  before: SecretSnapshot,
  endpointId: string,
  secret: string,
  url: string,
  actions: ReconcileAction[],
): Promise<SecretSnapshot> {
  const action: ReconcileAction = { type: 'store_secret', endpointId, store: writer.store.name, status: 'planned' };
  actions.push(action);
  const version = await writer.storeIssued({ secret, endpointId, url }, before.version);
  action.status = 'done';
  return { version, current: { secret, endpointId, url }, pending: null };
}
