import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { expectNagClean, useCdkValidation } from '../support/cdk-nag.js';
import { synthRelay } from '../support/synth.js';

describe('cdk-nag: AwsSolutions and Serverless packs', () => {
  // The suite turns CDK validation off for speed; these tests need it.
  useCdkValidation();

  it.each([
    ['defaults', {}],
    [
      'route queues, tracing, no dedup',
      { queues: [{ name: 'failures', eventTypes: ['avatar_video.fail'] }], tracing: true, dedup: false },
    ],
  ])('passes with %s, every acknowledgement carrying a reason', (_n, relay) => {
    const { app } = synthRelay({ relay });
    expectNagClean(app);
  });

  it('does fail on a finding (the check is live)', async () => {
    const { app, stack } = synthRelay({});
    const sqs = await import('aws-cdk-lib/aws-sqs');
    new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth({ force: true })).toThrowError(/AwsSolutions-SQS/);
  });
});
