import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { JOGGAI_REGISTRAR_SERVICE } from '../../../functions/core/observability-names.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  RegistrarConstruct,
  type RegistrarFunctionProps,
} from '../../../lib/registrar-common.js';

/** The JoggAI registrar's props (`apiUrl` @default https://api.jogg.ai; `endpointUrl`: the relay's JoggAI route URL). */
export type JoggAiRegistrarProps = RegistrarFunctionProps;

/**
 * Keeps one JoggAI webhook endpoint pointed at the relay (hourly, and once after deploy) and
 * rotates its secret by overlapping a second endpoint (every `rotationInterval`). One function,
 * two schedules and an after-deploy trigger; reserved concurrency 1 so a reconcile and a rotation
 * never interleave. Each run logs one summary and emits `RegistrarRuns{provider=joggai, Outcome}`.
 * Its `registrarFunction` also rotates, given `{"action":"rotate"}`.
 */
export class JoggAiRegistrar extends RegistrarConstruct {
  /** The schedule that rotates the secret (payload `{"action":"rotate"}`). */
  public readonly rotationRule: events.Rule;

  constructor(scope: Construct, id: string, props: JoggAiRegistrarProps) {
    super(scope, id, props, {
      provider: 'joggai',
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
