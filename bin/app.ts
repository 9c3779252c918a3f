#!/usr/bin/env node
/**
 * The CDK app: `npx cdk deploy`. Configuration through context (cdk.json or `-c key=value`):
 * - `stackName` (default HeyGenRelay)
 * - `queues`: JSON list of queue routes, e.g. `[{"name":"failures","eventTypes":["avatar_video.fail"]}]`
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { HeyGenRelayStack } from '../lib/relay-stack.js';

const app = new App();
const queuesContext = app.node.tryGetContext('queues');
const queues = typeof queuesContext === 'string' ? JSON.parse(queuesContext) : queuesContext;
new HeyGenRelayStack(app, app.node.tryGetContext('stackName') ?? 'HeyGenRelay', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  relay: { ...(queues ? { queues } : {}) },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
