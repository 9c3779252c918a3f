/**
 * The temporary-route sweeper (lib/temp-route-sweeper.ts): a function run every 15 minutes that may
 * only list rules and queues, and change only the temporary routes of this relay's bus.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthRelay } from '../support/synth.js';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

const busId = (t: Template) => Object.keys(t.findResources('AWS::Events::EventBus'))[0] as string;

// biome-ignore lint/suspicious/noExplicitAny: a synthesized resource, read as CloudFormation JSON
type Resource = Record<string, any>;

function sweeper(t: Template): { id: string; fn: Resource } {
  const hits = Object.entries(t.findResources('AWS::Lambda::Function')).filter(
    ([, f]) => f.Properties.Environment?.Variables?.SWEEP_GRACE_SECONDS !== undefined,
  );
  expect(hits).toHaveLength(1);
  const [id, fn] = hits[0] as [string, Resource];
  return { id, fn };
}

function statementsOfRole(t: Template, roleRef: unknown): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const queueArn = (prefix: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:us-east-1:123456789012:${prefix}*`]],
});
const ruleArn = (bus: string, prefix: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:us-east-1:123456789012:rule/', { Ref: bus }, `/${prefix}*`]],
});

describe('Construct: TempRouteSweeper (in every HeyGenRelay by default)', () => {
  const { template } = synthRelay({});

  it('is a function of its own entry, on the relay bus, sweeping with a 5 minute grace', () => {
    const { fn } = sweeper(template);
    expect(fn.Properties).toMatchObject({
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Environment: { Variables: { EVENT_BUS_NAME: { Ref: busId(template) }, SWEEP_GRACE_SECONDS: '300' } },
    });
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const logGroup = fn.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(logGroup).toMatch(/^RelayTempRouteSweeperLogs/);
    expect(template.findResources('AWS::Logs::LogGroup')[logGroup]?.Properties).toEqual({ RetentionInDays: 30 });
  });

  it('runs every 15 minutes, with retries', () => {
    const { id } = sweeper(template);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [id, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  it('may list rules and queues, and change only the temporary rules of this bus and the temporary queues', () => {
    const { fn } = sweeper(template);
    const statements = statementsOfRole(template, { Ref: fn.Properties.Role['Fn::GetAtt'][0] });
    const bus = busId(template);
    expect(statements).toEqual([
      { Sid: 'ListRulesAndQueues', Effect: 'Allow', Action: ['events:ListRules', 'sqs:ListQueues'], Resource: '*' },
      {
        Sid: 'RemoveTemporaryRules',
        Effect: 'Allow',
        Action: ['events:ListTagsForResource', 'events:RemoveTargets', 'events:DeleteRule'],
        Resource: [ruleArn(bus, 'heygen-relay-listen-'), ruleArn(bus, 'heygen-relay-replay-')],
      },
      {
        Sid: 'ReadTemporaryQueues',
        Effect: 'Allow',
        Action: ['sqs:GetQueueUrl', 'sqs:ListQueueTags'],
        Resource: [queueArn('heygen-relay-listen-'), queueArn('heygen-relay-replay-')],
      },
      {
        Sid: 'DeleteTemporaryQueues',
        Effect: 'Allow',
        Action: 'sqs:DeleteQueue',
        Resource: [queueArn('heygen-relay-listen-'), queueArn('heygen-relay-replay-')],
        Condition: { StringEquals: { 'aws:ResourceTag/heygen-relay:bus': { Ref: bus } } },
      },
    ]);
    // No other role may delete rules or queues.
    const others = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => !JSON.stringify(p.Properties.Roles).includes('TempRouteSweeper'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .flatMap((s) => [s.Action].flat());
    expect(others.filter((a) => /^(events:DeleteRule|events:RemoveTargets|sqs:DeleteQueue)$/.test(a))).toEqual([]);
  });

  it('is left out with temporaryRouteSweeper: false', () => {
    const off = synthRelay({ relay: { temporaryRouteSweeper: false } }).template;
    expect(
      Object.values(off.findResources('AWS::Lambda::Function')).filter(
        (f) => f.Properties.Environment?.Variables?.SWEEP_GRACE_SECONDS !== undefined,
      ),
    ).toEqual([]);
    expect(JSON.stringify(off.toJSON())).not.toMatch(/heygen-relay-listen-/);
  });
});
