/**
 * Temporary-route sweeper Lambda (thin entry, every 15 minutes): removes the temporary rules and
 * queues that `heygen-relay listen` / `replay` left on the relay's bus when their process died
 * (SIGKILL, a closed laptop) and their lease ran out, with the same sweep the CLI runs
 * (adapters/aws/temp-routes.ts). A route whose owner still renews its lease is left alone, and so is
 * anything that is not a temporary route of this bus.
 *
 * Environment (read once, fails fast): EVENT_BUS_NAME; SWEEP_GRACE_SECONDS (how long past its expiry
 * a route is still left alone: the renewing machine's clock may run behind; default 300).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { sdkClientConfig } from '../adapters/aws/sdk-config.js';
import { type SweepResult, sweepTempRoutes } from '../adapters/aws/temp-routes.js';
import { SERVICE_NAME } from '../core/observability-names.js';
import { requiredEnv } from '../wiring/env.js';

const busName = requiredEnv('temp-route-sweeper', 'EVENT_BUS_NAME');
const graceRaw = process.env.SWEEP_GRACE_SECONDS?.trim() || '300';
const graceSeconds = Number(graceRaw);
if (!Number.isFinite(graceSeconds) || graceSeconds < 0)
  throw new Error(`temp-route-sweeper: SWEEP_GRACE_SECONDS must be a non-negative number, got "${graceRaw}"`);

const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME?.trim() || `${SERVICE_NAME}-temp-route-sweeper` });
const sdk = sdkClientConfig({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 3 });
const eventBridge = new EventBridgeClient(sdk);
const sqs = new SQSClient(sdk);
const deps = { eb: () => eventBridge, sqs: () => sqs, now: () => Date.now() };

export const handler = async (_event: unknown, context: Context): Promise<SweepResult> => {
  logger.addContext(context);
  const result = await sweepTempRoutes(deps, busName, { graceMs: graceSeconds * 1000 });
  if (result.removed.length > 0)
    logger.info('removed expired temporary routes', { removed: result.removed, live: result.live.length });
  return result;
};
