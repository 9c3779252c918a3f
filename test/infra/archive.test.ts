/** The media archive's infrastructure (lib/archive.ts): opt-in, secure bucket, queue + DLQ, least privilege, nag-clean. */
import { Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeyGenSource, JoggAiSource, StandardWebhooksSource } from '../../providers/infra.js';
import { synthRelay } from '../support/synth.js';

const archiverEnv = (template: Template) => {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { ARCHIVE_SOURCES: Match.anyValue() } } },
  });
  const fn = Object.values(fns)[0];
  return fn?.Properties.Environment.Variables as Record<string, unknown>;
};
const sourcesOf = (template: Template) => {
  const raw = archiverEnv(template).ARCHIVE_SOURCES as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof raw === 'string' ? raw : raw['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '"REF"')).join('');
  return JSON.parse(text.replace(/""REF""/g, '"REF"').replace(/"REF"/g, '"REF"'));
};

describe('Construct: archive', () => {
  it('is off by default: no archiver, bucket or archive queue', () => {
    const { template } = synthRelay({});
    expect(
      Object.keys(
        template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('archiver') } }),
      ),
    ).toHaveLength(0);
    template.resourceCountIs('AWS::S3::Bucket', 1); // the parked-deliveries bucket only
  });

  it('creates an encrypted, private, TLS-only bucket that aborts incomplete uploads after a day and expires when asked', () => {
    const { template } = synthRelay({ relay: { archive: { expiration: Duration.days(365) } } });
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'abort-incomplete-uploads',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          }),
          Match.objectLike({ Id: 'expire-archived', ExpirationInDays: 365 }),
        ]),
      },
    });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        LifecycleConfiguration: Match.objectLike({
          Rules: Match.arrayWith([Match.objectLike({ Id: 'abort-incomplete-uploads' })]),
        }),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('routes the declared result types of the bus to a queue with a DLQ, read by the archiver in batches of one', () => {
    const { template } = synthRelay({ relay: { sources: [new HeyGenSource(), new JoggAiSource()], archive: {} } });
    template.hasResourceProperties('AWS::Events::Rule', {
      Description: 'heygen-relay: result events whose files are archived',
      EventPattern: {
        source: ['heygen', 'joggai'],
        'detail-type': Match.arrayWith([
          'avatar_video.success',
          'video_translate.success',
          'personalized_video',
          'generated_avatar_video_success',
        ]),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 960,
      RedrivePolicy: { maxReceiveCount: 136 },
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const env = archiverEnv(template);
    expect(env).toMatchObject({
      ARCHIVE_MAX_BYTES: String(5 * 1024 ** 3),
      ARCHIVE_RETRY_FOR_SECONDS: '86400',
      ARCHIVE_STALE_UPLOAD_SECONDS: '900',
    });
    const sources = sourcesOf(template);
    expect(Object.keys(sources)).toEqual(['heygen', 'joggai']);
    expect(sources.heygen.apiKeySecretArn).toBeDefined();
    expect(sources.joggai.apiKeySecretArn).toBeUndefined();
  });

  it('grants the archiver objects under its prefix only, never delete', () => {
    const { template } = synthRelay({ relay: { archive: {} } });
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const s3Actions = statements.flatMap((s) => ([] as string[]).concat(s.Action)).filter((a) => a.startsWith('s3:'));
    expect(s3Actions).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListBucketMultipartUploads']),
    );
    expect(s3Actions.filter((a) => a.includes('Delete'))).toEqual([]);
    const put = statements.find((s) => ([] as string[]).concat(s.Action).includes('s3:PutObjectTagging'));
    expect(JSON.stringify(put?.Resource)).toContain('/archive/*');
    // Without s3:ListBucket (unconditioned), HeadObject of a missing key answers 403, not 404.
    const list = statements.find((s) => ([] as string[]).concat(s.Action).includes('s3:ListBucket')) as
      | { Condition?: unknown }
      | undefined;
    expect(list).toBeDefined();
    expect(list?.Condition).toBeUndefined();
  });

  it('unreadable message: the archiver may send to the archive DLQ only (sqs:SendMessage, nothing else on it), its URL in ARCHIVE_DLQ_URL', () => {
    const { template } = synthRelay({ relay: { archive: {} } });
    const queues = template.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: { maxReceiveCount: 136 } } });
    const redrive = Object.values(queues)[0]?.Properties.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': string[] } };
    const dlq = redrive.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(archiverEnv(template).ARCHIVE_DLQ_URL).toEqual({ Ref: dlq });
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { ARCHIVE_DLQ_URL: Match.anyValue() } } },
      }),
    )[0];
    const role = (fn?.Properties.Role as { 'Fn::GetAtt': string[] } | undefined)?.['Fn::GetAtt'][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const onDlq = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${dlq}"`));
    expect(onDlq).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } })]);
    const sends = statements.filter((s) => ([] as string[]).concat(s.Action).includes('sqs:SendMessage'));
    expect(sends).toEqual(onDlq);
  });

  it("uses the user's bucket when given (no bucket created)", () => {
    const { template } = synthRelay({
      relay: {
        archive: {
          bucket: {
            bucketName: 'mine',
            bucketArn: 'arn:aws:s3:::mine',
            arnForObjects: (k: string) => `arn:aws:s3:::mine/${k}`,
          } as unknown as s3.IBucket,
        },
      },
    });
    template.resourceCountIs('AWS::S3::Bucket', 1);
  });

  it('archives a Standard Webhooks source only when its files are configured, and validates them', () => {
    const sw = () =>
      new StandardWebhooksSource({ id: 'replicate', typeField: 'status', typePrefix: 'prediction', dataField: null });
    expect(() => synthRelay({ relay: { sources: [sw()], archive: {} } })).toThrow(/no source has media/);
    const { template } = synthRelay({
      relay: {
        sources: [sw()],
        archive: {
          sources: {
            replicate: {
              eventTypes: ['prediction.succeeded'],
              files: [{ kind: 'output', paths: ['output'] }],
              hosts: ['replicate.delivery'],
            },
          },
        },
      },
    });
    expect(sourcesOf(template).replicate).toMatchObject({ provider: 'standard-webhooks', hosts: ['replicate.delivery'] });
    expect(() => synthRelay({ relay: { sources: [sw()], archive: { sources: { nope: {} } } } })).toThrow(/archive.sources.nope/);
    expect(() => synthRelay({ relay: { archive: { maxFileSize: Size.gibibytes(60) } } })).toThrow(/50 GiB/);
  });

  it('lets a queue route the outcomes (<type>.archived / .archive_failed), and still refuses unknown types', () => {
    const { template } = synthRelay({
      relay: {
        archive: {},
        queues: [{ name: 'archived', eventTypes: ['avatar_video.success.archived', 'avatar_video.success.archive_failed'] }],
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['avatar_video.success.archived', 'avatar_video.success.archive_failed'] },
    });
    expect(() => synthRelay({ relay: { queues: [{ name: 'x', eventTypes: ['nope.archived'] }] } })).toThrow(
      /unknown event type "nope.archived"/,
    );
  });

  it('keeps only the kinds asked for (archive.files), GIF events included', () => {
    const { template } = synthRelay({ relay: { archive: { files: ['video', 'gif'] } } });
    expect(sourcesOf(template).heygen).toMatchObject({ kinds: ['video', 'gif'] });
  });

  it('alarms on failures, on the DLQ and on a copy pending past the retry period', () => {
    const { template } = synthRelay({ relay: { archive: { retryFor: Duration.hours(6) } } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ArchiveFailures',
      Namespace: 'HeyGenRelay',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 6 * 3600 + 3600,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('archive dead-letter') });
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboards)).toContain('archive: pending copies');
  });

  describe('cdk-nag', () => {
    const saved = process.env.CDK_VALIDATION;
    beforeAll(() => {
      process.env.CDK_VALIDATION = 'true';
    });
    afterAll(() => {
      process.env.CDK_VALIDATION = saved;
    });
    it.each([
      ['defaults', { archive: {} }],
      [
        'tracing, JoggAI, expiry',
        { tracing: true, sources: [new HeyGenSource(), new JoggAiSource()], archive: { expiration: Duration.days(30) } },
      ],
    ])('passes with %s', (_n, relay) => {
      const { app } = synthRelay({ relay: relay as never });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
      expect(() => app.synth({ force: true })).not.toThrow();
    });
  });
  void Stack;
});
