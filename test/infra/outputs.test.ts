import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readStackOutputs } from '../../bin/commands/program.js';
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
        'DedupWindowSeconds',
        'DefaultDlqArn',
        'DefaultDlqUrl',
        'DefaultQueueArn',
        'DefaultQueueUrl',
        'EventBusName',
        'HeyGenWebhookUrl',
        'JoggAiApiKeySecretArn',
        'JoggAiSigningSecretArn',
        'JoggAiWebhookUrl',
        'ParkedBucketName',
        'SigningSecretArn',
        'StateTableName',
        'TargetDlqArn',
        'TargetDlqUrl',
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
      dedupWindowSeconds: 'value-of-DedupWindowSeconds',
      eventBusName: 'value-of-EventBusName',
    });
  });

  it('give every queue its URL and ARN, and its dead-letter queue too (issue 21)', () => {
    const { template } = synthRelay({ relay: { queues: [{ name: 'video-ready' }, { name: 'video_ready' }] } });
    const outputs = template.findOutputs('*');
    for (const q of ['Default', 'RouteVideoReady', 'RouteVideoReady2'])
      for (const o of ['QueueUrl', 'QueueArn', 'DlqUrl', 'DlqArn']) expect(Object.keys(outputs)).toContain(`${q}${o}`);
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['TargetDlqUrl', 'TargetDlqArn']));
    // Each points at its own queue (a copy-paste slip would point two at one).
    const values = ['RouteVideoReadyQueueUrl', 'RouteVideoReady2QueueUrl', 'DefaultQueueUrl', 'TargetDlqUrl'].map((k) =>
      JSON.stringify(outputs[k]?.Value),
    );
    expect(new Set(values).size).toBe(4);
  });

  it('are each named in docs/outputs.md (a new output without its line fails here)', () => {
    const page = readFileSync(join(__dirname, '../../docs/outputs.md'), 'utf8');
    const documented = [...page.matchAll(/`([A-Za-z0-9<>]+)`/g)].map((m) => m[1] as string);
    const patterns = documented.map((d) => new RegExp(`^${d.replace(/<[A-Za-z]+>/g, '[A-Za-z0-9]+')}$`));
    const { template } = synthRelay({
      relay: { joggai: {}, queues: [{ name: 'video-ready' }] },
    });
    const missing = Object.keys(template.findOutputs('*')).filter((o) => !patterns.some((p) => p.test(o)));
    expect(missing).toEqual([]);
  });
});
