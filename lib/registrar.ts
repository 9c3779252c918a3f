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
import { HEYGEN_REGISTRAR_SERVICE, METRICS_NAMESPACE, SERVICE_NAME } from '../functions/observability-names.js';
import { HEYGEN_EVENT_TYPES } from '../functions/providers/heygen/events.js';

const FUNCTIONS_DIR = path.join(__dirname, '..', 'functions');

/** Same bundling as the relay's other functions: minified, ESM-first resolution, AWS SDK bundled. */
const REGISTRAR_BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  mainFields: ['module', 'main'],
  sourceMap: false,
  target: 'node22',
  externalModules: [],
};

export interface HeyGenRegistrarProps {
  /**
   * Where the HeyGen signing secret is stored. The registrar writes it (JSON
   * `{"secret","endpointId","url"}`); a rotation schedule is attached to it.
   */
  readonly signingSecret: secretsmanager.ISecret;
  /** The secret holding the HeyGen API key (plain string, or JSON `{"apiKey": "..."}`); read only. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** The relay's public HTTPS URL HeyGen must deliver to (may be a token, e.g. from a Function URL). */
  readonly endpointUrl: string;
  /**
   * HeyGen event types to subscribe to.
   * @default all events
   */
  readonly events?: string[];
  /**
   * How often the registrar re-checks the endpoint (re-creates it if deleted, fixes its events).
   * @default Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * How often the signing secret is rotated through HeyGen's rotate-secret.
   * `Duration.days(0)` attaches no rotation schedule.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
  /**
   * HeyGen API base URL.
   * @default https://api.heygen.com
   */
  readonly apiUrl?: string;
  /**
   * Run the registrar once after each deployment that changes its code or configuration
   * (asynchronously: a HeyGen outage or a missing API key never fails the deployment).
   * @default true
   */
  readonly runAfterDeploy?: boolean;
  /**
   * Retention of the two functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * X-Ray tracing of the two functions.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
}

/** Secrets Manager resource ARN usable in a policy, also for a secret imported by partial ARN. */
function secretArnForPolicy(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/**
 * Keeps exactly one HeyGen webhook endpoint pointed at the relay (registrar: on a schedule and once
 * after deploy) and rotates its signing secret through Secrets Manager's rotation protocol.
 */
export class HeyGenRegistrar extends Construct {
  /** Creates/patches/re-creates the HeyGen endpoint and stores its secret. */
  public readonly registrarFunction: nodejs.NodejsFunction;
  /** Secrets Manager rotation function for the signing secret. */
  public readonly rotationFunction: nodejs.NodejsFunction;
  /** The schedule that re-runs the registrar. */
  public readonly scheduleRule: events.Rule;
  /** The after-deploy run, when enabled. */
  public readonly afterDeploy?: triggers.Trigger;
  /** The signing secret's rotation schedule, when enabled. */
  public readonly rotationSchedule?: secretsmanager.RotationSchedule;

  constructor(scope: Construct, id: string, props: HeyGenRegistrarProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const common = {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'handler',
      bundling: REGISTRAR_BUNDLING,
      tracing: props.tracing ?? lambda.Tracing.DISABLED,
      memorySize: 256,
    };
    const apiUrl = props.apiUrl ?? 'https://api.heygen.com';
    const known = new Set<string>(HEYGEN_EVENT_TYPES);
    const unknown = (props.events ?? []).filter((e) => !known.has(e));
    if (unknown.length > 0) {
      // A warning, not an error: HeyGen adds event types before this list learns them.
      Annotations.of(this).addWarningV2(
        'heygen-relay:unknown-event-type',
        `Event types not in HeyGen's v3 spec: ${unknown.join(', ')}. HeyGen rejects unknown types with 400.`,
      );
    }

    this.registrarFunction = new nodejs.NodejsFunction(this, 'Registrar', {
      ...common,
      description: 'heygen-relay: keeps one HeyGen webhook endpoint pointed at the relay',
      entry: path.join(FUNCTIONS_DIR, 'registrar.ts'),
      timeout: Duration.minutes(2),
      // No reserved concurrency (it can fail deployments on accounts with low limits): overlapping runs
      // are safe, as they send the same Idempotency-Keys and a lost create race ends in a 409 that is handled.
      logGroup: new logs.LogGroup(this, 'RegistrarLogs', {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        SIGNING_SECRET_ARN: props.signingSecret.secretArn,
        API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        ENDPOINT_URL: props.endpointUrl,
        EVENTS: props.events && props.events.length > 0 ? Stack.of(this).toJsonString(props.events) : '',
        HEYGEN_API_URL: apiUrl,
        POWERTOOLS_SERVICE_NAME: HEYGEN_REGISTRAR_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    // Least privilege: read + write the signing secret's value, read the API key. Nothing else.
    this.registrarFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SigningSecretReadWrite',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'],
        resources: [secretArnForPolicy(props.signingSecret)],
      }),
    );
    props.signingSecret.encryptionKey?.grantEncryptDecrypt(this.registrarFunction);
    props.apiKeySecret.grantRead(this.registrarFunction);

    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: 'heygen-relay: re-check the HeyGen webhook endpoint',
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.registrarFunction, { retryAttempts: 2 })],
    });

    if (props.runAfterDeploy ?? true) {
      this.afterDeploy = new triggers.Trigger(this, 'AfterDeploy', {
        handler: this.registrarFunction,
        invocationType: triggers.InvocationType.EVENT,
        executeOnHandlerChange: true,
        timeout: Duration.minutes(2),
      });
      // The trigger invokes the current version; its provider's role is granted lambda:InvokeFunction
      // on `<function ARN>:*` (identity-based), so the schedule's function-level permission is not needed there.
      Annotations.of(this.registrarFunction).acknowledgeWarning(
        '@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias',
        'The after-deploy Trigger invokes the version with an identity-based grant on <function ARN>:*',
      );
    }

    this.rotationFunction = new nodejs.NodejsFunction(this, 'Rotation', {
      ...common,
      description: 'heygen-relay: rotates the HeyGen signing secret (Secrets Manager rotation)',
      entry: path.join(FUNCTIONS_DIR, 'rotation.ts'),
      timeout: Duration.minutes(1),
      logGroup: new logs.LogGroup(this, 'RotationLogs', {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        ENDPOINT_URL: props.endpointUrl,
        HEYGEN_API_URL: apiUrl,
        POWERTOOLS_SERVICE_NAME: `${SERVICE_NAME}-rotation`,
      },
    });
    props.apiKeySecret.grantRead(this.rotationFunction);

    const interval = props.rotationInterval ?? Duration.days(30);
    if (interval.toMilliseconds() > 0) {
      // The id 'Schedule' is what HeyGenRelay looks for to know rotation is on.
      // Grants the rotation function read/write on the secret and Secrets Manager the invoke.
      this.rotationSchedule = props.signingSecret.addRotationSchedule('Schedule', {
        rotationLambda: this.rotationFunction,
        automaticallyAfter: interval,
        // Not at deploy time: the registrar issues the first secret; rotation follows the schedule.
        rotateImmediatelyOnUpdate: false,
      });
    }

    this.acknowledgeFindings(props);
  }

  /** cdk-nag acknowledgements for this construct's resources, each with its reason. */
  private acknowledgeFindings(props: HeyGenRegistrarProps): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    for (const fn of [this.registrarFunction, this.rotationFunction]) {
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
    }
    ack(
      this.registrarFunction,
      'Serverless::Serverless-LambdaDLQ',
      'A failed registrar run needs no replay: the schedule runs it again within the hour, and each run logs its outcome and emits the RegistrarRuns metric.',
    );
    ack(
      this.scheduleRule,
      'Serverless::Serverless-EventBusDLQ',
      'The target only receives clock ticks; a missed tick needs no replay because the next one re-runs the same reconciliation.',
    );
    ack(
      this.rotationFunction,
      'Serverless::Serverless-LambdaDLQ',
      'Secrets Manager invokes the rotation function synchronously and retries a failed step itself.',
    );
    ack(
      this.rotationFunction,
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      "secretsmanager:GetRandomPassword is added by CDK's RotationSchedule and has no resource scope; the function never calls it.",
    );
    if (!props.signingSecret.secretFullArn || !props.apiKeySecret.secretFullArn) {
      for (const fn of [this.registrarFunction, this.rotationFunction])
        ack(
          fn,
          'AwsSolutions::AwsSolutions-IAM5',
          'A secret known by partial ARN is matched with the 6-character suffix wildcard Secrets Manager appends; it names one secret.',
        );
    }
  }
}
