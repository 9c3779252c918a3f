/**
 * Rotation Lambda (thin entry) for the HeyGen signing secret, called by Secrets Manager with
 * `{SecretId, ClientRequestToken, Step}`. The protocol lives in providers/heygen/rotation.ts.
 *
 * Environment (read once, fails fast): API_KEY_SECRET_ARN, HEYGEN_API_URL (optional),
 * ENDPOINT_URL (optional: finds the endpoint when the stored value names none), STATE_TABLE_NAME and
 * LEASE_NAME (the one-writer lease shared with the registrar and the CLI).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoLeaseStore } from '../../../../functions/adapters/aws/dynamodb-lease.js';
import { sdkClientConfig } from '../../../../functions/adapters/aws/sdk-config.js';
import { readHeyGenApiKey } from '../../../../functions/adapters/aws/signing-secret-store.js';
import { SERVICE_NAME } from '../../../../functions/core/observability-names.js';
import { requiredEnv } from '../../../../functions/wiring/env.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../api/client.js';
import { type RotationEvent, type RotationResult, rotationStep } from '../rotation.js';

const apiKeySecretArn = requiredEnv('rotation', 'API_KEY_SECRET_ARN');
const apiUrl = process.env.HEYGEN_API_URL?.trim() || DEFAULT_HEYGEN_API_URL;
const endpointUrl = process.env.ENDPOINT_URL?.trim() || undefined;
const stateTableName = requiredEnv('rotation', 'STATE_TABLE_NAME');
const leaseName = requiredEnv('rotation', 'LEASE_NAME');

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? `${SERVICE_NAME}-rotation` });
const secrets = new SecretsManagerClient(
  sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 }),
);
const leases = new DynamoLeaseStore(
  new DynamoDBClient(sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 })),
  stateTableName,
);

export const handler = async (event: RotationEvent, context: Context): Promise<RotationResult> => {
  logger.addContext(context);
  logger.appendKeys({ step: event.Step, token: event.ClientRequestToken });
  try {
    const apiKey = event.Step === 'createSecret' ? await readHeyGenApiKey(secrets, apiKeySecretArn) : null;
    const heygen =
      apiKey === null
        ? null
        : new HeyGenWebhookClient({
            apiKey,
            baseUrl: apiUrl,
            deadline: () => context.getRemainingTimeInMillis(),
            reserveMs: 3_000,
            onRetry: (info) => logger.info('HeyGen call retried', { ...info }),
          });
    const result = await rotationStep(event, {
      secrets,
      heygen,
      logger,
      endpointUrl,
      apiKeySecretName: apiKeySecretArn,
      lease: { store: leases, name: leaseName },
    });
    logger.info('rotation step done', { result });
    return result;
  } catch (err) {
    logger.error('rotation step failed', err as Error);
    throw err;
  } finally {
    logger.removeKeys(['step', 'token']);
  }
};
