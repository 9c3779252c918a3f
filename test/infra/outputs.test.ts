import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readStackOutputs } from '../../bin/heygen-relay-cli.js';
import { HeyGenRelay } from '../../lib/heygen-relay.js';
import { synthRelay } from '../support/synth.js';

describe('Construct: HeyGenRelay stack outputs', () => {
  it('have the short names the README gives and `cdk deploy` prints', () => {
    const { template } = synthRelay({ relay: { joggai: {} } });
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(
      [
        'ApiKeySecretArn',
        'DashboardUrl',
        'DedupTableName',
        'DefaultQueueUrl',
        'EventBusName',
        'HeyGenWebhookUrl',
        'JoggAiApiKeySecretArn',
        'JoggAiSigningSecretArn',
        'JoggAiWebhookUrl',
        'ParkedBucketName',
        'SigningSecretArn',
        'StateTableName',
      ].sort(),
    );
  });

  it('give a second relay in the same stack ids prefixed with its construct path', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Two');
    new HeyGenRelay(stack, 'Relay');
    new HeyGenRelay(stack, 'Second-Relay', { heygen: { path: '/heygen' } });
    const keys = Object.keys(Template.fromStack(stack).findOutputs('*'));
    expect(keys).toEqual(expect.arrayContaining(['HeyGenWebhookUrl', 'SecondRelayHeyGenWebhookUrl', 'SecondRelayEventBusName']));
  });

  it('are what the CLI reads with --stack', async () => {
    const { template } = synthRelay({ relay: { joggai: {} } });
    const Outputs = Object.keys(template.findOutputs('*')).map((OutputKey) => ({
      OutputKey,
      OutputValue: `value-of-${OutputKey}`,
    }));
    const cf = { send: async () => ({ Stacks: [{ Outputs }] }) } as unknown as CloudFormationClient;
    await expect(readStackOutputs(cf, 'HeyGenRelay')).resolves.toEqual({
      webhookUrl: 'value-of-HeyGenWebhookUrl',
      joggaiWebhookUrl: 'value-of-JoggAiWebhookUrl',
      defaultQueueUrl: 'value-of-DefaultQueueUrl',
      dashboardUrl: 'value-of-DashboardUrl',
      signingSecretArn: 'value-of-SigningSecretArn',
      apiKeySecretArn: 'value-of-ApiKeySecretArn',
      stateTableName: 'value-of-StateTableName',
      parkedBucketName: 'value-of-ParkedBucketName',
      dedupTableName: 'value-of-DedupTableName',
      eventBusName: 'value-of-EventBusName',
    });
  });
});
