import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '../functions/core/observability-names.js';
import { BUS_TAG, TEMP_KINDS, tempRoutePrefix } from '../functions/core/temp-route-names.js';
import { functionCode } from './function-assets.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  registrarFunctionDefaults,
  registrarLogGroup,
} from './registrar-common.js';

/** A policy resource as cdk-nag names it in a finding id: references as `<LogicalId>` / `<LogicalId.Attr>`. */
function nagResource(stack: Stack, value: string): string {
  const part = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Join'?: [string, unknown[]] };
    if (o.Ref) return `<${o.Ref}>`;
    if (o['Fn::GetAtt']) return `<${o['Fn::GetAtt'].join('.')}>`;
    if (o['Fn::Join']) return o['Fn::Join'][1].map(part).join(o['Fn::Join'][0]);
    return JSON.stringify(v);
  };
  return part(stack.resolve(value));
}

export interface TempRouteSweeperProps {
  readonly eventBus: events.IEventBus;
  /** @default events.Schedule.rate(Duration.minutes(15)) */
  readonly schedule?: events.Schedule;
  /**
   * How long past its lease a temporary route is still left alone (room for the clock of the
   * machine renewing it running behind). @default Duration.minutes(5)
   */
  readonly grace?: Duration;
  readonly logRetention?: logs.RetentionDays;
  readonly tracing?: lambda.Tracing;
}

/**
 * The temporary routes' sweeper (functions/entries/temp-route-sweeper.ts): every 15 minutes it removes the
 * rules and queues `heygen-relay listen` / `replay` left on the bus when their process died and
 * their lease ran out, with the CLI's own sweep (functions/adapters/aws/temp-routes.ts).
 *
 * Least privilege: list the rules and queues (no resource-level permission exists for listing);
 * read tags of, remove targets from and delete only rules of this bus named `heygen-relay-listen-*`
 * or `heygen-relay-replay-*`; read tags of and find only queues with those name prefixes, and
 * delete only those also tagged `heygen-relay:bus` = this bus. Nothing else.
 */
export class TempRouteSweeper extends Construct {
  public readonly sweeperFunction: lambda.Function;
  public readonly scheduleRule: events.Rule;

  constructor(scope: Construct, id: string, props: TempRouteSweeperProps) {
    super(scope, id);
    const options = {
      ...(props.tracing ? { tracing: props.tracing } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    } as never;
    const fn = this.createFunction(props, options);
    const scopedArns = this.grantSweep(fn, props.eventBus);
    this.sweeperFunction = fn;
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: "heygen-relay: sweep the bus's expired temporary listen/replay routes",
      schedule: props.schedule ?? events.Schedule.rate(Duration.minutes(15)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
    });
    acknowledgeFunctionFindings(fn, options);
    this.acknowledgeFindings(fn, scopedArns);
  }

  private createFunction(props: TempRouteSweeperProps, options: never): lambda.Function {
    return new lambda.Function(this, 'Function', {
      ...registrarFunctionDefaults(options),
      memorySize: 128,
      code: functionCode('temp-route-sweeper'),
      timeout: Duration.minutes(2),
      // No reserved concurrency: it would take from the account's pool, and overlapping sweeps are
      // harmless (a route removed by someone else mid-sweep is skipped; test/integration/temp-route-sweeper.test.ts).
      description: 'heygen-relay: removes the temporary listen/replay routes whose owner died (lease expired)',
      logGroup: registrarLogGroup(this, 'Logs', options),
      environment: {
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        SWEEP_GRACE_SECONDS: String((props.grace ?? Duration.minutes(5)).toSeconds()),
        POWERTOOLS_SERVICE_NAME: `${SERVICE_NAME}-temp-route-sweeper`,
      },
    });
  }

  /** The sweep's grants (see the class comment); returns the rule and queue ARN patterns they are scoped to. */
  private grantSweep(fn: lambda.Function, eventBus: events.IEventBus): string[] {
    const stack = Stack.of(this);
    const ruleArns = TEMP_KINDS.map((kind) =>
      stack.formatArn({
        service: 'events',
        resource: 'rule',
        resourceName: `${eventBus.eventBusName}/${tempRoutePrefix(kind)}*`,
      }),
    );
    const queueArns = TEMP_KINDS.map((kind) =>
      stack.formatArn({ service: 'sqs', resource: `${tempRoutePrefix(kind)}*`, arnFormat: ArnFormat.NO_RESOURCE_NAME }),
    );
    const statements = [
      { sid: 'ListRulesAndQueues', actions: ['events:ListRules', 'sqs:ListQueues'], resources: ['*'] },
      {
        sid: 'RemoveTemporaryRules',
        actions: ['events:ListTagsForResource', 'events:RemoveTargets', 'events:DeleteRule'],
        resources: ruleArns,
      },
      { sid: 'ReadTemporaryQueues', actions: ['sqs:GetQueueUrl', 'sqs:ListQueueTags'], resources: queueArns },
      {
        sid: 'DeleteTemporaryQueues',
        actions: ['sqs:DeleteQueue'],
        resources: queueArns,
        conditions: { StringEquals: { [`aws:ResourceTag/${BUS_TAG}`]: eventBus.eventBusName } },
      },
    ];
    for (const statement of statements) fn.addToRolePolicy(new iam.PolicyStatement(statement));
    return [...ruleArns, ...queueArns];
  }

  /** cdk-nag acknowledgements, each with its reason. */
  private acknowledgeFindings(fn: lambda.Function, scopedArns: readonly string[]): void {
    const stack = Stack.of(this);
    for (const arn of scopedArns)
      ack(
        fn,
        `AwsSolutions::AwsSolutions-IAM5[Resource::${nagResource(stack, arn)}]`,
        'listen/replay give each temporary rule and queue a random name: they are scoped by name prefix (heygen-relay-listen-*, heygen-relay-replay-*), rules to this bus only, queue deletion to queues tagged with this bus.',
      );
    ack(
      fn,
      'Serverless::Serverless-LambdaDLQ',
      'A failed sweep needs no replay: the next run, 15 minutes later, sweeps the same bus.',
    );
    ack(this.scheduleRule, 'Serverless::Serverless-EventBusDLQ', 'Clock ticks only; the next tick runs the same sweep.');
    ack(
      fn,
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'events:ListRules and sqs:ListQueues support no resource-level permission; they list names only (the sweep filters by name prefix and tags, and may change only what the other statements scope).',
    );
  }
}
