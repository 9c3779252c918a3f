#!/usr/bin/env node
/**
 * The CDK app: `npx cdk deploy`. Configuration through context (cdk.json or `-c key=value`):
 * - `stackName` (default HeyGenRelay)
 * - `queues`: JSON list of queue routes, e.g. `[{"name":"failures","eventTypes":["avatar_video.fail"]}]`
 * A configuration mistake is printed as one line (no stack trace) and exits 1.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { RelayConfigError } from '../lib/config.js';
import { HeyGenRelayStack } from '../lib/relay-stack.js';

function contextQueues(app: App): unknown {
  const raw = app.node.tryGetContext('queues');
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new RelayConfigError(`context "queues" is not JSON: ${raw}`);
  }
}

try {
  const app = new App();
  const queues = contextQueues(app);
  new HeyGenRelayStack(app, app.node.tryGetContext('stackName') ?? 'HeyGenRelay', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    relay: { ...(queues ? { queues: queues as never } : {}) },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
} catch (err) {
  if (!(err instanceof RelayConfigError)) throw err;
  process.stderr.write(`heygen-relay: configuration error: ${err.message}\n`);
  process.exit(1);
}
