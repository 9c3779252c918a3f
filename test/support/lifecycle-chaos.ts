/**
 * Model-based exploration of the HeyGen secret lifecycle: registrar runs (the hourly tick, the
 * after-deploy trigger, `heygen-relay reconcile`), rotation steps (Secrets Manager's four steps with
 * its retries), operator writes and changes at HeyGen run concurrently; fast-check's scheduler
 * decides the order of every call they make (HeyGen API, Secrets Manager, the lease) and crashes are
 * injected before or after any call (a crash after a call is the dangerous kind: HeyGen changed the
 * secret and the answer is lost). A crashed Lambda never releases its lease; time only moves when
 * someone waits (a virtual clock), so leases expire exactly when the model says.
 *
 * The fakes are the faithful ones: HeyGen's API in-process through the same OpenAPI-validated path
 * as over HTTP (old secret dead the moment rotate-secret answers, Idempotency-Key replays for 24 h),
 * Secrets Manager with AWS's version-stage semantics (contract-tested against moto).
 *
 * Invariant once the system is quiet (leases expired, one more registrar run):
 * - exactly one endpoint points at the relay, with the configured events, and (unless an operator
 *   wiped the stored value, which forgets which endpoint was ours) none of ours points elsewhere;
 * - the ingress verifies HeyGen's current secret (AWSCURRENT or AWSPENDING holds it);
 * - no retired secret stays accepted through AWSPENDING;
 * - a rotation can still start and finish, ending on HeyGen's secret;
 * - after a day of hourly scheduled backfill runs (they also run, and crash, during the schedule),
 *   every event HeyGen delivered is on the bus exactly once.
 * Used by test/unit/heygen-lifecycle-chaos.test.ts (bounded) and scripts/chaos.ts (`npm run chaos`).
 */

import { createHmac } from 'node:crypto';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import fc from 'fast-check';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import { type LeaseGrant, type LeaseIntent, type LeaseStore, MemoryLeaseStore } from '../../functions/core/lease.js';
import type { DedupMode, SigningKeySource } from '../../functions/core/ports.js';
import { MemoryBackfillCheckpoint, scheduledBackfill } from '../../functions/heygen-backfill-plan.js';
import { HeyGenWebhookClient } from '../../functions/providers/heygen/api/client.js';
import { BACKFILL_DEFAULTS, type DedupIndex } from '../../functions/providers/heygen/backfill.js';
import { heygenEventKey } from '../../functions/providers/heygen/event-key.js';
import { heygen as heygenProvider } from '../../functions/providers/heygen/index.js';
import { type ReconcileSummary, reconcile } from '../../functions/providers/heygen/registrar.js';
import { type RotationEvent, rotationStep } from '../../functions/providers/heygen/rotation.js';
import { FAKE_API_KEY, type FakeHeyGenApi } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';

export const CHAOS_URL = 'https://chaos.lambda-url.eu-west-1.on.aws/heygen';
const FOREIGN_URL = 'https://somewhere-else.example.com/hook';
const NAME = 'heygen-signing';
const LEASE = `heygen:${NAME}`;
const EVENTS = ['avatar_video.fail', 'avatar_video.success'];
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

export type ActorSpec =
  | {
      readonly kind: 'registrar' | 'cli';
      readonly crashAt: number | null;
      readonly crashAfter: boolean;
      readonly stall?: boolean;
    }
  | { readonly kind: 'rotation'; readonly crashes: readonly (number | null)[]; readonly crashAfter: boolean }
  | { readonly kind: 'operator'; readonly op: 'reset' | 'paste-plain' }
  | { readonly kind: 'provider'; readonly op: 'delete' | 'edit-url' | 'disable' }
  /** HeyGen delivers one event (listed in its history); the relay may be down; HeyGen retries `retries` times. */
  | { readonly kind: 'delivery'; readonly relayDown: boolean; readonly retries: number }
  /** A scheduled backfill run (functions/heygen-backfill-plan.ts scheduledBackfill), which may die at one of its calls. */
  | { readonly kind: 'backfill'; readonly crashAt: number | null; readonly crashAfter: boolean };

export interface ChaosScenario {
  readonly initial: 'empty' | 'registered' | 'rotated';
  /** The ingress's dedup mode. */
  readonly dedupMode: DedupMode;
  readonly actors: readonly ActorSpec[];
}

const crashPoint = fc.option(fc.nat({ max: 14 }), { nil: null, freq: 2 });
export const actorArb: fc.Arbitrary<ActorSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('registrar' as const), crashAt: crashPoint, crashAfter: fc.boolean() }),
  },
  {
    // The CLI has no Lambda timeout: besides dying, it can stall (a suspended laptop) past its lease.
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('cli' as const),
      crashAt: crashPoint,
      crashAfter: fc.boolean(),
      stall: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('rotation' as const),
      crashes: fc.array(crashPoint, { minLength: 1, maxLength: 4 }),
      crashAfter: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('operator' as const),
      op: fc.constantFrom('reset' as const, 'paste-plain' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('backfill' as const), crashAt: crashPoint, crashAfter: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('provider' as const),
      op: fc.constantFrom('delete' as const, 'edit-url' as const, 'disable' as const),
    }),
  },
);
const deliveryArb: fc.Arbitrary<ActorSpec> = fc.record({
  kind: fc.constant('delivery' as const),
  relayDown: fc.nat({ max: 4 }).map((n) => n === 0),
  retries: fc.nat({ max: 2 }),
});
export const scenarioArb: fc.Arbitrary<ChaosScenario> = fc.record({
  initial: fc.constantFrom('empty' as const, 'registered' as const, 'rotated' as const),
  dedupMode: fc.constantFrom('record' as const, 'claim' as const),
  actors: fc
    .tuple(fc.array(actorArb, { minLength: 2, maxLength: 5 }), fc.array(deliveryArb, { minLength: 1, maxLength: 4 }))
    .chain(([a, d]) => fc.shuffledSubarray([...a, ...d], { minLength: a.length + d.length })),
});

class Crash extends Error {
  constructor() {
    super('crash (injected)');
    this.name = 'Crash';
  }
}

export interface ChaosStats {
  runs: number;
  scheduledCalls: number;
  crashes: number;
  rotationsStarted: number;
  registrarRuns: number;
  operatorWrites: number;
  providerChanges: number;
  busy: number;
  stalls: number;
  /** Events HeyGen delivered (listed in its history), attempts the relay refused or failed, events it never received. */
  eventsDelivered: number;
  attemptsRejected: number;
  eventsNotReceived: number;
  /** Events the backfill runs published; events missing from the bus or on it twice (both must stay 0). */
  backfilled: number;
  /** Scheduled backfill runs (during the schedule and the hourly ones once quiet), and of those the sweeps. */
  backfillRuns: number;
  sweeps: number;
  lost: number;
  publishedTwice: number;
}

export function emptyStats(): ChaosStats {
  return {
    runs: 0,
    scheduledCalls: 0,
    crashes: 0,
    rotationsStarted: 0,
    registrarRuns: 0,
    operatorWrites: 0,
    providerChanges: 0,
    busy: 0,
    stalls: 0,
    eventsDelivered: 0,
    attemptsRejected: 0,
    eventsNotReceived: 0,
    backfilled: 0,
    backfillRuns: 0,
    sweeps: 0,
    lost: 0,
    publishedTwice: 0,
  };
}

/** One run of a scenario; returns the invariant violations (empty = fine). */
export async function runScenario(
  s: fc.Scheduler,
  scenario: ChaosScenario,
  heygen: FakeHeyGenApi,
  stats: ChaosStats = emptyStats(),
): Promise<string[]> {
  heygen.reset();
  stats.runs++;
  const sm = new FakeSecretsManager();
  try {
    sm.create(NAME, '{"secret":null}');
    const clock = { t: Date.parse('2026-11-29T00:00:00Z') };
    const leases = new MemoryLeaseStore(() => clock.t);
    let wiped = false;
    const relay = chaosRelay(sm, scenario.dedupMode, () => clock.t);

    const gate = async (label: string) => {
      stats.scheduledCalls++;
      await s.schedule(Promise.resolve(label), label);
    };
    const vsleep = async (ms: number) => {
      clock.t += ms;
      await gate('sleep');
    };

    /** One process (a Lambda invocation, a CLI run): its calls are scheduled, and it may die at one of them. */
    class Invocation {
      private calls = 0;
      crashed = false;
      constructor(
        readonly name: string,
        private readonly crashAt: number | null,
        private readonly crashAfter: boolean,
        /** At `crashAt`, stall past every lease's expiry and go on, instead of dying. */
        private readonly stall = false,
      ) {}
      async around<T>(label: string, fn: () => Promise<T>): Promise<T> {
        if (this.crashed) throw new Crash();
        await gate(`${this.name}:${label}`);
        const n = ++this.calls;
        if (n === this.crashAt && this.stall) {
          stats.stalls++;
          await vsleep(5 * 60_000); // meanwhile others may take the expired lease
          await gate(`${this.name}:wakes up`);
        } else if (n === this.crashAt && !this.crashAfter) this.die();
        const result = await fn();
        if (n === this.crashAt && this.crashAfter && !this.stall) this.die();
        return result;
      }
      private die(): never {
        this.crashed = true;
        stats.crashes++;
        throw new Crash();
      }
      secrets(): SecretsManagerClient {
        return {
          send: (cmd: { constructor: { name: string } }, o?: unknown) =>
            this.around(cmd.constructor.name, () => sm.client.send(cmd as never, o as never)),
        } as unknown as SecretsManagerClient;
      }
      heygenClient(): HeyGenWebhookClient {
        return new HeyGenWebhookClient({
          apiKey: FAKE_API_KEY,
          baseUrl: 'http://fake',
          fetch: (input, init) =>
            this.around(`${init?.method ?? 'GET'} ${String(input).replace('http://fake', '')}`, () => heygen.fetch(input, init)),
          sleep: vsleep,
        });
      }
      leaseStore(): LeaseStore {
        return {
          name: leases.name,
          tryAcquire: (n, owner, ttl) => this.around('lease.acquire', () => leases.tryAcquire(n, owner, ttl)),
          setIntent: (g: LeaseGrant, i: LeaseIntent | null) => this.around('lease.intent', () => leases.setIntent(g, i)),
          // A dead process does not let go: its lease stays until it expires.
          release: async (g: LeaseGrant) => {
            if (!this.crashed) await leases.release(g);
          },
        };
      }
    }

    const registrarRun = (inv: Invocation): Promise<ReconcileSummary> =>
      reconcile(
        { url: CHAOS_URL, events: EVENTS },
        {
          client: inv.heygenClient(),
          secretStore: new SecretsManagerSigningSecretStore(inv.secrets(), NAME),
          lease: { store: inv.leaseStore(), name: LEASE, owner: inv.name, waitMs: 60_000, sleep: vsleep, now: () => clock.t },
          evidence: { evidence: relay.evidence, history: inv.heygenClient(), dedup: relay.check, now: () => clock.t },
        },
      );

    const checkpoint = new MemoryBackfillCheckpoint();
    /** One scheduled backfill run, as the hourly Lambda does it (its own lease, checkpoint, evidence, sweep or freshness). */
    const backfillRun = async (inv: Invocation) => {
      stats.backfillRuns++;
      const run = await scheduledBackfill({
        windowMs: 48 * 3_600_000,
        checkpoint,
        evidence: relay.evidence,
        deps: {
          history: inv.heygenClient(),
          check: relay.check,
          claim: relay.claim,
          index: relay.index,
          publisher: relay.publisher,
          evidence: relay.evidence,
          lease: { store: inv.leaseStore(), name: `heygen-backfill:${NAME}`, owner: inv.name },
          now: () => clock.t,
        },
      });
      if (run.plan?.kind === 'sweep') stats.sweeps++;
      stats.backfilled += run.summary?.backfilled ?? 0;
      return run.outcome;
    };

    const pendingToken = () =>
      Object.entries(sm.stagesOf(NAME)).find(([, st]) => st.includes('AWSPENDING') && !st.includes('AWSCURRENT'))?.[0];

    /** Secrets Manager's rotation: stage a token (or reattempt the incomplete one), four steps, each retried. */
    const rotationRun = async (name: string, crashes: readonly (number | null)[], crashAfter: boolean): Promise<string> => {
      await gate(`${name}:RotateSecret`);
      stats.rotationsStarted++;
      const token = pendingToken() ?? sm.stageRotation(NAME);
      let k = 0;
      for (const Step of STEPS) {
        for (let attempt = 1; ; attempt++) {
          const inv = new Invocation(`${name}#${k}`, crashes[k] ?? null, crashAfter);
          k++;
          try {
            await rotationStep({ SecretId: NAME, ClientRequestToken: token, Step } as RotationEvent, {
              secrets: inv.secrets(),
              heygen: inv.heygenClient(),
              endpointUrl: CHAOS_URL,
              lease: { store: inv.leaseStore(), name: LEASE, waitMs: 60_000, sleep: vsleep, now: () => clock.t },
            });
            break;
          } catch {
            if (attempt >= 3) return 'abandoned'; // Secrets Manager marks the rotation failed; its schedule retries later
          }
        }
      }
      return 'finished';
    };

    // The starting state, built without the scheduler's interference.
    if (scenario.initial !== 'empty') {
      const setup = new Invocation('setup', null, false);
      await s.waitFor(registrarRun(setup));
      if (scenario.initial === 'rotated') await s.waitFor(rotationRun('setup-rotation', [], false));
    }

    const runs = scenario.actors.map(async (a, i): Promise<unknown> => {
      const name = `${a.kind}${i}`;
      switch (a.kind) {
        case 'registrar':
        case 'cli':
          stats.registrarRuns++;
          return registrarRun(new Invocation(name, a.crashAt, a.crashAfter, a.stall === true)).then((r) => {
            if (r.outcome === 'busy') stats.busy++;
            return r.outcome;
          });
        case 'rotation':
          return rotationRun(name, a.crashes, a.crashAfter);
        case 'operator': {
          await gate(`${name}:${a.op}`);
          stats.operatorWrites++;
          wiped = true;
          const value = a.op === 'reset' ? '{"secret":null}' : `whsec_pastedByHand${i}x${Math.floor(clock.t % 1e6)}Zq`;
          return sm.client.send(new PutSecretValueCommand({ SecretId: NAME, SecretString: value }));
        }
        case 'delivery': {
          await gate(`${name}:event`);
          const [ep] = heygen.endpointsFor(CHAOS_URL);
          if (ep?.status !== 'enabled') return 'no endpoint';
          const event = { event_type: 'avatar_video.success', event_data: { video_id: `chaos-${stats.runs}-${i}` } };
          heygen.emit(ep.endpoint_id, event, clock.t);
          stats.eventsDelivered++;
          if (a.relayDown) {
            stats.eventsNotReceived++;
            return 'not received';
          }
          for (let attempt = 0; attempt <= a.retries; attempt++) {
            if (attempt > 0) await gate(`${name}:retry${attempt}`);
            const live = heygen.endpoints.get(ep.endpoint_id);
            if (!live) return 'endpoint gone';
            if ((await relay.deliver(event, live.secret)) === 200) return 'delivered';
            stats.attemptsRejected++;
          }
          return 'given up';
        }
        case 'backfill':
          return backfillRun(new Invocation(name, a.crashAt, a.crashAfter));
        case 'provider': {
          await gate(`${name}:${a.op}`);
          stats.providerChanges++;
          const [ep] = heygen.endpointsFor(CHAOS_URL);
          if (!ep) return 'nothing';
          if (a.op === 'delete') heygen.deleteBehindOurBack(ep.endpoint_id);
          else if (a.op === 'edit-url') ep.url = FOREIGN_URL;
          else ep.status = 'disabled';
          return a.op;
        }
      }
    });
    await s.waitFor(Promise.allSettled(runs));

    // Quiet: every lease has expired; one more registrar run.
    clock.t += 10 * 60_000;
    const violations: string[] = [];
    const final = await s.waitFor(registrarRun(new Invocation('quiet', null, false)));
    if (final.outcome === 'busy') violations.push('the quiet registrar run found the lease busy');
    const check = (when: string) => {
      const ours = heygen.endpointsFor(CHAOS_URL);
      if (ours.length !== 1) violations.push(`${when}: ${ours.length} endpoints point at the relay`);
      if (!wiped && heygen.endpoints.size !== 1)
        violations.push(`${when}: ${heygen.endpoints.size - ours.length} endpoint(s) of ours deliver elsewhere`);
      const [ep] = ours;
      if (!ep) return;
      if (JSON.stringify([...(ep.events ?? [])].sort()) !== JSON.stringify(EVENTS))
        violations.push(`${when}: events ${JSON.stringify(ep.events)}`);
      const parse = (v: string | undefined) =>
        v === undefined ? undefined : (JSON.parse(v) as { secret?: string | null }).secret;
      const current = parse(sm.value(NAME));
      const pending = parse(sm.value(NAME, 'AWSPENDING'));
      if (current !== ep.secret && pending !== ep.secret)
        violations.push(`${when}: LOCKOUT, the ingress does not accept HeyGen's secret`);
      if (pending !== undefined && pending !== ep.secret)
        violations.push(`${when}: a retired secret stays accepted through AWSPENDING`);
    };
    check('quiet');
    // And a rotation can still start and finish (nothing blocks it), ending on HeyGen's secret.
    const rotated = await s.waitFor(rotationRun('after', [], false));
    if (rotated !== 'finished') violations.push('a rotation after the quiet run did not finish');
    check('after a rotation');
    const [ep] = heygen.endpointsFor(CHAOS_URL);
    const current = sm.value(NAME);
    if (ep && current && (JSON.parse(current) as { secret?: string }).secret !== ep.secret)
      violations.push('after a rotation: AWSCURRENT is not HeyGen secret');
    // And the hourly backfill for a day (no trouble needs to have been recorded: the daily sweep looks
    // at every entry): every event HeyGen delivered is on the bus exactly once.
    for (let h = 0; h < 25; h++) {
      clock.t += 3_600_000;
      await s.waitFor(backfillRun(new Invocation(`backfill-quiet${h}`, null, false)));
    }
    const onBus = new Map<string, number>();
    for (const e of relay.bus) onBus.set(e.id, (onBus.get(e.id) ?? 0) + 1);
    for (const entry of heygen.history) {
      const n = onBus.get(heygenEventKey(JSON.stringify({ event_type: entry.event_type, event_data: entry.event_data }))) ?? 0;
      if (n === 0) {
        stats.lost++;
        violations.push(`event ${entry.event_id} (${JSON.stringify(entry.event_data)}) never reached the bus`);
      } else if (n > 1) {
        stats.publishedTwice++;
        violations.push(`event ${entry.event_id} reached the bus ${n} times`);
      }
    }
    if (relay.bus.length !== heygen.history.length)
      violations.push(`${relay.bus.length} events on the bus for ${heygen.history.length} delivered`);
    violations.push(...heygen.violations.map((v) => `HeyGen API contract: ${v}`));
    return violations;
  } finally {
    sm.mock.restore();
  }
}

/**
 * The relay in the model: the real ingress pipeline, verifying against what Secrets Manager holds
 * (AWSCURRENT and AWSPENDING, as the ingress accepts them), in-memory dedup in the scenario's mode,
 * delivery evidence, and a bus that records what reached it.
 */
function chaosRelay(sm: FakeSecretsManager, mode: DedupMode, now: () => number) {
  const entries = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode, now });
  // The backfill's read-only and claiming views of the same table.
  const view = (m: DedupMode) => {
    // The backfill's lock, as functions/backfill.ts sets it.
    const v = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: BACKFILL_DEFAULTS.claimLockSeconds, mode: m, now });
    Object.assign(v, { entries: (entries as unknown as { entries: unknown }).entries });
    return v;
  };
  const evidence = new MemoryEvidenceStore();
  const table = (entries as unknown as { entries: Map<string, { status: string; expiresAt: number }> }).entries;
  const isPublished = (k: string) => {
    const e = table.get(k);
    return e?.status === 'COMPLETED' && e.expiresAt > now();
  };
  /** The eventually consistent view (a Scan / BatchGetItem of the table); here always current. */
  const index: DedupIndex = {
    publishedKeys: async () => new Set([...table.keys()].filter(isPublished)),
    published: async (keys) => new Set(keys.filter(isPublished)),
  };
  const bus: RelayEvent[] = [];
  const publisher = { publish: async (e: RelayEvent) => void bus.push(e) };
  const secretOf = (stage?: string) => {
    const raw = sm.value(NAME, stage);
    try {
      return raw === undefined ? undefined : ((JSON.parse(raw) as { secret?: string | null }).secret ?? undefined);
    } catch {
      return raw;
    }
  };
  const keys: SigningKeySource = {
    getKeys: async () =>
      [secretOf(), secretOf('AWSPENDING')]
        .filter((x): x is string => typeof x === 'string')
        .map((secret) => ({ secret, label: 'chaos' })),
    refresh: async () => keys.getKeys(),
  };
  const quiet: Telemetry = { debug() {}, info() {}, warn() {}, error() {}, count() {} };
  const ingress = createIngress({
    routes: [{ provider: heygenProvider, path: '/heygen', keys, timestampToleranceSeconds: 0, budgetMs: 8_000, dedup: entries }],
    maxBodyBytes: 256 * 1024,
    publisher,
    telemetry: quiet,
    now,
    onTrouble: evidenceRecorder(evidence, { intervalMs: 0, now }),
  });
  return {
    bus,
    evidence,
    publisher,
    index,
    check: view('record'),
    claim: view('claim'),
    async deliver(event: { event_type: string; event_data: Record<string, unknown> }, secret: string): Promise<number> {
      const raw = JSON.stringify(event);
      const res = await ingress({
        method: 'POST',
        path: '/heygen',
        headers: { 'heygen-signature': createHmac('sha256', secret).update(raw).digest('hex') },
        body: Buffer.from(raw),
        requestId: 'chaos',
      });
      return res.statusCode;
    },
  };
}

/** The property: no scenario ends with a violated invariant. */
export function lifecycleProperty(heygen: FakeHeyGenApi, stats: ChaosStats) {
  return fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, scenario) => {
    const violations = await runScenario(s, scenario, heygen, stats);
    if (violations.length > 0)
      throw new Error(
        `invariant violated:\n  ${violations.join('\n  ')}\nlast scheduled calls:\n${s
          .report()
          .slice(-60)
          .map((t) => `  ${t.label}`)
          .join('\n')}`,
      );
  });
}
