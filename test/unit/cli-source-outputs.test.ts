import { describe, expect, it } from 'vitest';
import { resolveOutputs, stackSources, UsageError } from '../../bin/commands/shared.js';

// Output keys as a stack with the default HeyGen source and `heygen-staging` has them (lib/source.ts outputName).
const outputs = [
  { key: 'HeyGenWebhookUrl', value: 'https://u/heygen' },
  { key: 'SigningSecretArn', value: 'arn:sign-default' },
  { key: 'ApiKeySecretArn', value: 'arn:key-default' },
  { key: 'SourceHeygenStagingHeyGenWebhookUrl', value: 'https://u/heygen-staging' },
  { key: 'SourceHeygenStagingSigningSecretArn', value: 'arn:sign-staging' },
  { key: 'SourceHeygenStagingApiKeySecretArn', value: 'arn:key-staging' },
  { key: 'JoggAiSigningSecretArn', value: 'arn:jogg' },
  { key: 'StateTableName', value: 'state' },
  { key: 'EventBusName', value: 'bus' },
];

describe('CLI --source output resolution', () => {
  it('the default source reads the un-prefixed outputs (not the other source, not JoggAI)', () => {
    expect(resolveOutputs(outputs, 'S')).toMatchObject({
      webhookUrl: 'https://u/heygen',
      signingSecretArn: 'arn:sign-default',
      apiKeySecretArn: 'arn:key-default',
      stateTableName: 'state',
      eventBusName: 'bus',
    });
  });

  it('a second source reads its Source<Id> outputs and the shared ones', () => {
    expect(resolveOutputs(outputs, 'S', 'heygen-staging')).toMatchObject({
      webhookUrl: 'https://u/heygen-staging',
      signingSecretArn: 'arn:sign-staging',
      apiKeySecretArn: 'arn:key-staging',
      stateTableName: 'state',
      eventBusName: 'bus',
    });
  });

  it('hashed legacy ids and a relay prefix still resolve per source', () => {
    const o = [
      { key: 'RelaySourceHeygenStagingSigningSecretArn8D610EE0', value: 'arn:s' },
      { key: 'RelaySourceHeygenStagingHeyGenWebhookUrl', value: 'u' },
    ];
    expect(resolveOutputs(o, 'S', 'heygen-staging').signingSecretArn).toBe('arn:s');
    expect(resolveOutputs(o, 'S').signingSecretArn).toBeUndefined();
  });

  it('an unknown id is a usage error listing the sources the stack has', () => {
    expect(() => resolveOutputs(outputs, 'S', 'heygen-prod')).toThrow(UsageError);
    expect(() => resolveOutputs(outputs, 'S', 'heygen-prod')).toThrow(
      'stack S has no source "heygen-prod"; its sources: heygen, heygen-staging',
    );
  });

  it('lists the sources from the output names', () => {
    expect(stackSources(outputs.map((o) => o.key))).toEqual(['heygen', 'heygen-staging']);
    expect(stackSources(['EventBusName'])).toEqual([]);
  });
});
