/**
 * Registrar core (pure; ports injected): makes sure exactly one HeyGen webhook endpoint points at
 * this relay's URL, subscribes to the configured events, and that we hold its signing secret.
 *
 * One writer at a time: a run holds the lease of the signing secret (core/lease.ts) for all of its
 * changes; a run that finds it busy waits briefly and then reports `busy`. Under the lease, a
 * leftover intent (a provider call that changed the secret, recorded before it was made, by a holder
 * that died before storing the answer) is replayed first with the same Idempotency-Key and the answer
 * stored; then the rules of REGISTRAR_RULES apply in order (what the run finds → what it does; the
 * same table is in docs/heygen-registrar.md), and REGISTRAR_OUTCOMES names the outcome.
 * Every store is compare-and-set against the version read under the lease; a conflict (someone
 * wrote outside the lease) is re-read, never overwritten blindly.
 * No API key → one clear log line, outcome `missing_api_key`, no throw.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sourceEventKey } from '../../../functions/core/event-key.js';
import type { EvidenceStore, RefusedKey } from '../../../functions/core/evidence.js';
import type { HealJournal, Takeover, TakeoverKind } from '../../../functions/core/heal-journal.js';
import {
  LeaseBusyError,
  type LeaseGrant,
  type LeaseIntent,
  type LeaseStore,
  MemoryLeaseStore,
  withLease,
} from '../../../functions/core/lease.js';
import type { DedupStore, StoredSigningSecret } from '../../../functions/core/ports.js';
import { isUsableSigningSecret } from '../../../functions/core/secret-quality.js';
import {
  type SecretSnapshot,
  SecretVersionConflictError,
  type SigningSecretStore,
} from '../../../functions/core/secret-store.js';
import type { HeyGenWebhookApi, HistoryEvent, WebhookEndpoint } from './api/client.js';
import { HeyGenApiError, HeyGenAuthError, HeyGenConflictError, HeyGenNotFoundError } from './api/errors.js';
import { addressedToUs, CLOCK_SKEW_MS, missedForTheClock, proofWindow, refusalOfEntry } from './proof.js';
import { normalizeUrl } from './route-url.js';
import { type DatedSighting, type SightingInbox, sightingOf } from './sightings.js';
import { sameSet } from './subscription-log.js';

/**
 * After this many 5xx answers to a recorded intent's call (its first call and replays with the same
 * key), the next holder makes the change under a fresh key: HeyGen may replay a 5xx answer for a key
 * it processed for 24 h, and the relay must not stay blocked that long. Safe: a 5xx is an answer, so
 * no call with the old key is still in flight at HeyGen to change the secret after ours.
 */
export const MAX_REPLAY_FAILURES = 3;

/** HeyGen answered the call with a 5xx (not a lost connection or a timeout: those may still be processing). */
function answeredServerError(err: unknown): boolean {
  return err instanceof HeyGenApiError && err.status >= 500;
}

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
  /** The dedup window (how long a record lives): only entries well inside it can prove a miss. @default 48 h */
  readonly dedupWindowMs?: number;
  readonly now?: () => number;
}

/** The relay's default dedup window (`dedupWindow`). */
export const DEFAULT_DEDUP_WINDOW_MS = 48 * 3_600_000;

export { MISMATCH_GRACE_MS, MISMATCH_RETRY_SPACING_MS } from './proof.js';

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
  /**
   * Where the registrar remembers its takeovers (adopts and heals); with it, a second takeover within
   * HEAL_RATE_WINDOW_MS stops instead (outcome `second_writer`). Without it (the CLI) nothing is limited.
   */
  readonly heals?: HealJournal;
  /** The clock of the heal journal. @default the evidence's, the lease's, or Date.now */
  readonly now?: () => number;
  /**
   * Where the run tells the backfill's subscription log what it saw of our endpoint (sightings.ts):
   * before its first change at HeyGen (a failed record fails the run first), after its changes, and
   * when what it saw is not the configured set. Absent: nothing is told.
   */
  readonly sightings?: Pick<SightingInbox, 'record'>;
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
      /** `create_answer_lost`: the endpoint a dead holder created and never stored, found in HeyGen's list. */
      readonly reason: 'no_secret_stored' | 'secret_for_other_endpoint' | 'unusable_secret_stored' | 'create_answer_lost';
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
      /** The recorded key failed MAX_REPLAY_FAILURES times: the change was made under a fresh key. */
      readonly freshKey?: true;
      readonly replayFailures?: number;
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
  /** Our endpoint is disabled at HeyGen: nothing is delivered until a person enables it in HeyGen's dashboard. */
  | 'endpoint_disabled'
  /** Another writer keeps changing the secret: a second takeover within 24 h was not made (see SECOND_WRITER_MESSAGE). */
  | 'second_writer'
  /**
   * A run died between HeyGen's create and storing its answer, HeyGen no longer replays that create,
   * and an endpoint at another URL fits it (made then, with our events): it may be ours, moved by a
   * person, or a neighbour's made at the same time. It is never taken; a person checks (STRAY_MESSAGE).
   */
  | 'stray_endpoint'
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
function secretAgeSeconds(snapshot: SecretSnapshot | null, storedNow: boolean, now: number): number | undefined {
  if (!snapshot?.current?.secret) return undefined;
  if (storedNow) return 0;
  if (snapshot.currentCreatedAt === undefined) return undefined;
  return Math.max(0, Math.round((now - snapshot.currentCreatedAt) / 1000));
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

export { normalizeUrl } from './route-url.js';

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
  purpose: 'create' | 'adopt' | 'resync' | 'recover',
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
   * HeyGen answers, only the returned secret verifies deliveries. `beforeCall` runs once the intent
   * is recorded and before HeyGen is called (a heal journals itself there: counted from its intent).
   */
  async rotate(
    endpointId: string,
    key: string,
    base: string | null,
    store: (rotated: { endpoint_id: string; secret: string }) => Promise<void>,
    op = 'rotate',
    beforeCall?: (intent: LeaseIntent) => Promise<void>,
  ): Promise<void> {
    // A replay of the recorded intent (same key) keeps its count of failed answers.
    const prior = this.intent?.key === key && this.intent.endpointId === endpointId ? this.intent : null;
    const intent: LeaseIntent = { op, endpointId, key, base, at: prior?.at ?? this.now() };
    await this.setIntent(prior?.replayFailures ? { ...intent, replayFailures: prior.replayFailures } : intent);
    await beforeCall?.(intent);
    let rotated: { endpoint_id: string; secret: string };
    try {
      rotated = await this.client.rotateSecret(endpointId, { idempotencyKey: key, signal: this.signal });
    } catch (err) {
      if (answeredServerError(err)) await this.countReplayFailure();
      throw err;
    }
    await store(rotated);
    await this.setIntent(null);
  }

  /** The recorded intent failed with a 5xx answer once more: counted in the intent (see MAX_REPLAY_FAILURES). */
  private async countReplayFailure(): Promise<void> {
    const intent = this.intent;
    if (!intent) return;
    try {
      await this.setIntent({ ...intent, replayFailures: (intent.replayFailures ?? 0) + 1 });
    } catch {
      // Lost the lease: the next holder counts from what was recorded.
    }
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
    marks: Pick<LeaseIntent, 'secondWriter'> = {},
  ): Promise<WebhookEndpoint> {
    // A replay of the recorded create (same key) keeps its mark and the first call's time (HeyGen's
    // 24 h for the key run from it, not from the replay): a replaying run may die too.
    const prior = this.intent?.op === 'create' && this.intent.key === key ? this.intent : null;
    await this.setIntent({
      ...(prior?.secondWriter ? { secondWriter: true as const } : {}),
      op: 'create',
      endpointId: '',
      key,
      base,
      at: prior?.at ?? this.now(),
      url: body.url,
      events: body.events,
      ...marks,
    });
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
  /** Our endpoint, when HeyGen lists it as not enabled. */
  disabled?: string;
  /** Set when a takeover was not made because another one happened within HEAL_RATE_WINDOW_MS. */
  secondWriter?: string;
  /** Set when a lost create may have left an endpoint of ours at another URL (outcome `stray_endpoint`). */
  stray?: string;
}

/** One rule of a registrar run: what it finds, what it does, and the takeover that stops it. */
export interface RegistrarRule {
  readonly rule: RegistrarRuleId;
  /** What the run observes (HeyGen's endpoints, the stored secret, the evidence). */
  readonly finds: string;
  readonly does: string;
  /** The actions it reports (`actions[].type`). */
  readonly actions: readonly ReconcileAction['type'][];
  /**
   * The takeover it counts as: when the heal journal holds a recent one of the same kind (a second
   * adopt or heal within 24 h, or a patch setting back what our last patch set), the rule is not
   * applied and the run's outcome is `second_writer`.
   */
  readonly guard: TakeoverKind | null;
}

export type RegistrarRuleId =
  | 'url_moved'
  | 'absent'
  | 'events_differ'
  | 'disabled'
  | 'secret_not_held'
  | 'stale_pending'
  | 'rotation_in_progress'
  | 'duplicates'
  | 'proof_of_mismatch';

/**
 * The registrar's rules, applied in this order after a leftover intent is replayed (recoverLeftover).
 * docs/heygen-registrar.md shows this table; a test checks that both agree row for row.
 */
export const REGISTRAR_RULES: readonly RegistrarRule[] = [
  {
    rule: 'url_moved',
    finds: 'our endpoint (the stored `endpointId`) at another URL',
    does: 'PATCHes its URL back to ours (HeyGen answers 409: another endpoint has our URL now, the rules below adopt it)',
    actions: ['update_url'],
    guard: 'patch',
  },
  {
    rule: 'absent',
    finds: 'no endpoint at our URL (none yet, or the stored one deleted)',
    does: 'creates one (fresh key, intent recorded first) and stores its secret (409: adopts the one made meanwhile)',
    actions: ['create', 'store_secret'],
    guard: null,
  },
  {
    rule: 'events_differ',
    finds: 'an existing endpoint whose events differ from `events`',
    does: 'PATCHes `events` (HeyGen replaces the whole list)',
    actions: ['update'],
    guard: 'patch',
  },
  {
    rule: 'disabled',
    finds: 'our endpoint not `enabled` at HeyGen',
    does: 'warns, and never heals (the v3 API cannot enable it: a person does, in the HeyGen dashboard)',
    actions: [],
    guard: null,
  },
  {
    rule: 'secret_not_held',
    finds: 'an endpoint whose secret we do not hold (nothing stored, another `endpointId`, a placeholder)',
    does: 'calls `rotate-secret` (fresh key, intent recorded first) and stores the answer',
    actions: ['rotate', 'store_secret'],
    guard: 'adopt',
  },
  {
    rule: 'stale_pending',
    finds: 'AWSPENDING holding a value of a rotation the current value has moved past',
    does: 'drops it (its secret is dead, and it would block the next rotation)',
    actions: ['drop_pending'],
    guard: null,
  },
  {
    rule: 'rotation_in_progress',
    finds: 'AWSPENDING holding the new secret of a rotation in progress',
    does: 'leaves it (a warning): it finishes on its own; no heal meanwhile',
    actions: [],
    guard: null,
  },
  {
    rule: 'duplicates',
    finds: 'several endpoints at our URL',
    does: 'keeps the one whose secret we hold, else the oldest, and deletes the others',
    actions: ['delete'],
    guard: null,
  },
  {
    rule: 'proof_of_mismatch',
    finds: 'nothing to change by state, but proof that HeyGen signs with another secret',
    does: 'rotates under a key of its own and stores the answer',
    actions: ['resync', 'store_secret'],
    guard: 'heal',
  },
];

/** The run's outcome: the first row that holds (a dry run reports `planned` instead of `changed`). */
export const REGISTRAR_OUTCOMES: readonly { readonly outcome: ReconcileOutcome; readonly when: string }[] = [
  {
    outcome: 'second_writer',
    when: 'a rule was stopped by its guard (a recent takeover of its kind), or the run replays, within 24 h, the create a run made after stopping one',
  },
  {
    outcome: 'stray_endpoint',
    when: 'a create HeyGen no longer replays was never stored, and an endpoint at another URL fits it (never taken: it may be a neighbour’s)',
  },
  { outcome: 'secret_mismatch', when: '`proof_of_mismatch` applied' },
  { outcome: 'endpoint_disabled', when: '`disabled` applied (and no dry run plans a change)' },
  { outcome: 'changed', when: 'any action (`planned` in a dry run)' },
  { outcome: 'in_sync', when: 'no action' },
];

const OUTCOME_TESTS: Readonly<Record<string, (ctx: RunContext, dryRun: boolean) => boolean>> = {
  second_writer: (ctx) => ctx.secondWriter !== undefined,
  stray_endpoint: (ctx) => ctx.stray !== undefined,
  secret_mismatch: (ctx) => ctx.actions.some((a) => a.type === 'resync'),
  endpoint_disabled: (ctx, dryRun) => ctx.disabled !== undefined && !(dryRun && ctx.actions.length > 0),
  changed: (ctx) => ctx.actions.length > 0,
  in_sync: () => true,
};

/** A stopped fight outranks a heal, a heal a disabled endpoint, and that the rest (REGISTRAR_OUTCOMES). */
function runOutcome(ctx: RunContext, dryRun: boolean): ReconcileOutcome {
  const row = REGISTRAR_OUTCOMES.find((r) => OUTCOME_TESTS[r.outcome]?.(ctx, dryRun)) ?? { outcome: 'in_sync' };
  return row.outcome === 'changed' && dryRun ? 'planned' : row.outcome;
}

/** What one pass reads and builds up: the state the rules observe and change. */
interface RunState {
  readonly ctx: RunContext;
  /** Null in a dry run (plan only). */
  readonly writer: SecretWriter | null;
  readonly dryRun: boolean;
  /** Our URL, normalized. */
  readonly target: string;
  /** The stored value as the run read it (after the leftover replay). */
  readonly stored: StoredSigningSecret | null;
  readonly total: number;
  /** Ids of the endpoints at our URL, before any change. */
  readonly matchingIds: readonly string[];
  snapshot: SecretSnapshot;
  endpoints: WebhookEndpoint[];
  matching: WebhookEndpoint[];
  /** The endpoint that (now, or in a dry run would) deliver to us. */
  keeper: WebhookEndpoint | undefined;
  /** An endpoint was created in this run. */
  createdNow: boolean;
  /** The create brought its secret along (a dry run assumes it would). */
  secretSecured: boolean;
  /** What `proof_of_mismatch` found. */
  mismatch?: Mismatch;
  /** What the list said of our URL, when it was asked (sightings.ts), and whether the backfill was told. */
  readonly sighting: DatedSighting;
  told: boolean;
}

/**
 * How a rule is checked and applied. `guard` names the endpoint (and, for a patch, the value set)
 * whose recent takeover of the rule's kind stops it; null: this application is no takeover.
 */
interface RuleStep {
  when(s: RunState): boolean | Promise<boolean>;
  guard?(s: RunState): { endpointId: string; target?: string } | null;
  act(s: RunState): Promise<void>;
}

const RULE_STEPS: Readonly<Record<RegistrarRuleId, RuleStep>> = {
  url_moved: {
    when: (s) => ownEndpointElsewhere(s) !== undefined,
    guard: (s) => {
      const own = ownEndpointElsewhere(s);
      return own ? { endpointId: own.endpoint_id, target: `url:${s.target}` } : null;
    },
    act: moveUrlBack,
  },
  absent: { when: (s) => s.keeper === undefined, act: createEndpoint },
  events_differ: {
    when: (s) =>
      s.keeper !== undefined &&
      !s.createdNow &&
      s.ctx.desired.events !== undefined &&
      !sameEvents(s.keeper.events, s.ctx.desired.events),
    guard: (s) => ({ endpointId: keeperOf(s).endpoint_id, target: eventsTarget(s) }),
    act: patchEvents,
  },
  disabled: {
    when: (s) => s.keeper !== undefined && !(s.createdNow && s.secretSecured) && s.keeper.status !== 'enabled',
    act: async (s) => noteDisabled(s, keeperOf(s)),
  },
  secret_not_held: {
    when: (s) => s.keeper !== undefined && !s.secretSecured && !holdsSecretFor(s.stored, s.keeper.endpoint_id),
    // Rotating an endpoint this very run created is no takeover.
    guard: (s) => (s.createdNow ? null : { endpointId: keeperOf(s).endpoint_id }),
    act: adoptSecret,
  },
  stale_pending: { when: (s) => stalePending(s.snapshot), act: dropStalePending },
  rotation_in_progress: {
    when: (s) => Boolean(s.snapshot.pending?.value?.secret) && !stalePending(s.snapshot),
    act: async (s) => {
      s.ctx.warnings.push('a rotation is in progress (AWSPENDING holds the new secret); it finishes on its own');
    },
  },
  duplicates: {
    when: (s) => s.keeper !== undefined && s.matching.some((e) => e.endpoint_id !== s.keeper?.endpoint_id),
    act: deleteDuplicates,
  },
  proof_of_mismatch: {
    when: findMismatch,
    guard: (s) => ({ endpointId: keeperOf(s).endpoint_id }),
    act: async (s) => {
      if (s.mismatch) s.snapshot = await heal(s.ctx, s.writer, s.snapshot, keeperOf(s).endpoint_id, s.mismatch);
    },
  },
};

/** One pass; `writer` is null in a dry run (plan only). */
async function run(ctx: RunContext, writer: SecretWriter | null): Promise<ReconcileSummary> {
  // A change a dead holder made at HeyGen and never stored: replay it, store the answer.
  if (writer?.leftover) await recoverLeftover(ctx, writer, writer.leftover);
  const s = await observe(ctx, writer);
  for (const rule of REGISTRAR_RULES) await applyRule(s, rule);
  await tellAfter(s);
  return summarize(s);
}

/** Reads the stored secret and HeyGen's endpoints. */
async function observe(ctx: RunContext, writer: SecretWriter | null): Promise<RunState> {
  const { deps, client, desired } = ctx;
  const snapshot = await deps.secretStore.read(deps.signal);
  const listedAt = clockOf(deps)();
  const endpoints = await client.listEndpoints({ signal: deps.signal });
  const target = normalizeUrl(desired.url);
  const s: RunState = {
    ctx,
    writer,
    dryRun: writer === null,
    target,
    stored: snapshot.current,
    total: endpoints.length,
    matchingIds: endpoints.filter((e) => normalizeUrl(e.url) === target).map((e) => e.endpoint_id),
    snapshot,
    endpoints,
    matching: [],
    keeper: undefined,
    createdNow: false,
    secretSecured: false,
    sighting: sightingOf(endpoints, desired.url, listedAt),
    told: false,
  };
  findKeeper(s);
  return s;
}

/** Applies `rule` when it holds, unless its guard finds a recent takeover of the same kind (a fight). */
async function applyRule(s: RunState, rule: RegistrarRule): Promise<void> {
  const step = RULE_STEPS[rule.rule];
  if (!(await step.when(s))) return;
  const guarded = rule.guard && s.writer ? step.guard?.(s) : null;
  if (rule.guard && guarded && (await recentTakeover(s.ctx, rule.guard, guarded.endpointId, guarded.target))) return;
  if (rule.actions.some((a) => ENDPOINT_CHANGES.has(a))) await tellBefore(s);
  await step.act(s);
}

/** The actions that change what HeyGen addresses to our URL. */
const ENDPOINT_CHANGES: ReadonlySet<ReconcileAction['type']> = new Set(['update_url', 'create', 'update', 'delete']);

/**
 * Tells the backfill's subscription log what the list said, before the run changes our endpoint: a
 * backfill run that lists the change reads this first (sightings.ts). A failure fails the run before
 * any change (the next run tries again). Not in a dry run.
 */
async function tellBefore(s: RunState): Promise<void> {
  const inbox = s.ctx.deps.sightings;
  if (!inbox || s.dryRun || s.told) return;
  await inbox.record(s.sighting, s.ctx.deps.signal);
  s.told = true;
}

/**
 * After the rules: a run that changed our endpoint tells what a fresh list says now (it narrows the
 * period judged unsure); one that changed nothing but saw another set than the configured one tells
 * that. Best effort (a warning): the sighting before the change was told already.
 */
async function tellAfter(s: RunState): Promise<void> {
  const { deps, client, desired } = s.ctx;
  if (!deps.sightings || s.dryRun) return;
  const changed = s.ctx.actions.some((a) => ENDPOINT_CHANGES.has(a.type) && a.status === 'done');
  const seen = s.sighting.found ? s.sighting.events : [];
  const differs = desired.events !== undefined && !sameSet(seen, canonicalEvents(desired.events));
  try {
    if (!changed && differs) await tellBefore(s);
    if (!changed) return;
    // Causally after the sighting before the change: later on the log's clock too, even on a clock that stood still.
    const at = Math.max(clockOf(deps)(), s.sighting.atMs + 1);
    const now = await client.listEndpoints({ signal: deps.signal });
    await deps.sightings.record(sightingOf(now, desired.url, at), deps.signal);
  } catch (err) {
    s.ctx.warnings.push(
      `could not tell the backfill what the run saw of our endpoint (${err instanceof Error ? err.name : 'error'})`,
    );
  }
}

/** The endpoints at our URL, and the one to keep (the one whose secret we hold, else the oldest). */
function findKeeper(s: RunState): void {
  s.matching = s.endpoints.filter((e) => normalizeUrl(e.url) === s.target);
  s.keeper = pickKeeper(s.matching, s.stored);
}

function keeperOf(s: RunState): WebhookEndpoint {
  if (!s.keeper) throw new Error('registrar rule applied without an endpoint at our URL');
  return s.keeper;
}

/** Our endpoint (the one whose secret we hold) when it delivers somewhere else. */
function ownEndpointElsewhere(s: RunState): WebhookEndpoint | undefined {
  const id = s.stored?.endpointId;
  const own = id ? s.endpoints.find((e) => e.endpoint_id === id) : undefined;
  return own && normalizeUrl(own.url) !== s.target ? own : undefined;
}

const eventsTarget = (s: RunState): string => `events:${JSON.stringify(canonicalEvents(s.ctx.desired.events))}`;

/** AWSPENDING holds a value whose `replaces` is not the current version: its secret is dead. */
function stalePending(snapshot: SecretSnapshot): boolean {
  const pending = snapshot.pending;
  return Boolean(pending?.value?.secret) && pending?.value?.replaces !== undefined && pending.value.replaces !== snapshot.version;
}

/** Rule `url_moved`: PATCH our endpoint's URL back; on 409 re-read the list (another endpoint has our URL). */
async function moveUrlBack(s: RunState): Promise<void> {
  const { ctx } = s;
  const own = ownEndpointElsewhere(s);
  if (!own) return;
  const action: ReconcileAction = {
    type: 'update_url',
    endpointId: own.endpoint_id,
    from: own.url,
    to: ctx.desired.url,
    status: 'planned',
  };
  ctx.actions.push(action);
  if (s.dryRun) {
    s.endpoints = s.endpoints.map((e) => (e.endpoint_id === own.endpoint_id ? { ...e, url: ctx.desired.url } : e));
  } else {
    const updated = await moveBack(ctx, own.endpoint_id);
    if (updated) {
      action.status = 'done';
      await recordTakeover(ctx, 'patch', own.endpoint_id, `url:${s.target}`);
      s.endpoints = s.endpoints.map((e) =>
        e.endpoint_id === updated.endpoint_id ? { ...e, ...updated, url: ctx.desired.url } : e,
      );
    } else {
      // Another endpoint holds our URL now (HeyGen allows one per URL): the rules below adopt that one.
      ctx.actions.pop();
      s.endpoints = await ctx.client.listEndpoints({ signal: ctx.deps.signal });
    }
  }
  findKeeper(s);
}

/** Rule `absent`: create our endpoint and store its secret; a 409 means one was made meanwhile: adopt it. */
async function createEndpoint(s: RunState): Promise<void> {
  const { ctx, writer } = s;
  const { desired } = ctx;
  const action: Extract<ReconcileAction, { type: 'create' }> = {
    type: 'create',
    reason: s.stored?.endpointId ? 'deleted_behind_our_back' : 'absent',
    url: desired.url,
    events: canonicalEvents(desired.events),
    idempotencyKey: writer ? changeIdempotencyKey('create', writer.fence, s.snapshot.version, s.target) : '(assigned when run)',
    status: 'planned',
  };
  ctx.actions.push(action);
  if (!writer) {
    s.secretSecured = true; // a create would bring its secret along
    return;
  }
  // After a stopped fight (our endpoint moved away again) the intent carries it: a run that dies before
  // its summary would lose the alarm, and the run replaying the create could no longer see the fight.
  const marks = ctx.secondWriter ? { secondWriter: true as const } : {};
  try {
    const created = await writer.create(
      { url: desired.url, events: action.events },
      action.idempotencyKey,
      s.snapshot.version,
      marks,
    );
    action.status = 'done';
    action.endpointId = created.endpoint_id;
    s.keeper = created;
    s.createdNow = true;
    if (created.secret) {
      s.snapshot = await storeIssued(writer, s.snapshot, created.endpoint_id, created.secret, desired.url, ctx.actions);
      s.secretSecured = true;
    } else {
      ctx.warnings.push('create answered without a secret; adopting via rotate-secret');
    }
    await clearCreateIntent(ctx, writer);
  } catch (err) {
    // Someone (a person, or a relay in another account) created it between our list and our create.
    if (!(err instanceof HeyGenConflictError) || err.code !== 'conflict') throw err;
    await writer.clearIntent(); // HeyGen refused it: nothing was created
    ctx.deps.logger?.warn('create hit 409 conflict; re-reading the endpoint list', { url: desired.url });
    ctx.actions.pop();
    s.endpoints = await ctx.client.listEndpoints({ signal: ctx.deps.signal });
    findKeeper(s);
    if (!s.keeper) throw err;
  }
}

/**
 * Clears a create's intent once its secret is stored. After a stopped fight a failed clear (a lost
 * answer, the lease lost) does not fail the run: its summary says `second_writer`, and a leftover
 * intent is replayed by the next holder, which says it again.
 */
async function clearCreateIntent(ctx: RunContext, writer: SecretWriter): Promise<void> {
  try {
    await writer.clearIntent();
  } catch (err) {
    if (!ctx.secondWriter) throw err;
    ctx.warnings.push(
      `could not clear the create's intent (${err instanceof Error ? err.name : 'error'}); the next run replays it`,
    );
  }
}

/** Rule `events_differ`: PATCH the events (a full replace). */
async function patchEvents(s: RunState): Promise<void> {
  const { ctx } = s;
  const keeper = keeperOf(s);
  const action: ReconcileAction = {
    type: 'update',
    endpointId: keeper.endpoint_id,
    from: keeper.events ?? null,
    to: canonicalEvents(ctx.desired.events ?? null),
    status: 'planned',
  };
  ctx.actions.push(action);
  if (s.dryRun) return;
  await ctx.client.updateEndpoint(keeper.endpoint_id, { events: action.to }, { signal: ctx.deps.signal });
  action.status = 'done';
  await recordTakeover(ctx, 'patch', keeper.endpoint_id, eventsTarget(s));
}

/** Rule `disabled`: nothing is delivered until a person enables the endpoint. */
function noteDisabled(s: RunState, keeper: WebhookEndpoint): void {
  s.ctx.disabled = keeper.endpoint_id;
  s.ctx.warnings.push(
    `endpoint ${keeper.endpoint_id} is '${keeper.status}' at HeyGen: nothing is delivered; the v3 API cannot enable it, enable it in HeyGen's dashboard`,
  );
}

/** Rule `secret_not_held`: rotate the endpoint's secret under a recorded intent and store the answer. */
async function adoptSecret(s: RunState): Promise<void> {
  const { ctx, writer, stored } = s;
  const keeper = keeperOf(s);
  const reason = !stored?.secret
    ? 'no_secret_stored'
    : stored.endpointId === keeper.endpoint_id
      ? 'unusable_secret_stored'
      : stored.endpointId
        ? 'secret_for_other_endpoint'
        : 'no_secret_stored';
  const action: ReconcileAction = {
    type: 'rotate',
    endpointId: keeper.endpoint_id,
    reason,
    idempotencyKey: writer
      ? changeIdempotencyKey('adopt', writer.fence, s.snapshot.version, keeper.endpoint_id)
      : '(assigned when run)',
    status: 'planned',
  };
  ctx.actions.push(action);
  if (!writer) return;
  const base = s.snapshot;
  await writer.rotate(keeper.endpoint_id, action.idempotencyKey, base.version, async (rotated) => {
    action.status = 'done';
    s.snapshot = await storeIssued(writer, base, keeper.endpoint_id, rotated.secret, ctx.desired.url, ctx.actions);
  });
  if (!s.createdNow) await recordTakeover(ctx, 'adopt', keeper.endpoint_id);
}

/** Rule `stale_pending`: so the ingress stops accepting a dead secret and the next rotation is not refused. */
async function dropStalePending(s: RunState): Promise<void> {
  const { deps, actions } = s.ctx;
  const action: ReconcileAction = { type: 'drop_pending', reason: 'stale_rotation', status: 'planned' };
  actions.push(action);
  const pending = s.snapshot.pending;
  if (s.writer && pending && deps.secretStore.dropPending) {
    await deps.secretStore.dropPending(pending.version, deps.signal);
    action.status = 'done';
  }
}

/**
 * Rule `duplicates`: everything at our URL (our route: normalizeUrl) except the keeper goes (already
 * gone is fine). First the proof window is moved past now (restartSighting): a duplicate's copies of our
 * events reached our route signed with its own secret and were refused under their entries' own keys,
 * so refusals made until it is gone prove nothing about our secret.
 */
async function deleteDuplicates(s: RunState): Promise<void> {
  const { ctx } = s;
  const keeper = keeperOf(s);
  if (!s.dryRun) await restartSighting(s);
  for (const extra of s.matching) {
    if (extra.endpoint_id === keeper.endpoint_id) continue;
    const action: ReconcileAction = { type: 'delete', endpointId: extra.endpoint_id, reason: 'duplicate', status: 'planned' };
    ctx.actions.push(action);
    if (s.dryRun) continue;
    try {
      await ctx.client.deleteEndpoint(extra.endpoint_id, { signal: ctx.deps.signal });
    } catch (err) {
      if (!(err instanceof HeyGenNotFoundError)) throw err;
    }
    action.status = 'done';
  }
}

/**
 * Rule `proof_of_mismatch`'s observation: nothing else to do or to wait for (no action, no disabled
 * endpoint, no stopped fight, no rotation in progress), and the evidence proves the secret dead.
 */
async function findMismatch(s: RunState): Promise<boolean> {
  const { ctx, keeper, snapshot } = s;
  const { deps } = ctx;
  if (!deps.evidence) return false;
  // Every run with evidence notes where it finds the labels (also when it does not judge): the sooner
  // a version is seen, the sooner a dead one can be proved.
  const currentSince = await sightCurrent(s);
  if (ctx.actions.length > 0 || !keeper || ctx.disabled || ctx.secondWriter) return false;
  if (snapshot.pending?.value?.secret) return false;
  const changedAt = await lastPatchAt(deps.heals, keeper.endpoint_id, deps.signal);
  const marks = { changedAt, currentSince };
  const found = await secretMismatch(deps.evidence, clockOf(deps)(), snapshot, keeper, marks, deps.signal);
  if (found) s.mismatch = found;
  return found !== null;
}

/**
 * Since when registrar runs have seen the stored secret's labels where this run finds them (the heal
 * journal's sighting, core/heal-journal.ts), on the run's clock. Labels seen for the first time are
 * recorded as seen now: a dead secret is then proved by refusals after this run (plus the grace), and
 * refusals made before it, maybe under another version, prove nothing. Null without a journal (then
 * nothing is proof). A sighting that cannot be read or recorded (DynamoDB fails, a write loses its
 * answer, another writer recorded one meanwhile) is seen now all the same: no proof this run, the
 * next one records it (a lost answer's write is read back as this run's).
 */
async function sightCurrent(s: RunState): Promise<number | null> {
  const { ctx, snapshot } = s;
  const journal = ctx.deps.heals;
  if (!journal || snapshot.version === null) return null;
  const now = clockOf(ctx.deps)();
  const labels = { version: snapshot.version, previous: snapshot.previous ?? null };
  try {
    const seen = await journal.readSighting(ctx.deps.signal);
    if (seen && seen.version === labels.version && seen.previous === labels.previous) return seen.since;
    if (s.dryRun || (await journal.recordSighting({ ...labels, since: now }, seen, ctx.deps.signal))) return now;
    ctx.warnings.push(
      "could not record where the signing secret's version stands (another writer recorded a sighting meanwhile); the proof of a dead secret waits for the next run",
    );
  } catch (err) {
    // Never fails the run (it may have created or stored already): this run only proves nothing.
    ctx.warnings.push(
      `could not record where the signing secret's version stands (${err instanceof Error ? err.name : 'error'}); the proof of a dead secret waits for the next run`,
    );
  }
  return now;
}

/**
 * Records the stored secret's labels as first seen now (the heal journal's sighting; compare-and-set):
 * the proof counts refusals made after now plus the grace only. Throws when it cannot (the caller's
 * change waits for the next run): a change that makes earlier refusals no proof must not be made
 * without it.
 */
async function restartSighting(s: RunState): Promise<void> {
  const { ctx, snapshot } = s;
  const journal = ctx.deps.heals;
  if (!journal || snapshot.version === null) return;
  const seen = await journal.readSighting(ctx.deps.signal);
  const next = { version: snapshot.version, previous: snapshot.previous ?? null, since: clockOf(ctx.deps)() };
  if (!(await journal.recordSighting(next, seen, ctx.deps.signal)))
    throw new Error('could not restart the sighting of the signing secret (another writer recorded one meanwhile)');
}

/** The run's summary: its outcome, what it found and did, and the secret's and a pending rotation's ages. */
function summarize(s: RunState): ReconcileSummary {
  const { ctx, snapshot, stored, dryRun } = s;
  const { actions, warnings } = ctx;
  for (const w of warnings) ctx.deps.logger?.warn(w, { endpointId: s.keeper?.endpoint_id });
  const now = clockOf(ctx.deps)();
  const pendingAt = snapshot.pending?.value?.secret ? (snapshot.pending.createdAt ?? now) : null;
  const dropped = actions.some((a) => a.type === 'drop_pending' && a.status === 'done');
  // `snapshot` is what the run read, or what it stored (storeIssued): then the secret is brand new.
  const storedNow = actions.some((a) => a.type === 'store_secret' && a.status === 'done');
  return {
    outcome: runOutcome(ctx, dryRun),
    dryRun,
    found: {
      total: s.total,
      matching: s.matchingIds,
      storedEndpointId: stored?.endpointId ?? null,
      storedSecret: Boolean(stored?.secret),
    },
    actions,
    endpointId: s.keeper?.endpoint_id ?? null,
    warnings,
    ...(ctx.secondWriter || ctx.stray ? { message: ctx.secondWriter ?? ctx.stray } : {}),
    pendingRotationAgeSeconds: pendingAt !== null && !dropped ? Math.max(0, Math.round((now - pendingAt) / 1000)) : 0,
    ...ageField(secretAgeSeconds(snapshot, storedNow, now)),
  };
}

type Mismatch = NonNullable<Awaited<ReturnType<typeof secretMismatch>>>;

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
      ...ageField(secretAgeSeconds(snapshot, false, clockOf(deps)())),
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
        const writer = new SecretWriter(grant, lease.store, ctx.client, deps.secretStore, deps.signal, clockOf(deps));
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

/** Rotates the secret the evidence proved dead, under a key of its own, stores it and records the heal. */
async function heal(
  ctx: RunContext,
  writer: SecretWriter | null,
  snapshot: SecretSnapshot,
  endpointId: string,
  found: Mismatch,
): Promise<SecretSnapshot> {
  const action: Extract<ReconcileAction, { type: 'resync' }> = {
    type: 'resync',
    endpointId,
    reason: 'secret_mismatch',
    // A key of its own (purpose, fence, version): never one whose 24 h replay could hand back a dead secret.
    idempotencyKey: writer ? changeIdempotencyKey('resync', writer.fence, snapshot.version, endpointId) : '(assigned when run)',
    lastSignatureRejectionAt: new Date(found.rejectedAt).toISOString(),
    missedEvent: found.missed,
    status: 'planned',
  };
  ctx.actions.push(action);
  ctx.deps.logger?.error('the stored signing secret is not the one HeyGen signs with: re-synchronizing', {
    outcome: 'secret_mismatch',
    endpointId,
    lastSignatureRejectionAt: action.lastSignatureRejectionAt,
    missedEvent: found.missed,
  });
  if (!writer) return snapshot;
  let after = snapshot;
  // The heal is counted from its intent (op `heal`, recorded first): journaled before HeyGen is called,
  // so a journal write that fails stops the heal before it rotates, and a holder that dies after
  // rotate-secret left a counted heal (recoverLeftover journals a leftover `heal` it finds unjournaled).
  await writer.rotate(
    endpointId,
    action.idempotencyKey,
    snapshot.version,
    async (rotated) => {
      action.status = 'done';
      after = await storeIssued(writer, snapshot, endpointId, rotated.secret, ctx.desired.url, ctx.actions);
    },
    HEAL_OP,
    (intent) => journalHeal(ctx, intent),
  );
  return after;
}

/** The intent op of a heal's rotate-secret (a rotation that counts as a takeover; rotation.ts leaves it to the registrar). */
export const HEAL_OP = 'heal';

/** Journals the heal `intent` stands for (its time, its endpoint) unless it is journaled already. */
async function journalHeal(ctx: RunContext, intent: Pick<LeaseIntent, 'at' | 'endpointId'>): Promise<void> {
  const journal = ctx.deps.heals;
  if (!journal) return;
  const journaled = (await journal.read(ctx.deps.signal)).some(
    (t) => t.kind === 'heal' && t.at === intent.at && t.endpointId === intent.endpointId,
  );
  if (!journaled) await journal.record({ at: intent.at, kind: 'heal', endpointId: intent.endpointId }, ctx.deps.signal);
}

/** How long one takeover (an adopt or a heal) blocks the next: a second within it is another writer at work. */
export const HEAL_RATE_WINDOW_MS = 24 * 3_600_000;
/** How long HeyGen replays the answer to an Idempotency-Key (the OpenAPI file: "within 24 hours"). */
export const HEYGEN_REPLAY_WINDOW_MS = 24 * 3_600_000;

export const SECOND_WRITER_MESSAGE =
  "another writer keeps changing the HeyGen endpoint's secret or settings (a second takeover within 24 h, or the endpoint's URL or events set back after we set them): a person in HeyGen's dashboard, or another stack registered at this URL (a copied stack, a second region behind the same domain). " +
  'The registrar stopped healing rather than fight it. Find the other writer and remove it (or give each stack its own URL), then rotate: `heygen-relay rotate --stack <stack>`. Healing resumes by itself 24 h after the last takeover.';

/**
 * The takeover within HEAL_RATE_WINDOW_MS that makes this one (`kind`) a fight, or null. When there
 * is one, the run stops (outcome `second_writer`, alarmed) instead of rotating.
 */
async function recentTakeover(
  ctx: RunContext,
  kind: TakeoverKind,
  endpointId: string,
  target?: string,
): Promise<Takeover | null> {
  const journal = ctx.deps.heals;
  if (!journal) return null;
  const now = clockOf(ctx.deps)();
  // A secret taken back twice; or our last patch of the endpoint's URL (events) set the very value we
  // must set again: someone set it back in between (a change of our own configuration sets another).
  const field = target?.split(':')[0];
  const sameFight = (t: Takeover) =>
    kind === 'patch'
      ? t.kind === 'patch' && t.endpointId === endpointId && t.target?.split(':')[0] === field
      : t.kind !== 'patch';
  const last = [...(await journal.read(ctx.deps.signal))].reverse().find((t) => now - t.at < HEAL_RATE_WINDOW_MS && sameFight(t));
  const recent = last && (kind !== 'patch' || last.target === target) ? last : null;
  if (!recent) return null;
  ctx.secondWriter = SECOND_WRITER_MESSAGE;
  ctx.deps.logger?.error(`${SECOND_WRITER_MESSAGE} (this run would ${kind})`, {
    outcome: 'second_writer',
    endpointId,
    previousTakeover: { ...recent, at: new Date(recent.at).toISOString() },
  });
  return recent;
}

async function recordTakeover(ctx: RunContext, kind: TakeoverKind, endpointId: string, target?: string): Promise<void> {
  await ctx.deps.heals?.record({ at: clockOf(ctx.deps)(), kind, endpointId, ...(target ? { target } : {}) }, ctx.deps.signal);
}

/**
 * Rule `url_moved`'s PATCH of our endpoint's URL back to ours, or null when HeyGen answers 409 conflict: an
 * endpoint with our URL exists already (made since our list, e.g. by a second stack or a person).
 */
async function moveBack(ctx: RunContext, endpointId: string): Promise<WebhookEndpoint | null> {
  try {
    return await ctx.client.updateEndpoint(endpointId, { url: ctx.desired.url }, { signal: ctx.deps.signal });
  } catch (err) {
    if (!(err instanceof HeyGenConflictError) || err.code !== 'conflict') throw err;
    ctx.warnings.push(
      `endpoint ${endpointId} (ours) delivers to another URL and HeyGen refused to move it back: another endpoint has our URL; adopting that one`,
    );
    ctx.deps.logger?.warn('moving our endpoint back to our URL hit 409 conflict; re-reading the endpoint list', { endpointId });
    return null;
  }
}

/** The run's one clock: the injected one (the registrar's, the evidence's or the lease's), else the wall clock. */
function clockOf(deps: RegistrarDeps): () => number {
  return deps.now ?? deps.evidence?.now ?? deps.lease?.now ?? (() => Date.now());
}

/**
 * Before the rules: replays the intent a dead holder left (same call, same key) and stores the answer. After
 * MAX_REPLAY_FAILURES 5xx answers (HeyGen may replay a 5xx for a key it processed, for 24 h) the
 * change is made under a fresh key instead (a create is dropped: the run creates or adopts anew).
 */
async function recoverLeftover(ctx: RunContext, writer: SecretWriter, leftover: LeaseIntent): Promise<void> {
  const { desired, deps, actions } = ctx;
  const freshKey = (leftover.replayFailures ?? 0) >= MAX_REPLAY_FAILURES;
  const action: Extract<ReconcileAction, { type: 'recover' }> = {
    type: 'recover',
    endpointId: leftover.endpointId,
    op: leftover.op,
    ...(freshKey ? { freshKey: true as const, replayFailures: leftover.replayFailures } : {}),
    status: 'planned',
  };
  actions.push(action);
  if (leftover.secondWriter && clockOf(deps)() - leftover.at < HEAL_RATE_WINDOW_MS) reportStoppedFight(ctx, leftover);
  // A heal's intent is the heal counted (its journal entry may not have been written before the holder died).
  if (leftover.op === HEAL_OP) await journalHeal(ctx, leftover);
  const before = await deps.secretStore.read(deps.signal);
  if (leftover.op === 'create') {
    await recoverCreate(ctx, writer, leftover, before, freshKey);
  } else {
    const key = freshKey ? changeIdempotencyKey('recover', writer.fence, leftover.base, leftover.endpointId) : leftover.key;
    try {
      await writer.rotate(
        leftover.endpointId,
        key,
        leftover.base,
        async (rotated) => {
          await storeIssued(writer, before, rotated.endpoint_id, rotated.secret, desired.url, actions);
        },
        freshKey && leftover.op !== HEAL_OP ? 'rotate' : leftover.op,
      );
      // The change a rotation's createSecret asked for is made and stored: its staged version goes.
      await cancelRotationKeyedBy(deps, leftover.key);
    } catch (err) {
      if (!(err instanceof HeyGenNotFoundError)) throw err;
      await writer.clearIntent(); // the endpoint is gone: nothing to recover, the run re-creates it
    }
  }
  action.status = 'done';
  deps.logger?.warn(
    freshKey
      ? `a secret change a previous writer made at HeyGen failed ${leftover.replayFailures} times with the same key; made it again under a fresh key`
      : 'replayed a secret change a previous writer made at HeyGen and never stored',
    { op: leftover.op, endpointId: leftover.endpointId },
  );
}

/**
 * A leftover create. Within HeyGen's 24 h (less CLOCK_SKEW_MS) the same request under the same key
 * answers with the endpoint HeyGen created then (it may have been moved to another URL or deleted
 * since): we store its secret; rule `url_moved` brings it back and rule `duplicates` removes others.
 * Past that (or after MAX_REPLAY_FAILURES 5xx answers) HeyGen no longer knows the key: a replay would
 * make a second endpoint, or be refused 409 on every run. The endpoint the dead holder made is then
 * found in HeyGen's list instead (findDeadHoldersEndpoint) and its secret taken; the rules create
 * one only when there is none.
 */
async function recoverCreate(
  ctx: RunContext,
  writer: SecretWriter,
  leftover: LeaseIntent,
  before: SecretSnapshot,
  freshKey: boolean,
): Promise<void> {
  const { deps, client, desired, actions } = ctx;
  const replayable = clockOf(deps)() - leftover.at < HEYGEN_REPLAY_WINDOW_MS - CLOCK_SKEW_MS;
  if (freshKey || !replayable) {
    await adoptDeadHoldersEndpoint(ctx, writer, leftover, before);
    return;
  }
  const replayed = await replayCreate(ctx, writer, leftover, before.version);
  if (!replayed) {
    // 409 conflict: HeyGen forgot the key (its clock ahead of ours) and an endpoint has our URL.
    await adoptDeadHoldersEndpoint(ctx, writer, leftover, before);
    return;
  }
  const exists = (await client.listEndpoints({ signal: deps.signal })).some((e) => e.endpoint_id === replayed.endpoint_id);
  if (exists && replayed.secret) await storeIssued(writer, before, replayed.endpoint_id, replayed.secret, desired.url, actions);
  await writer.clearIntent();
}

/**
 * How far HeyGen's clock (its endpoints' `created_at`, the start of a key's 24 h) may stand from ours
 * (proof.ts; the proof's refusal slack is the same). A create is replayed only while its key is this
 * much younger than 24 h.
 */
export { CLOCK_SKEW_MS };

/**
 * The endpoint a dead holder's create made, as HeyGen lists it: created after its intent was recorded
 * and before its lease ran out (a holder never outlives LEASE_TTL_MS), give or take CLOCK_SKEW_MS.
 * `endpoint`: the one such endpoint at our URL (whatever is at our URL is ours to take). `strays`: such
 * endpoints at another URL subscribed to the events the create asked for; ours moved by a person, or a
 * neighbour's (another stack of this account deployed at the same moment, with the same default events):
 * HeyGen's endpoints carry no mark of ours, so they are evidence, not proof, and never taken. An endpoint
 * we hold the secret of is no candidate. `ambiguous`: more than one at our URL fits (none is taken).
 */
export function findDeadHoldersEndpoint(
  endpoints: readonly WebhookEndpoint[],
  leftover: Pick<LeaseIntent, 'at' | 'url' | 'events'>,
  ours: { readonly url: string; readonly heldEndpointId: string | null },
): { readonly endpoint: WebhookEndpoint | null; readonly ambiguous: boolean; readonly strays: readonly WebhookEndpoint[] } {
  const target = normalizeUrl(leftover.url ?? ours.url);
  const from = leftover.at - CLOCK_SKEW_MS;
  const until = leftover.at + LEASE_TTL_MS + CLOCK_SKEW_MS;
  const madeThen = endpoints.filter((e) => {
    const created = Date.parse(e.created_at);
    return created >= from && created <= until && e.endpoint_id !== ours.heldEndpointId;
  });
  const atOurUrl = madeThen.filter((e) => normalizeUrl(e.url) === target);
  const strays = madeThen.filter((e) => normalizeUrl(e.url) !== target && sameEvents(e.events, leftover.events ?? null));
  return { endpoint: atOurUrl.length === 1 ? (atOurUrl[0] as WebhookEndpoint) : null, ambiguous: atOurUrl.length > 1, strays };
}

/** What a person is told when a lost create may have left an endpoint of ours at another URL. */
export const STRAY_MESSAGE =
  'a registrar run created an endpoint at HeyGen and died before storing it; HeyGen no longer replays that create, and an endpoint made then with our events is at another URL: it may be ours (moved by a person) or another app’s made at the same time, so it was not touched. Check it in the HeyGen dashboard and delete it if it is not another app’s';

/**
 * A leftover create HeyGen can no longer replay: takes the secret of the endpoint it made at our URL
 * (rotate-secret under a fresh key, intent recorded first; our own endpoint, so no takeover) and stores
 * it, or clears the intent when there is none (never made, deleted or moved since) and the rules create
 * one. An endpoint elsewhere that fits is reported (`stray_endpoint`), never taken.
 */
async function adoptDeadHoldersEndpoint(
  ctx: RunContext,
  writer: SecretWriter,
  leftover: LeaseIntent,
  before: SecretSnapshot,
): Promise<void> {
  const { deps, client, desired, actions, warnings } = ctx;
  const endpoints = await client.listEndpoints({ signal: deps.signal });
  const held = before.current?.endpointId ?? null;
  const found = findDeadHoldersEndpoint(endpoints, leftover, { url: desired.url, heldEndpointId: held });
  if (found.ambiguous)
    warnings.push(
      `a create a previous writer made ${new Date(leftover.at).toISOString()} was never stored and HeyGen no longer replays it; several endpoints at our URL fit it: none was taken by this step (the rules keep one)`,
    );
  if (found.strays.length > 0) reportStrays(ctx, leftover, found.strays);
  const made = found.endpoint;
  if (!made) {
    await writer.clearIntent(); // the rules create the endpoint, or adopt the one at our URL
    return;
  }
  const action: ReconcileAction = {
    type: 'rotate',
    endpointId: made.endpoint_id,
    reason: 'create_answer_lost',
    idempotencyKey: changeIdempotencyKey('recover', writer.fence, before.version, made.endpoint_id),
    status: 'planned',
  };
  actions.push(action);
  try {
    await writer.rotate(made.endpoint_id, action.idempotencyKey, before.version, async (rotated) => {
      action.status = 'done';
      await storeIssued(writer, before, made.endpoint_id, rotated.secret, desired.url, actions);
    });
  } catch (err) {
    if (!(err instanceof HeyGenNotFoundError)) throw err;
    actions.pop();
    await writer.clearIntent(); // deleted since our list: the rules create one
  }
}

/** Outcome `stray_endpoint` (alarmed): the endpoints elsewhere a lost create may have made, by id and URL. */
function reportStrays(ctx: RunContext, leftover: LeaseIntent, strays: readonly WebhookEndpoint[]): void {
  ctx.stray = STRAY_MESSAGE;
  ctx.deps.logger?.error(STRAY_MESSAGE, {
    outcome: 'stray_endpoint',
    recordedAt: new Date(leftover.at).toISOString(),
    endpoints: strays.map((e) => ({ endpointId: e.endpoint_id, url: e.url, createdAt: e.created_at })),
  });
}

/** The leftover create was made after a run stopped a fight and died before its summary: this run reports it. */
function reportStoppedFight(ctx: RunContext, leftover: LeaseIntent): void {
  ctx.secondWriter = SECOND_WRITER_MESSAGE;
  ctx.deps.logger?.error(`${SECOND_WRITER_MESSAGE} (a previous run registered our own endpoint and died before reporting it)`, {
    outcome: 'second_writer',
    recordedAt: new Date(leftover.at).toISOString(),
  });
}

/**
 * Replays a leftover create under its key; null when HeyGen answers 409 conflict (it no longer
 * knows the key, and an endpoint, most likely the one it made then, has the URL): the intent is
 * cleared and the caller looks for the endpoint the dead holder made (adoptDeadHoldersEndpoint).
 */
async function replayCreate(ctx: RunContext, writer: SecretWriter, leftover: LeaseIntent, base: string | null) {
  try {
    return await writer.create({ url: leftover.url ?? ctx.desired.url, events: leftover.events ?? null }, leftover.key, base);
  } catch (err) {
    if (!(err instanceof HeyGenConflictError) || err.code !== 'conflict') throw err;
    await writer.clearIntent();
    ctx.deps.logger?.warn('replaying a leftover create hit 409 conflict; looking for the endpoint it made instead', {});
    return null;
  }
}

/**
 * A Secrets Manager rotation whose token is HeyGen's Idempotency-Key `key` (rotation.ts), once the
 * registrar made and stored its change (a replay of its intent), has nothing left to do: its AWSPENDING
 * stub is removed, so its retried steps find it superseded and do nothing. Else its retry sends `key`
 * again: within 24 h HeyGen answers with the first call's secret, dead once a later write (a heal, a
 * person) changed it, and finishSecret would make it current (chaos `--seed -680817482 --path 301`,
 * review4-recovered-rotation.test.ts); after a fresh key (HeyGen replaying its 5xx) each retry would
 * record the failing intent again and cost one more fresh-key rotation.
 */
async function cancelRotationKeyedBy(deps: RegistrarDeps, key: string): Promise<void> {
  const pending = (await deps.secretStore.read(deps.signal)).pending;
  if (!pending || !deps.secretStore.dropPending) return;
  if (pending.version === key || `sm-${sha(pending.version)}` === key)
    await deps.secretStore.dropPending(pending.version, deps.signal);
}

/**
 * The proof rule (proof.ts): the newest history entry addressed to our endpoint in the proof window
 * was never recorded (nor recovered by the backfill), and the ingress refused a delivery of that very
 * entry (its event key among the refused keys) at or after its creation, and never a delivery of it
 * signed with our secret as stale (rule 5: then the clock missed it).
 */
async function secretMismatch(
  e: SecretEvidence,
  now: number,
  snapshot: SecretSnapshot,
  endpoint: WebhookEndpoint,
  marks: { changedAt: number | null; currentSince: number | null },
  signal?: AbortSignal,
): Promise<{ rejectedAt: number; missed: { eventId: string; type: string; createdAt: string } } | null> {
  const window = proofWindow({
    now,
    storedAt: snapshot.currentCreatedAt ?? null,
    currentSince: marks.currentSince,
    endpointCreatedAt: endpoint.created_at,
    changedAt: marks.changedAt,
    dedupWindowMs: e.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS,
    ...(e.graceMs === undefined ? {} : { graceMs: e.graceMs }),
    ...(e.retrySpacingMs === undefined ? {} : { retrySpacingMs: e.retrySpacingMs }),
  });
  if (!window) return null;
  const source = e.source ?? 'heygen';
  const { refusedKeys = [], lastSignatureRejectionAt, lastMissedAt, lastFailureAt } = await e.evidence.read(source, signal);
  const lastRefusal = Math.max(lastSignatureRejectionAt ?? Number.NEGATIVE_INFINITY, ...refusedKeys.map((r) => r.at));
  if (lastRefusal < window.from) return null; // no refusal: whatever failed, not the secret
  const found = await newestAddressedEntry(e, window, endpoint.events ?? null, signal);
  if (!found) return null;
  const { entry: newest, tied } = found;
  const created = Date.parse(newest.createdAt);
  const key = sourceEventKey(source, newest.eventKey);
  const refusal = refusalOfEntry(
    await refusalsOf(e, source, key, refusedKeys, signal),
    key,
    window.from,
    created,
    lastFailureAt ?? null,
  );
  if (!refusal) return null; // that entry was never refused: a stranger's refusal, or a miss that never reached us
  if (missedForTheClock((await e.evidence.staleAt?.(source, key, signal)) ?? null)) return null; // signed with our secret: stale
  // The backfill recovered this very entry (it records the newest recovered entry's creation time):
  // missed live. Only an exact match counts: a newer recovered entry may not be ours. The time names
  // the entry only when no other entry in reach has it (entries sharing a created_at: the recovered one
  // may be another, and this one delivered live; review: --seed -206197566 --path 991).
  const recovered = lastMissedAt === created && !tied;
  if (!recovered && (await e.dedup.claim(key, `registrar-${randomUUID()}`, signal)) !== 'claimed') return null;
  return {
    rejectedAt: refusal.at,
    missed: {
      eventId: recovered ? `${newest.eventId} (recovered by the backfill)` : newest.eventId,
      type: newest.eventType,
      createdAt: newest.createdAt,
    },
  };
}

/**
 * The recorded refusals of `key`: its own record (looked up by key: no stranger's key can have pushed it
 * out, review3-slow-flood-blocks-heal) and its entry in the evidence item's list (older items, stores
 * without per-key records).
 */
async function refusalsOf(
  e: SecretEvidence,
  source: string,
  key: string,
  listed: readonly RefusedKey[],
  signal?: AbortSignal,
): Promise<RefusedKey[]> {
  const own = e.evidence.refusedAt ? await e.evidence.refusedAt(source, key, signal) : null;
  return [...listed.filter((r) => r.key === key), ...(own === null ? [] : [{ key, at: own }])].sort((a, b) => b.at - a.at);
}

/** When we last set `endpointId`'s URL or events (the journal's newest patch of it), or null. */
async function lastPatchAt(journal: HealJournal | undefined, endpointId: string, signal?: AbortSignal): Promise<number | null> {
  if (!journal) return null;
  const patches = (await journal.read(signal)).filter((t) => t.kind === 'patch' && t.endpointId === endpointId);
  return patches.length === 0 ? null : Math.max(...patches.map((t) => t.at));
}

/**
 * The newest entry addressed to our endpoint and created inside `window`. HeyGen's history is
 * account-wide: read unfiltered, a neighbour's busy types would fill the pages read (review3-busy-
 * neighbour-hides-proof). So it is read per type our endpoint subscribes to (`event_type`, which takes
 * one type): the pages read grow with our own entries, never with a neighbour's. An endpoint subscribed
 * to all events (null) reads the whole listing (every type is ours then).
 */
async function newestAddressedEntry(
  e: SecretEvidence,
  window: { from: number; until: number },
  events: readonly string[] | null,
  signal?: AbortSignal,
): Promise<{ entry: HistoryEvent; tied: boolean } | null> {
  let newest: { entry: HistoryEvent; tied: boolean } | null = null;
  for (const eventType of events === null ? [undefined] : [...new Set(events)].sort()) {
    const found = await newestOfType(e, window, eventType, signal);
    if (!found) continue;
    const at = Date.parse(found.entry.createdAt);
    const best = newest ? Date.parse(newest.entry.createdAt) : Number.NEGATIVE_INFINITY;
    if (at > best) newest = found;
    else if (newest && at === best) newest = { entry: newest.entry, tied: true };
  }
  return newest;
}

/** The newest entry of `eventType` (all types: undefined) in `window`, from the listing's first pages (newest first). */
async function newestOfType(
  e: SecretEvidence,
  window: { from: number; until: number },
  eventType: string | undefined,
  signal?: AbortSignal,
): Promise<{ entry: HistoryEvent; tied: boolean } | null> {
  let newest: HistoryEvent | null = null;
  let tied = false;
  let token: string | undefined;
  for (let page = 0; page < (e.maxPages ?? 3); page++) {
    const query = { limit: 100, ...(eventType ? { eventType } : {}), ...(token ? { token } : {}) };
    const got = await e.history.listEvents(query, { ...(signal ? { signal } : {}) });
    for (const entry of got.events) {
      const created = Date.parse(entry.createdAt);
      if (!(created >= window.from && created <= window.until)) continue;
      if (eventType !== undefined && !addressedToUs(entry, { events: [eventType] })) continue; // a filter not applied
      if (newest && created === Date.parse(newest.createdAt) && entry.eventId !== newest.eventId) tied = true;
      if (!newest || created > Date.parse(newest.createdAt)) {
        newest = entry;
        tied = false;
      }
    }
    const oldest = got.events.at(-1);
    if (got.nextToken === null || (oldest && Date.parse(oldest.createdAt) < window.from)) break;
    token = got.nextToken;
  }
  return newest ? { entry: newest, tied } : null;
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
  // AWSCURRENT left the version read (AWSPREVIOUS now; another if a conflict made the writer re-read).
  return { version, current: { secret, endpointId, url }, pending: null, previous: before.version };
}
