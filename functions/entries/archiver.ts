/**
 * Archiver Lambda (thin entry): reads the archive queue (SQS, batch failures reported) and copies
 * each result event's files into the archive bucket (archive/queue.ts, archive/archive.ts), then
 * publishes `<type>.archived` or `<type>.archive_failed` on the relay bus.
 *
 * A message it cannot read (not a relay event) is moved to the archive dead-letter queue at once
 * (ARCHIVE_DLQ_URL, with why in its attributes) instead of coming back until maxReceiveCount.
 *
 * Environment (read once, fails fast): ARCHIVE_BUCKET_NAME, EVENT_BUS_NAME, ARCHIVE_QUEUE_URL, ARCHIVE_DLQ_URL, ARCHIVE_SOURCES (JSON:
 * source id → ArchiveSourceConfig), ARCHIVE_MAX_BYTES, ARCHIVE_RETRY_FOR_SECONDS,
 * ARCHIVE_STALE_UPLOAD_SECONDS (the function's timeout), ARCHIVE_BACKOFF_CAP_SECONDS, ARCHIVE_KEY_PREFIX.
 * Metrics: ArchiveFiles, ArchiveBytes (provider), ArchiveFailures (provider, reason), ArchiveRetries (provider, reason),
 * ArchiveUnreadable.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LINK_RENEWERS, mediaOf } from '../../providers/media.js';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.js';
import { S3ArchiveStore } from '../adapters/aws/s3-archive-store.js';
import { sdkClientConfig } from '../adapters/aws/sdk-config.js';
import { readHeyGenApiKey } from '../adapters/aws/signing-secret-store.js';
import type { ArchiveDeps } from '../archive/archive.js';
import { type FetcherOptions, MediaFetcher } from '../archive/fetch-media.js';
import { configured } from '../archive/media.js';
import { ARCHIVE_METRICS, ARCHIVER_SERVICE, type ArchiveSourceConfig } from '../archive/names.js';
import type { LinkRefresher } from '../archive/ports.js';
import { handleArchiveMessage, type MessageResult, type QueuePorts, type Unreadable } from '../archive/queue.js';
import type { RelayEvent } from '../core/envelope.js';
import { METRICS_NAMESPACE } from '../core/observability-names.js';
import { requiredEnv } from '../wiring/env.js';

const need = (name: string) => requiredEnv('archiver', name);
const env = {
  bucket: need('ARCHIVE_BUCKET_NAME'),
  busName: need('EVENT_BUS_NAME'),
  queueUrl: need('ARCHIVE_QUEUE_URL'),
  dlqUrl: need('ARCHIVE_DLQ_URL'),
  sources: JSON.parse(need('ARCHIVE_SOURCES')) as Record<string, ArchiveSourceConfig>,
  maxBytes: Number(need('ARCHIVE_MAX_BYTES')),
  retryForMs: Number(need('ARCHIVE_RETRY_FOR_SECONDS')) * 1000,
  staleUploadMs: Number(need('ARCHIVE_STALE_UPLOAD_SECONDS')) * 1000,
  backoffCapSeconds: Number(process.env.ARCHIVE_BACKOFF_CAP_SECONDS ?? 900),
  keyPrefix: process.env.ARCHIVE_KEY_PREFIX ?? 'archive/',
};
const logger = new Logger({ serviceName: ARCHIVER_SERVICE });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: ARCHIVER_SERVICE });
const sdk = sdkClientConfig({ connectionTimeoutMs: 3_000, requestTimeoutMs: 60_000, maxAttempts: 3 });
// An emulator's endpoint (tests) addresses buckets in the path; S3 itself is addressed virtual-hosted.
const emulated = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
const store = new S3ArchiveStore(new S3Client({ ...sdk, forcePathStyle: emulated }), env.bucket);
const publisher = new EventBridgePublisher(new EventBridgeClient(sdk), env.busName);
const sqs = new SQSClient(sdk);
const secrets = new SecretsManagerClient(sdk);
/**
 * The sandbox's seam (scripts/sandbox/lambda-host.ts, in its own process, before it imports this
 * entry): its media server's CA and loopback host. A global, not an environment variable, so no
 * configuration of a deployed function can loosen the fetcher's checks; nothing sets it in Lambda.
 */
const SANDBOX_FETCHER_OPTIONS = Symbol.for('heygen-relay.sandbox.archive-fetcher');
const fetcher = new MediaFetcher((globalThis as { [SANDBOX_FETCHER_OPTIONS]?: FetcherOptions })[SANDBOX_FETCHER_OPTIONS]);
const refreshers = new Map<string, LinkRefresher>();

/** Sources of a provider that renews links (HeyGen: the video detail) do so with their API key, read when first needed. */
function refresherOf(sourceId: string, config: ArchiveSourceConfig): LinkRefresher | undefined {
  const renewer = LINK_RENEWERS[config.provider];
  const arn = config.apiKeySecretArn;
  if (!renewer || !arn) return undefined;
  let refresher = refreshers.get(sourceId);
  if (!refresher) {
    refresher = async (event) => {
      const apiKey = await readHeyGenApiKey(secrets, arn);
      if (apiKey === null) throw new Error(`the API key of source ${sourceId} is not set`);
      return renewer(apiKey, config.apiUrl)(event);
    };
    refreshers.set(sourceId, refresher);
  }
  return refresher;
}

function depsFor(signal: AbortSignal) {
  return async (event: RelayEvent): Promise<ArchiveDeps | undefined> => {
    const sourceId = event.source ?? event.provider;
    const config = env.sources[sourceId];
    const declared = config && mediaOf(config.provider);
    if (!config || !declared) return undefined;
    const refresher = refresherOf(sourceId, config);
    return { store, fetcher, media: configured(declared, config), now: Date.now, signal, ...(refresher ? { refresher } : {}) };
  };
}

/** Files and bytes reported (service dimension: alarmed and graphed); failures and retries also by provider and reason. */
function count(result: Exclude<MessageResult, Unreadable>): void {
  if (result.status === 'skipped') return;
  const { outcome, event } = result;
  metrics.addMetric(ARCHIVE_METRICS.filesArchived, MetricUnit.Count, outcome.files.length);
  metrics.addMetric(
    ARCHIVE_METRICS.bytesArchived,
    MetricUnit.Bytes,
    outcome.files.reduce((n, f) => n + f.size, 0),
  );
  if (outcome.status === 'archived') return;
  const reason = outcome.failures[0]?.error.reason ?? 'unknown';
  const name = result.status === 'failed' ? ARCHIVE_METRICS.failures : ARCHIVE_METRICS.retries;
  if (result.status === 'failed') metrics.addMetric(name, MetricUnit.Count, 1);
  metrics
    .singleMetric()
    .addDimensions({ provider: event.source ?? event.provider, reason })
    .addMetric(name, MetricUnit.Count, 1);
  logger.warn(`archive ${result.status}: ${event.type} ${event.id}`, {
    failures: outcome.failures.map((f) => ({ kind: f.kind, reason: f.error.reason, message: f.error.message })),
  });
}

/**
 * A message that is no relay event never will be: to the dead-letter queue now, same body, why in its
 * attributes (the DLQ alarm reports it). Counted and logged without the body. Throws when the send
 * fails: the message is then reported as a batch item failure and comes again (nothing lost).
 */
async function deadLetter(record: SQSRecord, result: Unreadable): Promise<void> {
  await sqs.send(
    new SendMessageCommand({ QueueUrl: env.dlqUrl, MessageBody: record.body, MessageAttributes: { ...result.attributes } }),
  );
  metrics.addMetric(ARCHIVE_METRICS.unreadable, MetricUnit.Count, 1);
  logger.error('archive message unreadable: moved to the dead-letter queue', {
    messageId: record.messageId,
    receiveCount: record.attributes.ApproximateReceiveCount,
    reason: result.reason,
  });
}

/** One record: true when it is done (SQS deletes it), false when it must come again (a batch item failure). */
async function handleRecord(record: SQSRecord, ports: QueuePorts): Promise<boolean> {
  try {
    const result = await handleArchiveMessage(record, ports, { ...env });
    if (result.status === 'unreadable') {
      await deadLetter(record, result);
      return true;
    }
    count(result);
    return result.status !== 'retry';
  } catch (err) {
    logger.error('archive message failed', { messageId: record.messageId, error: (err as Error).message });
    return false;
  }
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  // Leave time to abort a multipart upload and report before the function's timeout.
  const signal = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - 20_000));
  const ports: QueuePorts = {
    depsFor: depsFor(signal),
    publish: (e: RelayEvent) => publisher.publish(e),
    delay: async (receiptHandle: string, seconds: number) => {
      await sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: env.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }),
      );
    },
    now: Date.now,
  };
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records)
    if (!(await handleRecord(record, ports))) batchItemFailures.push({ itemIdentifier: record.messageId });
  metrics.publishStoredMetrics();
  return { batchItemFailures };
};
