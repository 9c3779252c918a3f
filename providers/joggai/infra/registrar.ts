import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { JOGGAI_REGISTRAR_SERVICE } from '../../../functions/core/observability-names.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  createRegistrarFunction,
  createStateTable,
  type RegistrarFunctionProps,
} from '../../../lib/registrar-common.js';

export interface JoggAiRegistrarProps extends RegistrarFunctionProps {
  /** The relay's JoggAI route URL. */
  readonly endpointUrl: string;
  /** @default https://api.jogg.ai */
  readonly apiUrl?: string;
}

/**
 * Keeps one JoggAI webhook endpoint pointed at the relay (hourly, and once after deploy) and
 * rotates its secret by overlapping a second endpoint (every `rotationInterval`). One function,
 * two schedules and an after-deploy trigger; reserved concurrency 1 so a reconcile and a rotation
 * never interleave. Each run logs one summary and emits `RegistrarRuns{provider=joggai, Outcome}`.
 */
export class JoggAiRegistrar extends Construct {
  /** Reconciles (and, with `{"action":"rotate"}`, rotates) the JoggAI endpoint and stores its secret. */
  public readonly registrarFunction: lambda.Function;
  /** The schedule that re-runs the reconcile. */
  public readonly scheduleRule: events.Rule;
  /** The schedule that rotates the secret (payload `{"action":"rotate"}`). */
  public readonly rotationRule: events.Rule;
  /** Holds the one-writer lease of the signing secret (the relay's state table, or one of its own). */
  public readonly stateTable: dynamodb.ITable;
  /** The after-deploy run, when enabled. */
  public readonly afterDeploy?: triggers.Trigger;

  constructor(scope: Construct, id: string, props: JoggAiRegistrarProps) {
    super(scope, id);
    this.stateTable = props.stateTable ?? createStateTable(this, 'StateTable');
    const registrar = createRegistrarFunction(this, props, {
      provider: 'joggai',
      stateTable: this.stateTable,
      functionId: 'Function',
      logGroupId: 'Logs',
      entry: 'joggai-registrar',
      description: 'heygen-relay: keeps one JoggAI webhook endpoint pointed at the relay; rotates by overlap',
      reservedConcurrentExecutions: 1,
      apiUrlVariable: 'JOGGAI_API_URL',
      apiUrl: props.apiUrl ?? 'https://api.jogg.ai',
      serviceName: JOGGAI_REGISTRAR_SERVICE,
      // Read and write the signing secret's versions and stages.
      signingSecretSid: 'JoggAiSigningSecretStages',
      signingSecretActions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      scheduleDescription: 'heygen-relay: re-check the JoggAI webhook endpoint',
    });
    this.registrarFunction = registrar.fn;
    this.scheduleRule = registrar.scheduleRule;
    this.afterDeploy = registrar.afterDeploy;
    this.rotationRule = new events.Rule(this, 'Rotation', {
      description: 'heygen-relay: rotate the JoggAI endpoint secret (second endpoint, overlap, delete the old)',
      schedule: events.Schedule.rate(props.rotationInterval ?? Duration.days(30)),
      targets: [
        new targets.LambdaFunction(this.registrarFunction, {
          retryAttempts: 2,
          event: events.RuleTargetInput.fromObject({ action: 'rotate' }),
        }),
      ],
    });

    const fn = this.registrarFunction;
    acknowledgeFunctionFindings(fn, props);
    if (props.tracing && props.tracing !== lambda.Tracing.DISABLED)
      ack(
        fn.role ?? fn,
        'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        'Only xray:PutTraceSegments/PutTelemetryRecords use Resource "*": X-Ray supports no resource-level permissions.',
      );
    ack(
      fn,
      'Serverless::Serverless-LambdaDLQ',
      'A failed run needs no replay: the hourly schedule re-runs the same reconciliation, and a rotation resumes from its stored pending state.',
    );
    for (const rule of [this.scheduleRule, this.rotationRule])
      ack(
        rule,
        'Serverless::Serverless-EventBusDLQ',
        'The target only receives clock ticks; the next tick re-runs the same idempotent work.',
      );
    if (!props.signingSecret.secretFullArn)
      ack(
        fn,
        'AwsSolutions::AwsSolutions-IAM5[Resource::<JoggAiSigningSecret*>-??????]',
        'An imported secret by partial ARN: the 6-character suffix wildcard is how IAM addresses it.',
      );
  }
}
