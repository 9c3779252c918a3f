/**
 * JoggAI registrar Lambda (thin entry): runs hourly, once after deploy, and on its rotation schedule.
 * `{}` / `{"action":"reconcile"}` (schedule, after deploy) keeps exactly one JoggAI endpoint of ours
 * right; `{"action":"rotate"}` rotates its secret by overlapping a second endpoint. The work lives
 * in providers/joggai/ (run.ts, registrar.ts, rotation.ts).
 *
 * Each run logs one summary line and emits `RegistrarRuns` (namespace HeyGenRelay, dimensions
 * provider=joggai and Outcome, one of JOGGAI_RUN_OUTCOMES: in_sync, changed, rotated,
 * missing_api_key, unauthorized, limit_reached, busy, failed). A missing API key is one warning
 * naming the secret and outcome `missing_api_key`, not an error (no retries, no failure storm).
 * A rotation that finds the lease busy is counted as `busy` and then throws, so Lambda's retries
 * of the asynchronous invocation run it again instead of skipping it until the next schedule.
 *
 * Runs hold the one-writer lease `LEASE_NAME` in the state table `STATE_TABLE_NAME` (owner = the
 * invocation's request id, which Lambda keeps across retries of the same event, so a retry of a run
 * that died holding the lease takes it over at once).
 *
 * Environment (read once, fails fast): SIGNING_SECRET_ARN, API_KEY_SECRET_ARN, ENDPOINT_URL (the
 * relay's /joggai URL), EVENTS (JSON array; empty = all), JOGGAI_API_URL (optional),
 * ROTATION_OVERLAP_SECONDS (default 30, at most 60: time for ingress instances to see the pending
 * secret and for JoggAI's retries of deliveries the old endpoint already sent; it must fit the
 * function's 2 min timeout together with a lease wait and the API calls), STATE_TABLE_NAME,
 * LEASE_NAME.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoLeaseStore } from '../../../../functions/adapters/aws/dynamodb-lease.js';
import { sdkClientConfig } from '../../../../functions/adapters/aws/sdk-config.js';
import { JOGGAI_REGISTRAR_SERVICE, METRICS_NAMESPACE } from '../../../../functions/core/observability-names.js';
import { requiredEnv } from '../../../../functions/wiring/env.js';
import { JoggAiClient } from '../api/client.js';
import { readJoggAiApiKey, SecretsManagerJoggAiSecretStore } from '../aws-secret-store.js';
import {
  type JoggAiRunAction,
  type JoggAiRunOutcome,
  type JoggAiRunSummary,
  parseJoggAiAction,
  runJoggAiRegistrar,
} from '../run.js';

export const DEFAULT_JOGGAI_API_URL = 'https://api.jogg.ai';
/** Kept back from the function's remaining time so a slow call ends the run with a summary, not a Lambda timeout. */
const RESERVE_MS = 5_000;

export interface JoggAiRegistrarEnv {
  readonly signingSecretArn: string;
  readonly apiKeySecretArn: string;
  readonly endpointUrl: string;
  /** null = all events. */
  readonly events: readonly string[] | null;
  readonly apiUrl: string;
  readonly overlapMs: number;
  readonly stateTableName: string;
  readonly leaseName: string;
}

/** The longest overlap wait that fits the function's timeout (2 min) with a lease wait and the calls. */
export const MAX_OVERLAP_SECONDS = 60;

export function readJoggAiRegistrarEnv(env: NodeJS.ProcessEnv = process.env): JoggAiRegistrarEnv {
  const need = (name: string): string => requiredEnv('joggai registrar', name, env);
  const eventsRaw = env.EVENTS?.trim() ?? '';
  let events: string[] | null = null;
  if (eventsRaw !== '' && eventsRaw !== 'null') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(eventsRaw);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((e) => typeof e === 'string' && e !== ''))
      throw new Error('joggai registrar: EVENTS must be a non-empty JSON array of JoggAI event types, or empty for all events');
    events = parsed as string[];
  }
  const overlapRaw = env.ROTATION_OVERLAP_SECONDS?.trim() || '30';
  const overlapSeconds = Number(overlapRaw);
  if (!Number.isFinite(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_OVERLAP_SECONDS)
    throw new Error(`joggai registrar: ROTATION_OVERLAP_SECONDS must be a number of seconds from 0 to ${MAX_OVERLAP_SECONDS}`);
  return {
    signingSecretArn: need('SIGNING_SECRET_ARN'),
    apiKeySecretArn: need('API_KEY_SECRET_ARN'),
    endpointUrl: need('ENDPOINT_URL'),
    events,
    apiUrl: env.JOGGAI_API_URL?.trim() || DEFAULT_JOGGAI_API_URL,
    overlapMs: Math.round(overlapSeconds * 1000),
    stateTableName: need('STATE_TABLE_NAME'),
    leaseName: need('LEASE_NAME'),
  };
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const env = readJoggAiRegistrarEnv();
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? JOGGAI_REGISTRAR_SERVICE;
const logger = new Logger({ serviceName });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName,
  defaultDimensions: { provider: 'joggai' },
});
const secrets = new SecretsManagerClient(
  sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 }),
);
const store = new SecretsManagerJoggAiSecretStore(secrets, env.signingSecretArn);
const leases = new DynamoLeaseStore(
  new DynamoDBClient(sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 })),
  env.stateTableName,
);

/** A rotation that could not take the lease: thrown after counting `busy`, so Lambda retries it. */
export class JoggAiRotationBusyError extends Error {
  constructor(message: string) {
    super(`JoggAI rotation deferred: ${message}`);
    this.name = 'JoggAiRotationBusyError';
  }
}
const desired = { url: env.endpointUrl, ...(env.events ? { events: env.events } : {}) };

export const handler = async (event: unknown, context?: Context): Promise<JoggAiRunSummary> => {
  if (context) logger.addContext(context);
  const remaining = context?.getRemainingTimeInMillis();
  const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(1_000, remaining - RESERVE_MS));
  let action: JoggAiRunAction | undefined;
  let counted = false;
  const count = (outcome: JoggAiRunOutcome, actions: number | null) => {
    metrics.addDimension('Outcome', outcome);
    metrics.addMetric('RegistrarRuns', MetricUnit.Count, 1);
    if (actions !== null) metrics.addMetric('RegistrarActions', MetricUnit.Count, actions);
    counted = true;
  };
  try {
    action = parseJoggAiAction(event);
    const apiKey = await readJoggAiApiKey(secrets, env.apiKeySecretArn, signal);
    const client = apiKey === null ? null : new JoggAiClient({ apiKey, baseUrl: env.apiUrl });
    const summary = await runJoggAiRegistrar(action, desired, {
      client,
      store,
      logger,
      apiKeySecretName: env.apiKeySecretArn,
      overlap: () => sleep(env.overlapMs, signal),
      lease: { store: leases, name: env.leaseName, owner: `joggai-registrar-${context?.awsRequestId ?? 'local'}` },
      ...(signal ? { signal } : {}),
    });
    logger.info('joggai registrar run', { summary });
    count(summary.outcome, summary.reconcile?.actions.length ?? 0);
    if (summary.action === 'rotate' && summary.outcome === 'busy') throw new JoggAiRotationBusyError(summary.message ?? 'busy');
    return summary;
  } catch (err) {
    if (!counted) {
      logger.error('joggai registrar run failed', { action: action ?? null, outcome: 'failed', error: err as Error });
      count('failed', null);
    }
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
};
