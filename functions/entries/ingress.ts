/**
 * Lambda entry for the ingress (Function URL). Thin: configuration, the AWS adapters, the handler.
 * Clients are created once per execution environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { answerBudgetMs } from '../../providers/runtime.js';
import { DynamoDedupStore } from '../adapters/aws/dynamodb-dedup.js';
import { DynamoEvidenceStore } from '../adapters/aws/dynamodb-evidence.js';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.js';
import { S3ParkedStore, s3PutVia } from '../adapters/aws/parked-store.js';
import { StoredOnceRetryStrategy } from '../adapters/aws/put-events-outcome.js';
import { sdkClientConfig } from '../adapters/aws/sdk-config.js';
import { SecretsManagerKeySource } from '../adapters/aws/secrets-key-source.js';
import { evidenceRecorder, staleKeyTtlMs } from '../core/evidence.js';
import { createIngress } from '../core/ingress.js';
import { noDedup } from '../core/noop-dedup.js';
import type { DedupMode, DedupStore } from '../core/ports.js';
import { loadIngressConfig, routeProvider } from '../wiring/ingress-config.js';
import { createIngressHandler } from '../wiring/ingress-handler.js';
import { logger, metrics, powertoolsTelemetry } from '../wiring/observability.js';

const config = loadIngressConfig();
const sdk = sdkClientConfig();
const secrets = new SecretsManagerClient(sdk);
// PutEvents is retried only when the attempt certainly stored nothing (no copy per lost answer).
const eventBridge = new EventBridgeClient({ ...sdk, retryStrategy: new StoredOnceRetryStrategy(sdk.maxAttempts) });
const dynamodb = config.dedupTableName || config.stateTableName ? new DynamoDBClient(sdk) : undefined;
/** One store per dedup mode in use, over the same client and table. */
const dedupStores = new Map<DedupMode, DynamoDedupStore>();
function dedupFor(mode: DedupMode): DedupStore {
  if (!dynamodb || !config.dedupTableName) return noDedup;
  let store = dedupStores.get(mode);
  if (!store) {
    store = new DynamoDedupStore(dynamodb, config.dedupTableName, {
      windowSeconds: config.dedupWindowSeconds,
      lockSeconds: config.dedupLockSeconds,
      mode,
      legacyBodyKeys: config.dedupLegacyBodyKeys,
      // Per-source keys (core/event-key.ts): a second account's records of before are recognised for one window.
      sources: Object.fromEntries(config.providers.map((p) => [p.source ?? p.name, p.name])),
    });
    dedupStores.set(mode, store);
  }
  return store;
}

export const handler = createIngressHandler({
  pipeline: createIngress({
    maxBodyBytes: config.maxBodyBytes,
    publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
    ...(config.parkedBucketName
      ? {
          // S3 PutObject signed with the EventBridge client's credentials, region, hash and HTTP
          // handler (same timeouts and retries): no S3 client in the bundle (parked-store.ts).
          parked: new S3ParkedStore(config.parkedBucketName, s3PutVia(eventBridge, sdk.maxAttempts)),
        }
      : {}),
    telemetry: powertoolsTelemetry(),
    // Refused signatures and failures, for the registrar's secret check and the backfill (rate-limited).
    ...(dynamodb && config.stateTableName
      ? {
          onTrouble: evidenceRecorder(
            new DynamoEvidenceStore(dynamodb, config.stateTableName, {
              staleKeyTtlMs: staleKeyTtlMs(config.dedupWindowSeconds * 1000),
            }),
          ),
        }
      : {}),
    routes: config.providers.map((p) => {
      const provider = routeProvider(p);
      return {
        provider,
        ...(p.source ? { source: p.source } : {}),
        path: p.path,
        timestampToleranceSeconds: p.timestampToleranceSeconds,
        budgetMs: answerBudgetMs(provider),
        ...(p.acceptSubpaths ? { acceptSubpaths: true } : {}),
        dedup: dedupFor(p.dedupMode ?? provider.defaultDedupMode),
        keys: new SecretsManagerKeySource(secrets, p.secretId, {
          cacheTtlMs: config.secretCacheSeconds * 1000,
          minRefreshIntervalMs: config.secretRefreshIntervalMs,
          previousGraceMs: config.secretGraceSeconds * 1000,
          ...(provider.secretProblem ? { secretProblem: provider.secretProblem } : {}),
          onWeakSecret: (stage, reason) =>
            logger.warn('Signing secret refused as a key; fix the stored value (it is never logged)', {
              provider: p.source ?? p.name,
              stage,
              reason,
            }),
        }),
      };
    }),
  }),
  maxBodyBytes: config.maxBodyBytes,
  logger,
  metrics,
});
