import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { HeyGenRegistrar, type HeyGenRegistrarProps } from '../../providers/heygen/infra/registrar.js';
import { expectNagClean, useCdkValidation } from '../support/cdk-nag.js';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };

function build(props: Partial<HeyGenRegistrarProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'RegistrarTest', { env: { account: '123456789012', region: 'us-east-1' } });
  const signingSecret = new secretsmanager.Secret(stack, 'Signing');
  const apiKeySecret = new secretsmanager.Secret(stack, 'ApiKey');
  const registrar = new HeyGenRegistrar(stack, 'Registrar', {
    signingSecret,
    apiKeySecret,
    endpointUrl: 'https://abc.lambda-url.us-east-1.on.aws/heygen',
    ...props,
  });
  return { app, stack, registrar, template: Template.fromStack(stack) };
}

function statementsOf(template: Template, stack: Stack, role: { node: { defaultChild?: unknown } }): Statement[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as never);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement[]) => s.flatMap((x) => (Array.isArray(x.Action) ? x.Action : [x.Action])).sort();

describe('Construct: HeyGenRegistrar', () => {
  const { template, stack, registrar } = build({ events: ['avatar_video.success', 'avatar_video.fail'] });

  it('creates both functions on nodejs22.x arm64', () => {
    for (const desc of ['keeps one HeyGen webhook endpoint', 'rotates the HeyGen signing secret']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(desc),
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
      });
    }
  });

  it('configures the registrar through its environment, without secret values', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('keeps one HeyGen'),
      Environment: {
        Variables: Match.objectLike({
          SIGNING_SECRET_ARN: { Ref: Match.stringLikeRegexp('Signing') },
          API_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('ApiKey') },
          ENDPOINT_URL: 'https://abc.lambda-url.us-east-1.on.aws/heygen',
          EVENTS: '["avatar_video.success","avatar_video.fail"]',
          HEYGEN_API_URL: 'https://api.heygen.com',
        }),
      },
    });
  });

  it('runs the registrar hourly and once after deploy (asynchronously)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    template.hasResourceProperties('Custom::Trigger', { InvocationType: 'Event' });
    expect(registrar.afterDeploy).toBeDefined();
  });

  it('attaches a 30-day rotation schedule that does not rotate at deploy time', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('RegistrarRotation'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'secretsmanager.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  it('grants the registrar read+write on the signing secret, read on the API key and the lease on the state table, nothing broader', () => {
    const statements = statementsOf(template, stack, registrar.registrarFunction.role as never);
    expect(actions(statements)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'secretsmanager:DescribeSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    const signing = statements.find((s) => s.Sid === 'SigningSecretReadWrite');
    expect(JSON.stringify(signing?.Resource)).toMatch(/Signing/);
    const lease = statements.find((s) => [s.Action].flat().includes('dynamodb:UpdateItem'));
    expect(JSON.stringify(lease?.Resource)).toMatch(/StateTable/);
    const apiKey = statements.find((s) => s !== signing && s !== lease);
    expect(JSON.stringify(apiKey?.Resource)).toMatch(/ApiKey/);
    expect(JSON.stringify(statements)).not.toMatch(/"\*"/);
  });

  it('lets the rotation function read the API key and stage versions of the signing secret', () => {
    const statements = statementsOf(template, stack, registrar.rotationFunction.role as never);
    const all = actions(statements);
    expect(all).toEqual(expect.arrayContaining(['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']));
    const onApiKey = statements.filter((s) => JSON.stringify(s.Resource).includes('ApiKey'));
    expect(actions(onApiKey)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(all).not.toContain('secretsmanager:DeleteSecret');
    // The rotation takes the same lease as the registrar: same table, same lease name.
    expect(all).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };
    const withLease = Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Fn>)
      .map((r) => r.Properties.Environment?.Variables ?? {})
      .filter((v) => v.LEASE_NAME !== undefined);
    expect(withLease).toHaveLength(2); // the registrar and the rotation
    const [reg, rot] = withLease as [Record<string, unknown>, Record<string, unknown>];
    expect(reg.LEASE_NAME).toEqual(rot.LEASE_NAME);
    expect(reg.STATE_TABLE_NAME).toEqual(rot.STATE_TABLE_NAME);
    expect(JSON.stringify(reg.LEASE_NAME)).toMatch(/heygen:/);
  });

  it('subscribes to all events when none are given, and honours schedule/interval/api URL', () => {
    const { template: t } = build({
      schedule: events.Schedule.rate(Duration.minutes(15)),
      rotationInterval: Duration.days(7),
      apiUrl: 'https://api.example.test',
      runAfterDeploy: false,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('keeps one HeyGen'),
      Environment: { Variables: Match.objectLike({ EVENTS: '', HEYGEN_API_URL: 'https://api.example.test' }) },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
    });
    t.resourceCountIs('Custom::Trigger', 0);
  });

  it('attaches no rotation schedule with rotationInterval 0', () => {
    const { template: t, registrar: r } = build({ rotationInterval: Duration.days(0) });
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    expect(r.rotationSchedule).toBeUndefined();
  });

  it('warns at synth about event types HeyGen does not know', () => {
    const { stack: s } = build({ events: ['avatar_video.success', 'avatar_video.finished'] });
    Annotations.fromStack(s).hasWarning('*', Match.stringLikeRegexp('avatar_video.finished'));
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('not in HeyGen'));
  });

  it('sets log retention on both log groups', () => {
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 2);
  });
});

describe('cdk-nag on HeyGenRegistrar', () => {
  useCdkValidation();

  it('passes AwsSolutions and Serverless with every acknowledgement giving a reason', () => {
    const { app, stack } = build();
    // The test secrets are not the construct's; acknowledge their own findings here.
    for (const id of ['Signing', 'ApiKey']) {
      Validations.of(stack.node.findChild(id)).acknowledge({
        id: 'AwsSolutions::AwsSolutions-SMG4',
        reason: 'test fixture',
      });
    }
    expectNagClean(app);
  });
});
