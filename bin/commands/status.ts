/**
 * `heygen-relay status`: the relay's health on one screen, and exit code 3 when something needs a
 * person (each reason listed under "needs attention").
 *
 * Where each line comes from (nothing here is a second copy of state):
 * - HeyGen endpoint: HeyGen's API (GET /v3/webhooks/endpoints), with HEYGEN_API_KEY or the key the
 *   stack's API-key secret holds;
 * - signing secret: Secrets Manager (DescribeSecret, ListSecretVersionIds): versions, stages, ages,
 *   last and next rotation;
 * - registrar and backfill: their last run's outcome is what they emit as metrics (`RegistrarRuns`
 *   and `BackfillRuns` by Outcome, docs/behaviour.md#metrics), read with GetMetricData over 7 days;
 *   the backfill's checkpoint and the ingress's delivery evidence are items of the state table
 *   (`backfill#heygen`, `evidence#heygen`, functions/adapters/aws/dynamodb-evidence.ts);
 * - queues: SQS depths of every relay queue, its dead-letter queue and the bus targets' one;
 * - alarms: CloudWatch DescribeAlarms in state ALARM (the stack's: CloudFormation names them
 *   `<stack>-<logical id>-<suffix>`; without --stack, those described `heygen-relay: ...`);
 * - last 24 h: GetMetricData sums of the ingress and backfill counters (every dimension set
 *   ListMetrics knows), per provider and reason;
 * - parked deliveries: the parked bucket;
 * - temporary listen/replay routes left by a dead process are removed (and listed).
 */
import {
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Metric,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { S3ParkedArchive } from '../../functions/adapters/aws/parked-store.js';
import { readHeyGenApiKey, SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { sweepTempRoutes } from '../../functions/adapters/aws/temp-routes.js';
import { parseTakeovers, type Takeover } from '../../functions/core/heal-journal.js';
import {
  HEYGEN_BACKFILL_SERVICE,
  HEYGEN_REGISTRAR_SERVICE,
  JOGGAI_REGISTRAR_SERVICE,
  METRICS_NAMESPACE,
} from '../../functions/core/observability-names.js';
import { listParked } from '../../functions/wiring/parked-ops.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import type { UncoveredPeriod } from '../../providers/heygen/runtime/backfill.js';
import { type ListingWatch, WATCH_GAP_MS } from '../../providers/heygen/runtime/history-proof.js';
import { HEAL_RATE_WINDOW_MS, normalizeUrl } from '../../providers/heygen/runtime/registrar.js';
import { describeUncovered } from './backfill-run.js';
import { depthOf } from './redrive.js';
import { type CliIo, Ctx, EXIT, type Run, type StackOutputs, UsageError, withCommon, withSource } from './shared.js';
import { type Conditions, conditionEntries, conditionLines, judgeConditions } from './status-conditions.js';
import { discoverTopology } from './topology.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  bus?: string;
  signingSecretId?: string;
  stateTable?: string;
  apiUrl?: string;
}

export interface StatusReport {
  readonly at: string;
  readonly stack?: string;
  readonly endpoint?: {
    readonly url?: string;
    readonly found: { id: string; url: string; status: string; events: string[] | null }[];
    readonly error?: string;
  };
  readonly signingSecret?: {
    readonly id: string;
    readonly stored: boolean;
    readonly versions: { id: string; stages: string[]; createdAt?: string; ageDays?: number }[];
    readonly rotationEnabled: boolean;
    readonly rotationDays?: number;
    readonly lastRotated?: string;
    readonly nextRotation?: string;
  };
  /** Each service's newest runs: every outcome of that hour (runs of one hour share a datapoint), the one needing a person first. */
  readonly runs: Record<string, { outcome: string; outcomes: string[]; at: string } | null>;
  readonly backfillCheckedThrough?: string | null;
  /** How long HeyGen was seen keeping its history, and when a run last read it to its end (history-proof.ts). */
  readonly backfillHistory?: string;
  /** Periods the backfill could not cover, not yet acknowledged (`heygen-relay backfill --acknowledge-gap`). */
  readonly backfillUncovered?: readonly string[];
  readonly evidence?: Record<string, string | null>;
  readonly queues: { route: string; queue: string; waiting: number; inFlight: number; deadLetters: number | null }[];
  readonly targetDeadLetters?: number;
  readonly alarms: { name: string; reason: string; since?: string }[];
  readonly last24h: Record<string, Record<string, number>>;
  readonly parked?: number;
  readonly sweptTemporaryRoutes: string[];
  /** Each condition under which events stop flowing until a person acts (status-conditions.ts): null when it does not hold. */
  readonly conditions: Conditions;
  readonly attention: string[];
}

const DAY = 86_400_000;
const ago = (now: number, at: number) => {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
};

const STAGE_ORDER = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'];
const stageRank = (stages: string[]) => Math.min(...stages.map((s) => (STAGE_ORDER.includes(s) ? STAGE_ORDER.indexOf(s) : 9)));

/** Outcomes of a registrar or backfill run that a retry will not fix by itself. */
const BAD_RUN = new Set([
  'failed',
  'unauthorized',
  'missing_api_key',
  'limit_reached',
  'secret_mismatch',
  'endpoint_disabled',
  'second_writer',
  'stray_endpoint',
]);
/** What a person does about a bad run outcome that is not a condition of its own (default: read the run's logs). */
const RUN_ADVICE: Readonly<Record<string, string>> = {
  stray_endpoint:
    "a registrar run died after HeyGen created our endpoint, and an endpoint made then with our events is at another URL (the registrar's log names it): it was not touched, since it may be another app's; check it in HeyGen's dashboard and delete it if it is not",
};
/** Outcomes reported as conditions (status-conditions.ts) rather than as a bad run. */
const AS_CONDITION = new Set(['endpoint_disabled', 'second_writer']);
/** The order outcomes of one hour are listed in: those needing a person first (BAD_RUN's order), then by name. */
const outcomeOrder = (a: string, b: string) =>
  (BAD_RUN.has(a) ? [...BAD_RUN].indexOf(a) : BAD_RUN.size) - (BAD_RUN.has(b) ? [...BAD_RUN].indexOf(b) : BAD_RUN.size) ||
  a.localeCompare(b);

async function allMetrics(ctx: Ctx, metricName: string): Promise<Metric[]> {
  const out: Metric[] = [];
  let next: string | undefined;
  do {
    const page = await ctx
      .cw()
      .send(new ListMetricsCommand({ Namespace: METRICS_NAMESPACE, MetricName: metricName, NextToken: next }));
    out.push(...(page.Metrics ?? []));
    next = page.NextToken;
  } while (next);
  return out;
}

/** Sums (and the newest non-zero hour) of each metric over [start, end), hourly. */
async function sums(ctx: Ctx, metrics: Metric[], start: number, end: number): Promise<{ sum: number; last: number | null }[]> {
  const results: { sum: number; last: number | null }[] = metrics.map(() => ({ sum: 0, last: null }));
  for (let i = 0; i < metrics.length; i += 500) {
    const batch = metrics.slice(i, i + 500);
    let next: string | undefined;
    do {
      const res = await ctx.cw().send(
        new GetMetricDataCommand({
          StartTime: new Date(start),
          EndTime: new Date(end),
          NextToken: next,
          MetricDataQueries: batch.map((m, j) => ({
            Id: `m${i + j}`,
            MetricStat: { Metric: m, Period: 3600, Stat: 'Sum' },
            ReturnData: true,
          })),
        }),
      );
      for (const r of res.MetricDataResults ?? []) {
        const k = Number((r.Id ?? 'm-1').slice(1));
        const slot = results[k];
        if (!slot) continue;
        (r.Values ?? []).forEach((v, n) => {
          slot.sum += v;
          const t = r.Timestamps?.[n]?.getTime();
          if (v > 0 && t !== undefined && (slot.last === null || t > slot.last)) slot.last = t;
        });
      }
      next = res.NextToken;
    } while (next);
  }
  return results;
}

const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const dim = (m: Metric, name: string) => m.Dimensions?.find((d) => d.Name === name)?.Value;

/**
 * The newest runs of a service (`RegistrarRuns` or `BackfillRuns`) over the last 7 days: runs of one
 * hour share a datapoint, so every outcome of the newest hour is returned (none is picked by the order
 * CloudWatch lists them in), those needing a person first.
 */
async function lastRun(
  ctx: Ctx,
  metricName: string,
  service: RegExp,
  now: number,
): Promise<{ outcome: string; outcomes: string[]; at: string } | null> {
  const metrics = (await allMetrics(ctx, metricName)).filter((m) => service.test(dim(m, 'service') ?? '') && dim(m, 'Outcome'));
  if (metrics.length === 0) return null;
  const got = await sums(ctx, metrics, now - 7 * DAY, now);
  const newest = Math.max(...got.map((g) => g.last ?? Number.NEGATIVE_INFINITY));
  if (!Number.isFinite(newest)) return null;
  const outcomes = [
    ...new Set(got.flatMap((g, i) => (g.last === newest ? [dim(metrics[i] as Metric, 'Outcome') ?? '?'] : []))),
  ].sort(outcomeOrder);
  return { outcome: outcomes[0] as string, outcomes, at: new Date(newest).toISOString() };
}

const COUNTERS = ['Received', 'Published', 'Duplicate', 'ConcurrentDuplicate', 'Rejected', 'Failed', 'Parked', 'Backfilled'];

async function last24h(ctx: Ctx, now: number): Promise<Record<string, Record<string, number>>> {
  const metrics: Metric[] = [];
  for (const name of COUNTERS) metrics.push(...(await allMetrics(ctx, name)));
  const got = await sums(ctx, metrics, now - DAY, now);
  const out: Record<string, Record<string, number>> = {};
  got.forEach((g, i) => {
    const m = metrics[i] as Metric;
    const provider = dim(m, 'provider') ?? '-';
    const reason = dim(m, 'reason');
    const key = `${m.MetricName}${reason ? ` ${reason}` : ''}`;
    out[provider] ??= {};
    const p = out[provider] as Record<string, number>;
    p[key] = (p[key] ?? 0) + g.sum;
  });
  return out;
}

async function alarmsInAlarm(ctx: Ctx, stack: string | undefined): Promise<MetricAlarm[]> {
  const out: MetricAlarm[] = [];
  let next: string | undefined;
  do {
    const page = await ctx
      .cw()
      .send(
        new DescribeAlarmsCommand({ StateValue: 'ALARM', NextToken: next, ...(stack ? { AlarmNamePrefix: `${stack}-` } : {}) }),
      );
    out.push(...(page.MetricAlarms ?? []));
    next = page.NextToken;
  } while (next);
  // StateValue is asked for and checked again: moto ignores it next to AlarmNamePrefix (pinned in moto-capabilities).
  const firing = out.filter((a) => a.StateValue === 'ALARM');
  return stack ? firing : firing.filter((a) => (a.AlarmDescription ?? '').startsWith('heygen-relay:'));
}

/** Runs one part of the report; its failure becomes a line (and attention) rather than the end of the report. */
async function part<T>(attention: string[], what: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    attention.push(`could not read ${what}: ${(err as Error).name}: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** What every part of the report reads: the relay found, the clock, and where attention lines go. */
interface Survey {
  readonly ctx: Ctx;
  readonly o: Options;
  readonly outputs: StackOutputs;
  readonly now: number;
  readonly busName: string;
  /** How the suggested commands find this relay, so each can be pasted as printed. */
  readonly where: string;
  readonly attention: string[];
}

export async function collectStatus(ctx: Ctx, o: Options): Promise<StatusReport> {
  const outputs = await ctx.outputs();
  const busName = o.bus ?? outputs.eventBusName;
  if (!busName) throw new UsageError('status needs --stack or --bus');
  const where = o.stack ? `--stack ${o.stack}` : `--bus ${busName}`;
  const s: Survey = { ctx, o, outputs, now: ctx.now(), busName, where, attention: [] };
  const swept =
    (await part(s.attention, 'the temporary listen/replay routes', () => sweepTempRoutes(ctx, busName)))?.removed ?? [];
  const { queues, targetDeadLetters } = await queueDepths(s);
  const alarms = await firingAlarms(s);
  const signingSecret = await signingSecretStatus(s);
  const endpoint = await endpointStatus(s);
  const runs = await lastRuns(s);
  const { report: state, uncovered, historyKeptMs, takeovers } = await stateTableStatus(s);
  const counts = await deliveryCounts(s);
  const parked = await parkedCount(s);
  const conditions = judgeConditions(
    {
      where,
      ...(endpoint && !endpoint.error ? { endpoints: endpoint.found.map((e) => ({ id: e.id, status: e.status })) } : {}),
      registrar: runs.registrar ?? null,
      uncovered,
      historyKeptMs,
      takeovers,
      now: s.now,
    },
    HEAL_RATE_WINDOW_MS,
  );
  s.attention.unshift(...conditionLines(conditions));
  return {
    at: new Date(s.now).toISOString(),
    ...(o.stack ? { stack: o.stack } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(signingSecret ? { signingSecret } : {}),
    runs,
    ...state,
    queues,
    ...(targetDeadLetters !== undefined ? { targetDeadLetters } : {}),
    alarms,
    last24h: counts,
    ...(parked !== undefined ? { parked } : {}),
    sweptTemporaryRoutes: swept,
    conditions,
    attention: s.attention,
  };
}

/** Every relay queue's depth and dead letters, and the bus targets' dead-letter queue. */
async function queueDepths(s: Survey): Promise<Pick<StatusReport, 'queues' | 'targetDeadLetters'>> {
  const { ctx, attention, where } = s;
  const topology = await discoverTopology(ctx, s.busName);
  const queues: StatusReport['queues'] = [];
  for (const q of topology.queues) {
    const d = await depthOf(ctx, q.queue);
    const dl = q.deadLetterQueue ? await depthOf(ctx, q.deadLetterQueue) : undefined;
    const deadLetters = dl ? dl.visible + dl.inFlight : null;
    queues.push({ route: q.route, queue: q.queue.name, waiting: d.visible, inFlight: d.inFlight, deadLetters });
    if (deadLetters)
      attention.push(
        `${deadLetters} message(s) in the dead-letter queue of ${q.route}: fix the consumer, then heygen-relay redrive ${where} --queue ${q.route}`,
      );
  }
  if (!topology.targetDeadLetterQueue) return { queues };
  const d = await depthOf(ctx, topology.targetDeadLetterQueue);
  const targetDeadLetters = d.visible + d.inFlight;
  if (targetDeadLetters)
    attention.push(
      `${targetDeadLetters} event(s) EventBridge could not deliver to a queue (${topology.targetDeadLetterQueue.name}): fix the queue policy or key, then heygen-relay replay ${where} --from <when it began> for their window`,
    );
  return { queues, targetDeadLetters };
}

async function firingAlarms(s: Survey): Promise<StatusReport['alarms']> {
  const alarms = ((await part(s.attention, 'the alarms', () => alarmsInAlarm(s.ctx, s.o.stack))) ?? []).map((a) => ({
    name: a.AlarmName ?? '?',
    reason: a.AlarmDescription ?? a.StateReason ?? '',
    ...(a.StateUpdatedTimestamp ? { since: a.StateUpdatedTimestamp.toISOString() } : {}),
  }));
  for (const a of alarms) s.attention.push(`alarm ${a.name} is in ALARM${a.since ? ` since ${a.since}` : ''}`);
  return alarms;
}

/** The signing secret's versions, stages, ages and rotation; whether one is stored; a rotation left pending. */
async function signingSecretStatus(s: Survey): Promise<StatusReport['signingSecret']> {
  const { ctx, now, attention } = s;
  const secretId = s.o.signingSecretId ?? s.outputs.signingSecretArn;
  if (!secretId) return undefined;
  const signingSecret = await part(attention, 'the signing secret', async () => {
    const d = await ctx.sm().send(new DescribeSecretCommand({ SecretId: secretId }));
    const v = await ctx.sm().send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: false }));
    const stored = (await new SecretsManagerSigningSecretStore(ctx.sm(), secretId).get()) !== null;
    const versions = (v.Versions ?? [])
      .map((x) => ({
        id: x.VersionId ?? '?',
        stages: x.VersionStages ?? [],
        ...(x.CreatedDate
          ? { createdAt: x.CreatedDate.toISOString(), ageDays: Math.max(0, Math.floor((now - x.CreatedDate.getTime()) / DAY)) }
          : {}),
      }))
      .filter((x) => x.stages.length > 0)
      .sort((a, b) => stageRank(a.stages) - stageRank(b.stages) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    return {
      id: secretId,
      stored,
      versions,
      rotationEnabled: d.RotationEnabled === true,
      ...(d.RotationRules?.AutomaticallyAfterDays ? { rotationDays: d.RotationRules.AutomaticallyAfterDays } : {}),
      ...(d.LastRotatedDate ? { lastRotated: d.LastRotatedDate.toISOString() } : {}),
      ...(d.NextRotationDate ? { nextRotation: d.NextRotationDate.toISOString() } : {}),
    };
  });
  if (signingSecret && !signingSecret.stored)
    attention.push(
      'no signing secret is stored yet: put the HeyGen API key into its secret; the registrar registers and stores it',
    );
  const pending = signingSecret?.versions.find((x) => x.stages.includes('AWSPENDING') && !x.stages.includes('AWSCURRENT'));
  if (pending?.createdAt && now - Date.parse(pending.createdAt) > 3_600_000)
    attention.push(`a rotation has been pending since ${pending.createdAt} (see the rotation function's logs)`);
  return signingSecret;
}

/** HeyGen's view of the endpoint (its API, with HEYGEN_API_KEY or the stack's API-key secret). */
async function endpointStatus(s: Survey): Promise<StatusReport['endpoint']> {
  const { ctx, o, outputs, attention } = s;
  if (!outputs.webhookUrl && !outputs.apiKeySecretArn) return undefined;
  const url = outputs.webhookUrl;
  const at = url ? { url } : {};
  let key = ctx.io.env.HEYGEN_API_KEY?.trim() || null;
  if (!key && outputs.apiKeySecretArn)
    key =
      (await part(attention, 'the HeyGen API key secret', () => readHeyGenApiKey(ctx.sm(), outputs.apiKeySecretArn as string))) ??
      null;
  if (!key) {
    attention.push("HeyGen's API key is not set: put it into the stack's ApiKeySecretArn secret");
    return { ...at, found: [], error: "no HeyGen API key (HEYGEN_API_KEY, or the stack's API-key secret)" };
  }
  const client = new HeyGenWebhookClient({
    apiKey: key,
    baseUrl: o.apiUrl ?? ctx.io.env.HEYGEN_API_URL ?? DEFAULT_HEYGEN_API_URL,
  });
  try {
    const target = url ? normalizeUrl(url) : undefined;
    const found = (await client.listEndpoints())
      .filter((e) => target === undefined || normalizeUrl(e.url) === target)
      .map((e) => ({ id: e.endpoint_id, url: e.url, status: e.status, events: e.events ?? null }));
    if (found.length === 0)
      attention.push(
        `HeyGen has no endpoint at ${url}: heygen-relay reconcile ${o.stack ? `--stack ${o.stack}` : `--endpoint-url ${url}`}`,
      );
    if (found.length > 1) attention.push(`HeyGen has ${found.length} endpoints at ${url}; the registrar deletes duplicates`);
    // A disabled endpoint is a condition (endpoint_disabled, status-conditions.ts).
    return { ...at, found };
  } catch (err) {
    attention.push(`HeyGen's API: ${(err as Error).message}`);
    return { ...at, found: [], error: (err as Error).message };
  }
}

/** The last registrar (HeyGen, JoggAI when the stack has it) and backfill runs, from their metrics. */
async function lastRuns(s: Survey): Promise<StatusReport['runs']> {
  const { ctx, now, attention } = s;
  const newest = (what: string, metricName: string, service: string) =>
    part(attention, what, () => lastRun(ctx, metricName, exactly(service), now)).then((r) => r ?? null);
  const runs: StatusReport['runs'] = {};
  runs.registrar = await newest('the registrar runs', 'RegistrarRuns', ctx.service(HEYGEN_REGISTRAR_SERVICE));
  if (s.outputs.joggaiWebhookUrl)
    runs['JoggAI registrar'] = await newest('the JoggAI registrar runs', 'RegistrarRuns', JOGGAI_REGISTRAR_SERVICE);
  runs.backfill = await newest('the backfill runs', 'BackfillRuns', ctx.service(HEYGEN_BACKFILL_SERVICE));
  for (const [name, r] of Object.entries(runs))
    for (const outcome of r?.outcomes ?? [])
      if (BAD_RUN.has(outcome) && !(name === 'registrar' && AS_CONDITION.has(outcome)))
        attention.push(`the last ${name} run (${r?.at}) ended ${outcome}: ${RUN_ADVICE[outcome] ?? 'see its logs'}`);
  return runs;
}

/**
 * What proves HeyGen's history reached back far enough (providers/heygen/runtime/history-proof.ts): how
 * long HeyGen was seen keeping an entry, and when a run last read its listing to the end.
 */
export function describeHistoryWatch(
  item: Record<string, { N?: string; S?: string }> | undefined,
  now: number,
): string | undefined {
  if (!item) return undefined;
  const kept = item.historyKeptMs?.N === undefined ? null : Number(item.historyKeptMs.N);
  const watch = item.watch?.S ? (JSON.parse(item.watch.S) as ListingWatch) : null;
  const keptText =
    kept === null ? 'HeyGen never seen keeping an entry' : `HeyGen seen keeping entries ${Math.round(kept / 360_000) / 10} h`;
  if (!watch) return keptText;
  const gap = Math.max(watch.maxGapMs, now - watch.lastAt);
  return `${keptText}; listing last read to its end ${ago(now, watch.lastAt)} (longest gap since the last sweep ${Math.round(gap / 360_000) / 10} h; up to ${WATCH_GAP_MS / 3_600_000} h watched)`;
}

/** What the state table holds beyond the report's lines: the backfill's periods and history, the registrar's takeovers. */
interface StateFacts {
  readonly report: Pick<StatusReport, 'backfillCheckedThrough' | 'backfillHistory' | 'backfillUncovered' | 'evidence'>;
  readonly uncovered: UncoveredPeriod[];
  readonly historyKeptMs: number | null;
  readonly takeovers: Takeover[];
}

/** The backfill's checkpoint and uncovered periods, the registrar's heal journal, and the ingress's delivery evidence (state table items). */
async function stateTableStatus(s: Survey): Promise<StateFacts> {
  const { ctx, attention } = s;
  const stateTable = s.o.stateTable ?? s.outputs.stateTableName;
  const signingSecretId = s.o.signingSecretId ?? s.outputs.signingSecretArn;
  let backfillCheckedThrough: string | null | undefined;
  let backfillUncovered: string[] | undefined;
  let backfillHistory: string | undefined;
  let evidence: Record<string, string | null> | undefined;
  let uncovered: UncoveredPeriod[] = [];
  let historyKeptMs: number | null = null;
  let takeovers: Takeover[] = [];
  if (stateTable)
    await part(attention, 'the state table', async () => {
      const get = (pk: string) =>
        ctx.ddb().send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: pk } }, ConsistentRead: true }));
      const item = (await get(`backfill#${ctx.sourceId}`)).Item;
      const cp = item?.checkedThrough?.N;
      backfillCheckedThrough = cp === undefined ? null : new Date(Number(cp)).toISOString();
      backfillHistory = describeHistoryWatch(item, s.now);
      uncovered = item?.uncovered?.S ? (JSON.parse(item.uncovered.S) as UncoveredPeriod[]) : [];
      historyKeptMs = item?.historyKeptMs?.N === undefined ? null : Number(item.historyKeptMs.N);
      backfillUncovered = describeUncovered(uncovered);
      // The registrar's heal journal (functions/adapters/aws/dynamodb-heal-journal.ts), under its lease's name.
      if (signingSecretId) takeovers = parseTakeovers((await get(`heal#heygen:${signingSecretId}`)).Item?.takeovers?.S);
      const ev = (await get(`evidence#${ctx.sourceId}`)).Item;
      const iso = (n: string | undefined) => (n === undefined ? null : new Date(Number(n)).toISOString());
      evidence = {
        lastSignatureRejectionAt: iso(ev?.lastSignatureRejectionAt?.N),
        lastTroubleAt: iso(ev?.lastTroubleAt?.N),
        lastMissedAt: iso(ev?.lastMissedAt?.N),
      };
    });
  const report = {
    ...(backfillCheckedThrough !== undefined ? { backfillCheckedThrough } : {}),
    ...(backfillUncovered?.length ? { backfillUncovered } : {}),
    ...(backfillHistory ? { backfillHistory } : {}),
    ...(evidence ? { evidence } : {}),
  };
  return { report, uncovered, historyKeptMs, takeovers };
}

/** The last 24 h of delivery counters per provider; failures (5xx) need attention. */
async function deliveryCounts(s: Survey): Promise<StatusReport['last24h']> {
  const counts = (await part(s.attention, 'the metrics', () => last24h(s.ctx, s.now))) ?? {};
  for (const [provider, c] of Object.entries(counts)) {
    const failed = Object.entries(c)
      .filter(([k]) => k.startsWith('Failed'))
      .reduce((n, [, v]) => n + v, 0);
    if (failed > 0)
      s.attention.push(`${provider}: ${failed} delivery(ies) failed (5xx) in the last 24 h; the provider retries them`);
  }
  return counts;
}

/** How many deliveries are parked (up to 1000). */
async function parkedCount(s: Survey): Promise<number | undefined> {
  const bucket = s.outputs.parkedBucketName;
  if (!bucket) return undefined;
  const parked = await part(
    s.attention,
    'the parked deliveries',
    async () => (await listParked(new S3ParkedArchive(s.ctx.s3(), bucket), { limit: 1000 })).length,
  );
  if (parked)
    s.attention.push(
      `${parked} parked delivery(ies): heygen-relay parked list ${s.where}, then heygen-relay parked republish ${s.where} KEY`,
    );
  return parked;
}

export function renderStatus(r: StatusReport, now: number): string[] {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(18)}${text}`);
  lines.push(`heygen-relay status${r.stack ? ` of stack ${r.stack}` : ''} at ${r.at}`, '');
  if (r.endpoint) {
    if (r.endpoint.error) row('HeyGen endpoint', `${r.endpoint.url ?? '-'}: ${r.endpoint.error}`);
    else if (r.endpoint.found.length === 0) row('HeyGen endpoint', `none at ${r.endpoint.url ?? '-'}`);
    for (const e of r.endpoint.found)
      row('HeyGen endpoint', `${e.url}  ${e.id}  ${e.status}  events: ${e.events ? e.events.join(', ') : 'all'}`);
  }
  if (r.signingSecret) {
    const s = r.signingSecret;
    const versions = s.versions.map((v) => `${v.stages.join('+')} ${v.id.slice(0, 8)} (${v.ageDays ?? '?'} d old)`).join(', ');
    row('Signing secret', s.stored ? versions || '-' : `none stored${versions ? ` (${versions})` : ''}`);
    row(
      'Rotation',
      s.rotationEnabled
        ? `every ${s.rotationDays ?? '?'} d; last ${s.lastRotated ?? 'never'}; next ${s.nextRotation ?? '-'}`
        : 'not scheduled',
    );
  }
  for (const [name, run] of Object.entries(r.runs))
    row(
      `Last ${name}`,
      run
        ? `${run.outcomes.join(', ')} (${run.outcomes.length > 1 ? 'runs ' : ''}in the hour from ${run.at}, ${ago(now, Date.parse(run.at))})`
        : 'no run in 7 days',
    );
  if (r.backfillCheckedThrough !== undefined) row('Backfill checked', r.backfillCheckedThrough ?? 'never');
  if (r.backfillHistory) row('HeyGen history', r.backfillHistory);
  for (const line of r.backfillUncovered ?? []) row('Backfill gap', line);
  if (r.evidence) {
    const e = r.evidence;
    row(
      'Delivery trouble',
      `last refused signature ${e.lastSignatureRejectionAt ?? 'never'}; last 401/5xx ${e.lastTroubleAt ?? 'never'}; last recovered by backfill ${e.lastMissedAt ?? 'never'}`,
    );
  }
  for (const q of r.queues)
    row(`Queue ${q.route}`, `${q.waiting} waiting, ${q.inFlight} in flight, dead letters ${q.deadLetters ?? '-'}  (${q.queue})`);
  if (r.targetDeadLetters !== undefined) row('Bus dead letters', String(r.targetDeadLetters));
  row('Alarms in ALARM', r.alarms.length === 0 ? 'none' : r.alarms.map((a) => a.name).join(', '));
  const providers = Object.keys(r.last24h);
  if (providers.length === 0) row('Last 24 h', 'no deliveries counted');
  for (const p of providers) {
    const c = r.last24h[p] ?? {};
    row(
      `Last 24 h ${p}`,
      Object.entries(c)
        .sort(
          ([a], [b]) => COUNTERS.indexOf(a.split(' ')[0] ?? '') - COUNTERS.indexOf(b.split(' ')[0] ?? '') || a.localeCompare(b),
        )
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    );
  }
  if (r.parked !== undefined) row('Parked', String(r.parked));
  if (r.sweptTemporaryRoutes.length > 0) row('Swept leftovers', r.sweptTemporaryRoutes.join(', '));
  lines.push('');
  if (r.attention.length === 0) lines.push('healthy: nothing needs a person');
  else {
    lines.push('needs attention:');
    // Conditions under which events stop flowing first, each with its to-do on a line of its own.
    const conditions = conditionEntries(r.conditions);
    const asLines = new Set(conditionLines(r.conditions));
    for (const c of conditions) lines.push(`  - ${c.line}`, `    ${c.todo}`);
    for (const a of r.attention) if (!asLines.has(a)) lines.push(`  - ${a}`);
  }
  return lines;
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const report = await collectStatus(ctx, o);
  ctx.emit(report, renderStatus(report, ctx.now()));
  return report.attention.length > 0 ? EXIT.attention : EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withSource(
    withCommon(
      program
        .command('status')
        .summary("the relay's health on one screen; exit 3 when something needs a person")
        .description(
          "The relay's health on one screen: HeyGen's view of the endpoint, the signing secret's versions and rotation, the last registrar and backfill runs, queue and dead-letter depths, alarms in ALARM, the last 24 h of deliveries by outcome, parked deliveries; and every condition under which events stop flowing until a person acts (endpoint_disabled, second_writer, backfill_gap, history_short, subscription_unsure), each with what to do. Exits 3 when something needs a person (each reason listed).",
        ),
    ),
  )
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .option('--signing-secret-id <id>', 'the signing secret (default: from --stack)')
    .option('--state-table <name>', "the relay's state table (default: from --stack)")
    .option('--api-url <url>', `HeyGen API base URL (default: $HEYGEN_API_URL or ${DEFAULT_HEYGEN_API_URL})`)
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
