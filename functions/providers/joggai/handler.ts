/**
 * JoggAI registrar Lambda (thin entry). `{}` or `{"action":"reconcile"}` (schedule, after deploy)
 * keeps our endpoint right; `{"action":"rotate"}` (its own schedule) rotates by overlap.
 *
 * Environment: SIGNING_SECRET_ARN, API_KEY_SECRET_ARN, ENDPOINT_URL (the relay's /joggai URL),
 * EVENTS (JSON array; empty = all), JOGGAI_API_URL (optional), ROTATION_OVERLAP_SECONDS (default 30:
 * time for ingress instances to see the pending secret and for JoggAI's 3 × 5 s retries).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sdkClientConfig } from '../../adapters/aws/sdk-config.js';
import { SERVICE_NAME } from '../../observability-names.js';
import { JoggAiClient } from './api/client.js';
import { readJoggAiApiKey, SecretsManagerJoggAiSecretStore } from './aws-secret-store.js';
import { type JoggAiReconcileSummary, reconcileJoggAi } from './registrar.js';
import { type JoggAiRotationResult, rotateJoggAi } from './rotation.js';

function need(name: string): string {
  const v = process.env[name]?.trim();
  if (!v) throw new Error(`joggai registrar: environment variable ${name} is not set`);
  return v;
}

const signingSecretArn = need('SIGNING_SECRET_ARN');
const apiKeySecretArn = need('API_KEY_SECRET_ARN');
const url = need('ENDPOINT_URL');
const eventsRaw = process.env.EVENTS?.trim();
const events = eventsRaw ? (JSON.parse(eventsRaw) as string[]) : undefined;
const overlapMs = Number(process.env.ROTATION_OVERLAP_SECONDS ?? 30) * 1000;
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? `${SERVICE_NAME}-joggai-registrar` });
const secrets = new SecretsManagerClient(
  sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 }),
);
const store = new SecretsManagerJoggAiSecretStore(secrets, signingSecretArn);

export const handler = async (event: unknown): Promise<JoggAiReconcileSummary | JoggAiRotationResult> => {
  const action = typeof event === 'object' && event !== null ? (event as { action?: unknown }).action : undefined;
  const apiKey = await readJoggAiApiKey(secrets, apiKeySecretArn);
  const client =
    apiKey === null
      ? null
      : new JoggAiClient({ apiKey, ...(process.env.JOGGAI_API_URL ? { baseUrl: process.env.JOGGAI_API_URL } : {}) });
  const desired = { url, ...(events ? { events } : {}) };
  const summary = await reconcileJoggAi(desired, { client, store, logger });
  if (action !== 'rotate' || !client || summary.endpointId === null) return summary;
  return rotateJoggAi(desired, { client, store, logger, overlap: () => new Promise((r) => setTimeout(r, overlapMs)) });
};
