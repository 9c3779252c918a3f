import * as path from 'node:path';
import { Annotations, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { JOGGAI_REGISTRAR_SERVICE, METRICS_NAMESPACE } from '../functions/observability-names.js';

export interface JoggAiRegistrarProps {
  readonly signingSecret: secretsmanager.ISecret;
  readonly apiKeySecret: secretsmanager.ISecret;
  /** The relay's JoggAI route URL. */
  readonly endpointUrl: string;
  /** @default all events */
  readonly events?: readonly string[];
  /** @default hourly */
  readonly schedule?: events.Schedule;
  /** @default Duration.days(30) */
  readonly rotationInterval?: Duration;
  /** @default https://api.jogg.ai */
  readonly apiUrl?: string;
  /**
   * Run the registrar once after each deployment that changes its code or configuration
   * (asynchronously: a JoggAI outage or a missing API key never fails the deployment).
   * @default true
   */
  readonly runAfterDeploy?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default lambda.Tracing.DISABLED */
  readonly tracing?: lambda.Tracing;
}

/**
 * Keeps one JoggAI webhook endpoint pointed at the relay (hourly, and once after deploy) and
 * rotates its secret by overlapping a second endpoint (every `rotationInterval`). One function,
 * two schedules and an after-deploy trigger; reserved concurrency 1 so a reconcile and a rotation
 * never interleave. Each run logs one summary and emits `RegistrarRuns{provider=joggai, Outcome}`.
 */
export class JoggAiRegistrar extends Construct {
  /** Reconciles (and, with `{"action":"rotate"}`, rotates) the JoggAI endpoint and stores its secret. */
  public readonly registrarFunction: nodejs.NodejsFunction;
  /** The schedule that re-runs the reconcile. */
  public readonly scheduleRule: events.Rule;
  /** The schedule that rotates the secret (payload `{"action":"rotate"}`). */
  public readonly rotationRule: events.Rule;
  /** The after-deploy run, when enabled. */
  public readonly afterDeploy?: triggers.Trigger;

  constructor(scope: Construct, id: string, props: JoggAiRegistrarProps) {
    super(scope, id);
    this.registrarFunction = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', 'functions', 'joggai-registrar.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions: 1,
      tracing: props.tracing ?? lambda.Tracing.DISABLED,
      bundling: { minify: true, mainFields: ['module', 'main'], sourceMap: false, target: 'node22', externalModules: [] },
      description: 'heygen-relay: keeps one JoggAI webhook endpoint pointed at the relay; rotates by overlap',
      logGroup: new logs.LogGroup(this, 'Logs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        SIGNING_SECRET_ARN: props.signingSecret.secretArn,
        API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        ENDPOINT_URL: props.endpointUrl,
        EVENTS: props.events && props.events.length > 0 ? Stack.of(this).toJsonString(props.events) : '',
        JOGGAI_API_URL: props.apiUrl ?? 'https://api.jogg.ai',
        POWERTOOLS_SERVICE_NAME: JOGGAI_REGISTRAR_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    // Least privilege: read and write the signing secret's versions and stages; read the API key.
    this.registrarFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'JoggAiSigningSecretStages',
        actions: [
          'secretsmanager:GetSecretValue',
          'secretsmanager:DescribeSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [props.signingSecret.secretFullArn ?? `${props.signingSecret.secretArn}-??????`],
      }),
    );
    props.signingSecret.encryptionKey?.grantEncryptDecrypt(this.registrarFunction);
    props.apiKeySecret.grantRead(this.registrarFunction);

    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'heygen-relay: re-check the JoggAI webhook endpoint',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.registrarFunction, { retryAttempts: 2 })],
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

    if (props.runAfterDeploy ?? true) {
      // Asynchronous (Event): the deployment never waits for JoggAI nor fails on its outage or a missing key.
      this.afterDeploy = new triggers.Trigger(this, 'AfterDeploy', {
        handler: this.registrarFunction,
        invocationType: triggers.InvocationType.EVENT,
        executeOnHandlerChange: true,
        timeout: Duration.minutes(2),
      });
      // As for HeyGen's registrar: the trigger invokes the current version, and its provider's role is
      // granted lambda:InvokeFunction on `<function ARN>:*` (identity-based); the schedules invoke the function.
      Annotations.of(this.registrarFunction).acknowledgeWarning(
        '@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias',
        'The after-deploy Trigger invokes the version with an identity-based grant on <function ARN>:*',
      );
    }

    const ack = (s: Construct, rule: string, reason: string) => Validations.of(s).acknowledge({ id: rule, reason });
    const fn = this.registrarFunction;
    ack(
      fn,
      'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only allows writing CloudWatch Logs; the log group is created here with a retention.',
    );
    ack(fn, 'AwsSolutions::AwsSolutions-L1', 'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22.');
    ack(
      fn,
      'Serverless::Serverless-LambdaLatestVersion',
      'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22.',
    );
    if (!props.tracing || props.tracing === lambda.Tracing.DISABLED)
      ack(fn, 'Serverless::Serverless-LambdaTracing', 'X-Ray tracing is opt-in (props.tracing).');
    else
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
