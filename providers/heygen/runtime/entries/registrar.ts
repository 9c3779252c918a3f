/**
 * Registrar Lambda (thin entry): runs on a schedule and once after deploy. Makes sure exactly one
 * HeyGen webhook endpoint points at the relay, subscribed to the configured events, and that its
 * signing secret is stored. The work lives in providers/heygen/registrar.ts.
 *
 * Environment (read once, fails fast): SIGNING_SECRET_ARN, API_KEY_SECRET_ARN, ENDPOINT_URL,
 * EVENTS (JSON array, or "null"/empty for all events), HEYGEN_API_URL (optional), STATE_TABLE_NAME
 * and LEASE_NAME (the one-writer lease shared with the rotation function and the CLI).
 * An invocation payload of `{"dryRun": true}` only plans.
 * Metrics: `RegistrarRuns` (Outcome: also `endpoint_disabled`, `second_writer` and `stray_endpoint`, each alarmed), `RegistrarActions`, `DuplicateEndpointsDeleted`, `RotationPendingAgeSeconds`
 * (service, Outcome); `SigningSecretAgeSeconds` (service only: the current secret's age, each run that
 * finds one stored, whatever its outcome).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoDedupStore } from '../../../../functions/adapters/aws/dynamodb-dedup.js';
import { DynamoEvidenceStore } from '../../../../functions/adapters/aws/dynamodb-evidence.js';
import { DynamoHealJournal } from '../../../../functions/adapters/aws/dynamodb-heal-journal.js';
import { DynamoLeaseStore } from '../../../../functions/adapters/aws/dynamodb-lease.js';
import { DynamoSightingInbox } from '../../../../functions/adapters/aws/dynamodb-sightings.js';
import { sdkClientConfig } from '../../../../functions/adapters/aws/sdk-config.js';
import { readHeyGenApiKey, SecretsManagerSigningSecretStore } from '../../../../functions/adapters/aws/signing-secret-store.js';
import { HEYGEN_REGISTRAR_SERVICE, METRICS_NAMESPACE } from '../../../../functions/core/observability-names.js';
import { requiredEnv } from '../../../../functions/wiring/env.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../api/client.js';
import { countedRun } from '../counted-run.js';
import { type ReconcileSummary, reconcile } from '../registrar.js';

export interface RegistrarEnv {
  readonly signingSecretArn: string;
  readonly apiKeySecretArn: string;
  readonly endpointUrl: string;
  readonly events: readonly string[] | null;
  readonly apiUrl: string;
  readonly stateTableName: string;
  readonly leaseName: string;
}

/** Parses EVENTS: a JSON array of event types, or empty / "null" / "*" for all events. */
export function parseEventsEnv(raw: string | undefined): string[] | null {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'null' || value === '*') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error('EVENTS must be a JSON array of HeyGen event types, or empty for all events');
  }
  if (parsed === null) return null;
  if (!Array.isArray(parsed) || !parsed.every((e) => typeof e === 'string' && e !== '')) {
    throw new Error('EVENTS must be a JSON array of HeyGen event types, or empty for all events');
  }
  return parsed as string[];
}

export function readRegistrarEnv(env: NodeJS.ProcessEnv = process.env): RegistrarEnv {
  const need = (name: string): string => requiredEnv('registrar', name, env);
  return {
    signingSecretArn: need('SIGNING_SECRET_ARN'),
    apiKeySecretArn: need('API_KEY_SECRET_ARN'),
    endpointUrl: need('ENDPOINT_URL'),
    events: parseEventsEnv(env.EVENTS),
    apiUrl: env.HEYGEN_API_URL?.trim() || DEFAULT_HEYGEN_API_URL,
    stateTableName: need('STATE_TABLE_NAME'),
    leaseName: need('LEASE_NAME'),
  };
}

const env = readRegistrarEnv();
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? HEYGEN_REGISTRAR_SERVICE });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? HEYGEN_REGISTRAR_SERVICE,
});
const secrets = new SecretsManagerClient(
  sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 }),
);
const store = new SecretsManagerSigningSecretStore(secrets, env.signingSecretArn);
const dynamodb = new DynamoDBClient(sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 }));
const leases = new DynamoLeaseStore(dynamodb, env.stateTableName);
/** The evidence of the secret check (registrar.ts `SecretEvidence`): the ingress's refusals, the dedup table. */
const dedupTable = process.env.DEDUP_TABLE_NAME?.trim();
const dedupWindowSeconds = Number(process.env.DEDUP_WINDOW_SECONDS ?? 172_800);
const evidenceSources = dedupTable
  ? {
      evidence: new DynamoEvidenceStore(dynamodb, env.stateTableName),
      dedup: new DynamoDedupStore(dynamodb, dedupTable, {
        windowSeconds: dedupWindowSeconds,
        lockSeconds: 15,
        mode: 'record',
        // Per-source keys (core/event-key.ts): a second account's records of before count for one window.
        legacyBodyKeys: true,
        sources: { [process.env.RELAY_SOURCE?.trim() || 'heygen']: 'heygen' },
      }),
      dedupWindowMs: dedupWindowSeconds * 1000,
    }
  : undefined;
/** Its takeovers (adopts, heals): a second within 24 h is another writer, and the run stops instead (`second_writer`). */
const heals = new DynamoHealJournal(dynamodb, env.stateTableName, env.leaseName);
/**
 * What a run saw of our endpoint before and after changing it, told to the backfill's subscription log
 * (sightings.ts). Only where a backfill reads and drops them: it exists with dedup only (infra/source.ts);
 * without it the item would grow for ever (test review4-inbox-without-reader).
 */
const sightings = dedupTable
  ? new DynamoSightingInbox(dynamodb, env.stateTableName, process.env.RELAY_SOURCE?.trim() || 'heygen')
  : undefined;

export const handler = async (event: unknown, context: Context): Promise<ReconcileSummary> => {
  logger.addContext(context);
  const dryRun = typeof event === 'object' && event !== null && (event as { dryRun?: unknown }).dryRun === true;
  const deadline = () => context.getRemainingTimeInMillis();
  const apiKey = await readHeyGenApiKey(secrets, env.apiKeySecretArn);
  const client =
    apiKey === null
      ? null
      : new HeyGenWebhookClient({
          apiKey,
          baseUrl: env.apiUrl,
          deadline,
          reserveMs: 3_000,
          onRetry: (info) => logger.info('HeyGen call retried', { ...info }),
        });
  return countedRun({ logger, metrics }, 'RegistrarRuns', 'registrar run', async () => {
    const summary = await reconcile(
      { url: env.endpointUrl, events: env.events },
      {
        client,
        secretStore: store,
        logger,
        dryRun,
        apiKeySecretName: env.apiKeySecretArn,
        lease: { store: leases, name: env.leaseName, owner: `registrar-${context.awsRequestId}` },
        heals,
        ...(sightings ? { sightings } : {}),
        ...(client && evidenceSources
          ? { evidence: { ...evidenceSources, history: client, source: process.env.RELAY_SOURCE?.trim() || 'heygen' } }
          : {}),
      },
    );
    logger.info('registrar run', { summary });
    if (summary.signingSecretAgeSeconds !== undefined) {
      // Its own blob, without the Outcome dimension: one series per registrar (service) to graph.
      const age = metrics.singleMetric();
      age.addMetric('SigningSecretAgeSeconds', MetricUnit.Seconds, summary.signingSecretAgeSeconds);
    }
    metrics.addDimension('Outcome', summary.outcome);
    metrics.addMetric('RegistrarRuns', MetricUnit.Count, 1);
    metrics.addMetric('RegistrarActions', MetricUnit.Count, summary.actions.length);
    // For the alarms: duplicates at our URL that someone keeps creating, and a rotation stuck between
    // createSecret and finishSecret (the ingress accepts both secrets meanwhile, but it should finish).
    metrics.addMetric(
      'DuplicateEndpointsDeleted',
      MetricUnit.Count,
      summary.actions.filter((a) => a.type === 'delete' && a.status === 'done').length,
    );
    metrics.addMetric('RotationPendingAgeSeconds', MetricUnit.Seconds, summary.pendingRotationAgeSeconds ?? 0);
    return summary;
  });
};
