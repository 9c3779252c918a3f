/**
 * Backfill Lambda (thin entry, hourly): publishes what HeyGen's event history says it delivered and the
 * relay never published (providers/heygen/backfill.ts), under its own lease. What it looks at comes
 * from its checkpoint and the delivery evidence (heygen-backfill-plan.ts).
 *
 * Environment (read once, fails fast): API_KEY_SECRET_ARN, HEYGEN_API_URL, DEDUP_TABLE_NAME,
 * DEDUP_WINDOW_SECONDS, EVENT_BUS_NAME, STATE_TABLE_NAME, LEASE_NAME; PARKED_BUCKET_NAME (where entries
 * EventBridge can never take are parked); ENDPOINT_URL and EVENTS (our endpoint, whose subscription as
 * HeyGen lists it says which entries of the account-wide history are ours; EVENTS, the configured
 * types, when HeyGen lists no endpoint at that URL); SIGNING_SECRET_ARN (DescribeSecret only: its
 * CreatedDate, the stack's birth, from which a first run judges).
 * Metrics: `Backfilled` (provider, type), `Parked` (provider, reason), `BackfillRuns`, `BackfilledEvents`, `ParkedEvents` (Outcome; the last two alarmed), `SweepAgeHours`
 * (hours since the last completed sweep; alarmed above 26, and when missing), `BackfillUncertain` (published
 * again over an unfinished claim: possibly a second copy, same id), `ForeignEntries` (a neighbour endpoint's
 * entries, skipped), `BackfillGap` and `UncoveredEntries` (periods the backfill could not cover, until a
 * person acknowledges them: alarmed).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoDedupStore } from '../../../../functions/adapters/aws/dynamodb-dedup.js';
import { DynamoDedupIndex } from '../../../../functions/adapters/aws/dynamodb-dedup-index.js';
import { DynamoBackfillCheckpoint, DynamoEvidenceStore } from '../../../../functions/adapters/aws/dynamodb-evidence.js';
import { DynamoLeaseStore } from '../../../../functions/adapters/aws/dynamodb-lease.js';
import { DynamoSightingInbox } from '../../../../functions/adapters/aws/dynamodb-sightings.js';
import { EventBridgePublisher } from '../../../../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedStore, s3PutVia } from '../../../../functions/adapters/aws/parked-store.js';
import { sdkClientConfig } from '../../../../functions/adapters/aws/sdk-config.js';
import { readHeyGenApiKey } from '../../../../functions/adapters/aws/signing-secret-store.js';
import type { RelayEvent } from '../../../../functions/core/envelope.js';
import { HEYGEN_BACKFILL_SERVICE, METRICS_NAMESPACE } from '../../../../functions/core/observability-names.js';
import { requiredEnv } from '../../../../functions/wiring/env.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../api/client.js';
import { BACKFILL_DEFAULTS, type BackfillSummary, EMPTY_SUMMARY, type OurEndpoint, ourEndpoint } from '../backfill.js';
import { type BackfillState, scheduledBackfill, sweepAgeHours, uncoveredTotals } from '../backfill-plan.js';
import { countedRun } from '../counted-run.js';

const need = (name: string) => requiredEnv('backfill', name);
const env = {
  apiKeySecretArn: need('API_KEY_SECRET_ARN'),
  apiUrl: process.env.HEYGEN_API_URL?.trim() || DEFAULT_HEYGEN_API_URL,
  dedupTable: need('DEDUP_TABLE_NAME'),
  windowSeconds: Number(need('DEDUP_WINDOW_SECONDS')),
  busName: need('EVENT_BUS_NAME'),
  stateTable: need('STATE_TABLE_NAME'),
  leaseName: need('LEASE_NAME'),
  parkedBucket: process.env.PARKED_BUCKET_NAME?.trim() || undefined,
  endpointUrl: process.env.ENDPOINT_URL?.trim() || undefined,
  events: configuredEvents(process.env.EVENTS),
  signingSecretArn: process.env.SIGNING_SECRET_ARN?.trim() || undefined,
};

/** EVENTS as the registrar reads it: a JSON array of event types, or empty for all. */
function configuredEvents(raw: string | undefined): readonly string[] | null {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'null' || value === '*') return null;
  const parsed: unknown = JSON.parse(value);
  if (parsed === null) return null;
  if (!Array.isArray(parsed) || !parsed.every((e) => typeof e === 'string' && e !== ''))
    throw new Error('backfill: EVENTS must be a JSON array of HeyGen event types, or empty for all events');
  return parsed as string[];
}
/** The relay source (HeyGen account) served: a second account's own service, evidence and checkpoint keys. */
const source = process.env.RELAY_SOURCE?.trim() || 'heygen';
const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || HEYGEN_BACKFILL_SERVICE;
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
const sdk = sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 });
const secrets = new SecretsManagerClient(sdk);
const dynamodb = new DynamoDBClient(sdk);
const dedupOptions = {
  windowSeconds: env.windowSeconds,
  lockSeconds: BACKFILL_DEFAULTS.claimLockSeconds,
  legacyBodyKeys: process.env.DEDUP_LEGACY_BODY_KEYS === 'true',
  sources: { [source]: 'heygen' },
};
const check = new DynamoDedupStore(dynamodb, env.dedupTable, { ...dedupOptions, mode: 'record' });
const claim = new DynamoDedupStore(dynamodb, env.dedupTable, { ...dedupOptions, mode: 'claim' });
const evidence = new DynamoEvidenceStore(dynamodb, env.stateTable);
const checkpoint = new DynamoBackfillCheckpoint(dynamodb, env.stateTable, source);
/** The registrar's sightings of our endpoint, merged into the checkpoint's subscription log (sightings.ts). */
const sightings = new DynamoSightingInbox(dynamodb, env.stateTable, source);
const leases = new DynamoLeaseStore(dynamodb, env.stateTable);
const eventBridge = new EventBridgeClient(sdk);
const publisher = new EventBridgePublisher(eventBridge, env.busName);
const index = new DynamoDedupIndex(dynamodb, env.dedupTable);
const parked = env.parkedBucket ? new S3ParkedStore(env.parkedBucket, s3PutVia(eventBridge, sdk.maxAttempts)) : undefined;

/**
 * Our endpoint's subscription as HeyGen lists it (none at our URL: an empty set, found). A run that
 * cannot ask HeyGen fails (metric BackfillRuns failed) and judges nothing: which entries are ours is not
 * known without a sighting, and its checkpoint stays where it was, so the next run that lists our
 * endpoint judges them (judged without one, our entries after the last sighting would be `unsure`,
 * left to a person; subscription-log.ts). Every run failing keeps sweeps from completing:
 * alarm HeyGenBackfillBehind.
 */
async function subscription(client: HeyGenWebhookClient): Promise<OurEndpoint> {
  if (!env.endpointUrl) return { events: env.events, configured: env.events };
  const ours = await ourEndpoint(client, env.endpointUrl, env.events);
  if (!ours.found)
    logger.warn('no HeyGen endpoint at our URL (the registrar registers one): nothing is addressed to us meanwhile');
  return ours;
}

/**
 * When the stack was born (the signing secret's CreatedDate; backfill-plan.ts `firstRunOrigin`), read
 * only before a first run completed; null (unknown: our endpoint's creation alone) when it cannot be read.
 */
async function bornAt(state: BackfillState): Promise<number | null> {
  if (state.checkedThrough !== null || !env.signingSecretArn) return null;
  try {
    const out = await secrets.send(new DescribeSecretCommand({ SecretId: env.signingSecretArn }));
    return out.CreatedDate?.getTime() ?? null;
  } catch (err) {
    logger.warn(
      "could not read the signing secret's creation date: a first run judges from our endpoint's creation",
      err as Error,
    );
    return null;
  }
}

/**
 * Per run, from the checkpoint: hours since the last sweep, and what could not be covered (kept until a
 * person acknowledges it, so its alarm does not clear by itself when a later run goes well).
 */
function stateMetrics(state: BackfillState): void {
  const m = metrics.singleMetric();
  m.addMetric('SweepAgeHours', MetricUnit.Count, Math.round(sweepAgeHours(state, Date.now()) * 100) / 100);
  const gap = uncoveredTotals(state);
  m.addMetric('BackfillGap', MetricUnit.Count, gap.periods > 0 ? 1 : 0);
  m.addMetric('UncoveredEntries', MetricUnit.Count, gap.entries);
  m.addMetric('UncoveredHours', MetricUnit.Count, gap.hours);
}

export const handler = async (_event: unknown, context: Context): Promise<BackfillSummary | { outcome: 'missing_api_key' }> => {
  logger.addContext(context);
  const deadline = () => context.getRemainingTimeInMillis();
  return countedRun({ logger, metrics }, 'BackfillRuns', 'backfill run', async () => {
    const apiKey = await readHeyGenApiKey(secrets, env.apiKeySecretArn);
    if (apiKey === null) {
      logger.warn(`HeyGen API key is not set: put it into ${env.apiKeySecretArn}; the backfill retries on its schedule`);
      // Without a key the registrar registers nothing: a first run later is not judged from before now.
      await checkpoint
        .noteKeyMissing(Date.now())
        .catch((err: unknown) => logger.warn('could not note the missing key', err as Error));
      metrics.addDimension('Outcome', 'missing_api_key');
      metrics.addMetric('BackfillRuns', MetricUnit.Count, 1);
      return { outcome: 'missing_api_key' };
    }
    const client = new HeyGenWebhookClient({ apiKey, baseUrl: env.apiUrl, deadline, reserveMs: 5_000 });
    const endpoint = await subscription(client);
    const bornAtMs = await bornAt(await checkpoint.read());
    const run = await scheduledBackfill({
      windowMs: env.windowSeconds * 1000,
      checkpoint,
      evidence,
      sightings,
      deps: {
        history: client,
        endpoint,
        bornAtMs,
        check,
        claim,
        publisher,
        evidence,
        index,
        ...(parked ? { parked } : {}),
        source,
        lease: { store: leases, name: env.leaseName, owner: `backfill-${context.awsRequestId}` },
        deadline,
        onBackfilled: (e: RelayEvent) => {
          const m = metrics.singleMetric();
          m.addDimensions({ provider: e.provider, type: e.type });
          m.addMetric('Backfilled', MetricUnit.Count, 1);
        },
        onUncertain: (e: RelayEvent) => {
          const m = metrics.singleMetric();
          m.addDimensions({ provider: e.provider, type: e.type });
          m.addMetric('BackfillUncertain', MetricUnit.Count, 1);
        },
        onParked: (reason: string) => {
          const m = metrics.singleMetric();
          m.addDimensions({ provider: source, reason });
          m.addMetric('Parked', MetricUnit.Count, 1);
        },
      },
    });
    const { plan } = run;
    const summary: BackfillSummary = run.summary ?? { ...EMPTY_SUMMARY, outcome: 'busy' };
    const { missing, ...counts } = summary;
    const loud = summary.backfilled > 0 || summary.uncovered.length > 0 || summary.uncertain > 0;
    (loud ? logger.warn : logger.info).call(logger, 'backfill run', {
      plan,
      ...counts,
      uncovered: summary.uncovered.map((p) => ({
        ...p,
        from: new Date(p.fromMs).toISOString(),
        until: new Date(p.untilMs).toISOString(),
      })),
      missing: missing.slice(0, 20),
    });
    metrics.addDimension('Outcome', summary.outcome);
    metrics.addMetric('BackfillRuns', MetricUnit.Count, 1);
    metrics.addMetric('BackfilledEvents', MetricUnit.Count, summary.backfilled);
    metrics.addMetric('ParkedEvents', MetricUnit.Count, summary.parked);
    metrics.addMetric('ForeignEntries', MetricUnit.Count, summary.foreign);
    if (run.state) stateMetrics(run.state);
    return summary;
  });
};
