import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { RelayConfigError } from '../../lib/config.js';
import { HeyGenRelay } from '../../lib/heygen-relay.js';
import { BACKFILL_DEFAULTS } from '../../providers/heygen/runtime/backfill.js';
import { SWEEP_AGE_ALARM_HOURS } from '../../providers/heygen/runtime/backfill-plan.js';
import { relayProviders, synthRelay } from '../support/synth.js';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function policyStatements(template: Template, roleLogicalIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

describe('Construct: HeyGenRelay', () => {
  const { template } = synthRelay({
    relay: { queues: [{ name: 'failures', eventTypes: ['avatar_video.fail', 'video_translate.fail'] }] },
  });

  it('is a single `new` in any stack', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Any');
    const relay = new HeyGenRelay(stack, 'Relay');
    expect(relay.defaultQueue?.queue).toBeDefined();
    expect(Template.fromStack(stack).resourceCountIs('AWS::Lambda::Url', 1)).toBeUndefined();
  });

  it('creates the ingress on nodejs22.x arm64 with a 10 s timeout and reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 10,
      MemorySize: 256,
      ReservedConcurrentExecutions: 10,
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUS_NAME: Match.anyValue(),
          DEDUP_TABLE_NAME: Match.anyValue(),
          DEDUP_WINDOW_SECONDS: String(48 * 3600),
          MAX_BODY_BYTES: String(256 * 1024),
          RELAY_PROVIDERS: Match.anyValue(),
        }),
      },
    });
  });

  it('puts no secret value in the environment, only the secret ARN', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    const env = JSON.stringify(fn?.Properties.Environment);
    expect(env).toContain('HeyGenSigningSecret');
    expect(env).not.toMatch(/whsec_|apiKey|"secret":/);
  });

  it('exposes a Function URL with auth NONE (the signature authenticates)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    template.hasOutput('*', { Value: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['heygen'])]) }) });
  });

  it("logs JSON at INFO with Lambda's platform lines at WARN, and DEBUG when asked", () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: Match.anyValue() },
    });
    synthRelay({ relay: { logLevel: lambda.ApplicationLogLevel.DEBUG } }).template.hasResourceProperties(
      'AWS::Lambda::Function',
      {
        LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }),
      },
    );
  });

  it('sets log retention and leaves tracing off by default, on when asked', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: Match.absent() });
    const traced = synthRelay({ relay: { tracing: true, reservedConcurrency: null } }).template;
    traced.hasResourceProperties('AWS::Lambda::Function', {
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('creates a custom bus with an archive of every relay event (30 days by default)', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 30, EventPattern: { source: ['heygen'] } });
    synthRelay({ relay: { archiveRetention: Duration.days(7) } }).template.hasResourceProperties('AWS::Events::Archive', {
      RetentionDays: 7,
    });
  });

  it('routes every event to the default queue and the configured event types to a route queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['heygen'], 'detail-type': Match.absent() },
      Targets: [
        Match.objectLike({
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['heygen'], 'detail-type': ['avatar_video.fail', 'video_translate.fail'] },
    });
  });

  it('encrypts every queue, gives each relay queue a redrive DLQ, and denies non-TLS access', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    // default + failures (queue + DLQ each) + the rule-target DLQ
    expect(Object.keys(queues)).toHaveLength(5);
    for (const q of Object.values(queues)) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    const redriven = Object.values(queues).filter((q) => q.Properties.RedrivePolicy);
    expect(redriven).toHaveLength(2);
    for (const q of redriven) expect(q.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    for (const p of Object.values(policies))
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    expect(Object.keys(policies).length).toBeGreaterThanOrEqual(5);
  });

  it('creates an on-demand dedup table with TTL, and a state table for the leases', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const tables = template.findResources('AWS::DynamoDB::Table');
    const state = Object.entries(tables).filter(([id]) => id.startsWith('RelayStateTable'));
    expect(state).toHaveLength(1);
    expect(state[0]?.[1].Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // The ingress's per-key refusal records expire (never `expiresAt`: the lease's fence must stay).
      TimeToLiveSpecification: { AttributeName: 'purgeAt', Enabled: true },
    });
    template.hasOutput('*', { Value: { Ref: state[0]?.[0] } });
    const noDedup = synthRelay({ relay: { dedup: false } }).template;
    noDedup.resourceCountIs('AWS::DynamoDB::Table', 1); // the state table only
    noDedup.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEDUP_ENABLED: 'false' }) },
    });
  });

  it('creates the signing secret empty-safe and an API-key secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: '{"secret":null}' });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: '{"apiKey":null}' });
  });

  it('alarms on DLQ messages, ingress 5xx and a spike of signature rejections', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Url5xxCount',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'HeyGenRelay',
      MetricName: 'Rejected',
      Dimensions: Match.arrayWith([{ Name: 'reason', Value: 'invalid_signature' }]),
      Threshold: 20,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'RegistrarRuns',
              Dimensions: Match.arrayWith([
                { Name: 'Outcome', Value: 'failed' },
                { Name: 'service', Value: 'heygen-relay-registrar' },
              ]),
            }),
          }),
        }),
      ]),
    });
    // Secret lifecycle: a refused key in one run, a failing rotation step, a rotation stuck pending, duplicates that keep coming back.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      EvaluationPeriods: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Id: 'limit',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Dimensions: Match.arrayWith([{ Name: 'Outcome', Value: 'limit_reached' }]) }),
          }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^RelayRegistrarRotation') } }],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 3600,
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RotationPendingAgeSeconds' }) }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DuplicateEndpointsDeleted', DatapointsToAlarm: 2 });
    // A wrong secret healed (issue 11), and events only the backfill brought.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RegistrarRuns',
      Dimensions: Match.arrayWith([{ Name: 'Outcome', Value: 'secret_mismatch' }]),
      Threshold: 1,
    });
    // Events stop flowing and a person must act (issue 19): a disabled endpoint, a second writer, an
    // endpoint a lost create may have left at another URL.
    const says: Record<string, string> = {
      endpoint_disabled: "HeyGen's dashboard",
      second_writer: 'another writer',
      stray_endpoint: 'did not touch it',
    };
    for (const [outcome, text] of Object.entries(says))
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'RegistrarRuns',
        Dimensions: Match.arrayWith([{ Name: 'Outcome', Value: outcome }]),
        Threshold: 1,
        AlarmDescription: Match.stringLikeRegexp(text),
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'BackfilledEvents' }) }) }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ParkedEvents' }) }) }),
      ]),
    });
    // The backfill must keep sweeping: no completed sweep for 26 h, or no report at all, alarms.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SweepAgeHours',
      Threshold: SWEEP_AGE_ALARM_HOURS,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
    // A period the backfill could not cover stays alarmed until a person acknowledges it (issue 19): an
    // hour without the metric (a run that failed, was busy or had no API key) keeps the alarm's state
    // ('ignore'), where the default ('missing') would take it out of ALARM with nothing covered.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'BackfillGap',
      Threshold: 1,
      Statistic: 'Maximum',
      TreatMissingData: 'ignore',
    });
    // three DLQs + 5xx + signatures + registrar failing + registrar needs attention + rotation errors/pending/duplicates + parked
    // + secret mismatch + backfilled + backfill parked + backfill behind + endpoint disabled + second writer + backfill gap
    // + stray endpoint
    template.resourceCountIs('AWS::CloudWatch::Alarm', 19);
  });

  it('grants the ingress least privilege: PutEvents on its bus, read on its secret, read and put on its table (record mode)', () => {
    const statements = policyStatements(template, 'RelayIngressServiceRole');
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      expect([s.Action].flat()).not.toContain('*');
      expect(s.Resource).not.toBe('*');
    }
    // One statement per kind of item (test/infra/ingress-iam.test.ts checks which items): actions once each.
    const actions = [...new Set(statements.flatMap((s) => [s.Action].flat()))].sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem', // on the state table only: the delivery evidence (below)
        'events:PutEvents',
        's3:PutObject',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    const update = statements.find((st) => [st.Action].flat().includes('dynamodb:UpdateItem'));
    expect(JSON.stringify(update?.Resource)).toMatch(/RelayStateTable/);
    expect([update?.Action].flat()).toEqual(['dynamodb:UpdateItem']);
  });

  it('runs the backfill hourly with least privilege: API key, dedup reads by key (no Scan) and claims, PutEvents, its lease, parking under parked/heygen/', () => {
    const statements = policyStatements(template, 'RelayBackfillFunctionServiceRole');
    const actions = statements.flatMap((st) => [st.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'dynamodb:BatchGetItem',
        's3:PutObject',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:DescribeSecret', // the signing secret's CreatedDate (a first run's origin), never its value
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    for (const st of statements) expect(st.Resource).not.toBe('*');
    const signing = statements.filter((s) => JSON.stringify(s.Resource).includes('SigningSecret'));
    expect(signing.flatMap((s) => [s.Action].flat())).toEqual(['secretsmanager:DescribeSecret']);
    const put = statements.find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain('/parked/heygen/*');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PARKED_BUCKET_NAME: Match.anyValue(),
          ENDPOINT_URL: Match.anyValue(),
          LEASE_NAME: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['heygen-backfill:'])]) }),
        }),
      },
    });
    // Its claims outlast the whole run: a publish still retrying after its lock passed would let a live
    // copy publish the event too (the ingress's 15 s lock is safe only because its timeout is 10 s).
    const backfillFn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f.Properties?.Environment?.Variables?.LEASE_NAME ?? '').includes('heygen-backfill:'),
    );
    expect(backfillFn?.Properties?.Timeout).toBeGreaterThan(0);
    expect(backfillFn?.Properties?.Timeout).toBeLessThan(BACKFILL_DEFAULTS.claimLockSeconds);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Description: Match.stringLikeRegexp('backfill'),
    });
  });

  it('keeps parked deliveries in a private, encrypted, TLS-only, expiring bucket the ingress may only put into under parked/', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    const [id, bucket] = Object.entries(buckets)[0] ?? [];
    expect(Object.keys(buckets)).toHaveLength(1);
    const props = (bucket as { Properties: Record<string, any>; DeletionPolicy: string }).Properties;
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.LifecycleConfiguration.Rules[0]).toMatchObject({ ExpirationInDays: 90, Status: 'Enabled' });
    expect((bucket as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy'))[0] as { Properties: Record<string, any> };
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    const put = policyStatements(template, 'RelayIngressServiceRole').find((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(put?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/parked/*']] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Parked',
      Dimensions: Match.arrayWith([{ Name: 'provider', Value: 'heygen' }]),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PARKED_BUCKET_NAME: { Ref: id } }) },
    });
  });
});

describe('Construct: HeyGenRelay dedup modes', () => {
  const tableActions = (t: Template) =>
    policyStatements(t, 'RelayIngressServiceRole')
      .filter((s) => JSON.stringify(s.Resource).includes('DedupTable'))
      .flatMap((s) => [s.Action].flat())
      .filter((a, i, all) => String(a).startsWith('dynamodb:') && all.indexOf(a) === i)
      .sort();

  it("tells the ingress HeyGen's mode: record by default, claim when asked, with update and delete granted only then", () => {
    const byDefault = synthRelay({}).template;
    expect(relayProviders(byDefault)).toMatchObject([{ name: 'heygen', dedupMode: 'record' }]);
    expect(tableActions(byDefault)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    const claim = synthRelay({ relay: { heygen: { dedupMode: 'claim' } } }).template;
    expect(relayProviders(claim)).toMatchObject([{ name: 'heygen', dedupMode: 'claim' }]);
    expect(tableActions(claim)).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('refuses an unknown mode at synth', () => {
    expect(() => synthRelay({ relay: { heygen: { dedupMode: 'exactly-once' as never } } })).toThrow(
      /heygen\.dedupMode must be 'record' or 'claim', got "exactly-once"/,
    );
  });
});

describe('Construct: HeyGenRelay registration wiring', () => {
  it('registers itself by default (registrar + rotation on the signing secret) and not when disabled', () => {
    const on = synthRelay({}).template;
    on.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    on.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ENDPOINT_URL: Match.anyValue() }) },
    });
    const off = synthRelay({ relay: { heygen: { registration: false } } }).template;
    off.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    off.resourceCountIs('AWS::Lambda::Function', 2); // the ingress and the temporary-route sweeper
  });

  it('fails synth for an unknown registration event type', () => {
    expect(() => synthRelay({ relay: { heygen: { registration: { events: ['nope.success'] } } } })).toThrowError(
      /unknown event type "nope.success"/,
    );
  });
});

describe('Construct: HeyGenRelay props validation', () => {
  const build = (props: ConstructorParameters<typeof HeyGenRelay>[2]) => () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new HeyGenRelay(new Stack(app, 'V'), 'Relay', props);
  };

  it('fails synth when a queue routes an unknown event type', () => {
    expect(build({ queues: [{ name: 'x', eventTypes: ['avatar_video.done'] }] })).toThrowError(RelayConfigError);
    expect(build({ queues: [{ name: 'x', eventTypes: ['avatar_video.done'] }] })).toThrowError(
      /unknown event type "avatar_video.done"/,
    );
  });

  it.each([
    ['a duplicate queue name', { queues: [{ name: 'a' }, { name: 'a' }] }, /used twice/],
    ['a queue named like the default', { queues: [{ name: 'all' }] }, /used twice/],
    ['a bad queue name', { queues: [{ name: 'bad name' }] }, /must be 1-40/],
    ['an empty event list', { queues: [{ name: 'a', eventTypes: [] }] }, /empty eventTypes/],
    ['a provider that is not enabled', { queues: [{ name: 'a', providers: ['joggai'] }] }, /not enabled/],
    ["a body limit over EventBridge's", { maxBodyBytes: 300_000 }, /maxBodyBytes/],
    ['a dedup window under an hour', { dedupWindow: Duration.minutes(5) }, /dedupWindow/],
    ['zero reserved concurrency', { reservedConcurrency: 0 }, /reservedConcurrency/],
  ])('fails synth with a clear message for %s', (_n, props, message) => {
    expect(build(props as never)).toThrowError(message);
  });
});
