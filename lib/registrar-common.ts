/**
 * What the HeyGen and JoggAI registrars share: their common props, the function's settings, its log
 * group, the reconcile schedule, the after-deploy trigger and the cdk-nag acknowledgements of a function.
 */
import { Annotations, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../functions/core/observability-names.js';
import { FUNCTION_HANDLER, functionCode } from './function-assets.js';

/** The props every registrar takes. */
export interface RegistrarFunctionProps {
  /** Where the provider's signing secret is stored; the registrar writes it. */
  readonly signingSecret: secretsmanager.ISecret;
  /** The secret holding the provider's API key; read only. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** The relay's public HTTPS URL the provider must deliver to (may be a token, e.g. from a Function URL). */
  readonly endpointUrl: string;
  /**
   * Event types to subscribe to.
   * @default all events
   */
  readonly events?: readonly string[];
  /**
   * How often the registrar re-checks the endpoint (re-creates it if deleted, fixes its events).
   * @default Schedule.rate(Duration.hours(1))
   */
  readonly schedule?: events.Schedule;
  /**
   * How often the signing secret is rotated.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
  /**
   * The provider's API base URL.
   * @default the provider's public API
   */
  readonly apiUrl?: string;
  /**
   * Run the registrar once after each deployment that changes its code or configuration
   * (asynchronously: a provider outage or a missing API key never fails the deployment).
   * @default true
   */
  readonly runAfterDeploy?: boolean;
  /**
   * Retention of the registrar's log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * X-Ray tracing of the registrar's functions.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
  /**
   * The table holding the one-writer lease of the signing secret (partition key `pk`), shared by the
   * registrar, the rotation and the CLI. HeyGenRelay passes its state table.
   * @default a table created by the registrar construct
   */
  readonly stateTable?: dynamodb.ITable;
  /**
   * The Powertools service name (the `service` dimension of the function's metrics); a second
   * account of a provider gets its own so its alarms see only its runs.
   * @default the provider's registrar service
   */
  readonly serviceName?: string;
  /**
   * The relay source the function serves (RELAY_SOURCE: its evidence and checkpoint keys), when it
   * is not the provider's default source. @default the provider's name
   */
  readonly sourceId?: string;
}

/**
 * The relay's state table: leases (and what later runs need to remember). On-demand, encrypted, PITR on.
 * TTL on `purgeAt` (epoch s): only the ingress's per-key refusal records set it (never `expiresAt`, the
 * lease's epoch-ms expiry: a lease item, with its fence, must never be deleted).
 */
export function createStateTable(scope: Construct, id: string): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: 'purgeAt',
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** The lease's name: one per provider signing secret (the CLI derives the same from the stack outputs). */
export function leaseName(provider: string, signingSecret: secretsmanager.ISecret): string {
  return `${provider}:${signingSecret.secretArn}`;
}

/**
 * Wires a function to the signing secret's lease: STATE_TABLE_NAME and LEASE_NAME, and the two
 * calls the lease makes (conditional UpdateItem, consistent GetItem) on that table only.
 */
export function grantLease(fn: lambda.Function, table: dynamodb.ITable, name: string): void {
  fn.addEnvironment('STATE_TABLE_NAME', table.tableName);
  fn.addEnvironment('LEASE_NAME', name);
  table.grant(fn, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
}

/** Secrets Manager resource ARN usable in a policy, also for a secret imported by partial ARN. */
export function secretArnForPolicy(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** The Lambda function settings every registrar function shares (code: functionCode of its entry). */
export function registrarFunctionDefaults(props: RegistrarFunctionProps) {
  return {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    handler: FUNCTION_HANDLER,
    tracing: props.tracing ?? lambda.Tracing.DISABLED,
    memorySize: 256,
  };
}

/** A registrar function's log group (`props.logRetention`, destroyed with the stack). */
export function registrarLogGroup(scope: Construct, id: string, props: RegistrarFunctionProps): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

export interface RegistrarFunctionOptions {
  /** Construct ids (they make the logical ids: keep them stable). */
  readonly functionId: string;
  readonly logGroupId: string;
  /** The function's entry in FUNCTION_ENTRIES (lib/function-assets.ts). */
  readonly entry: string;
  readonly description: string;
  readonly reservedConcurrentExecutions?: number;
  /** The environment variable carrying the API URL, and that URL. */
  readonly apiUrlVariable: string;
  readonly apiUrl: string;
  /** POWERTOOLS_SERVICE_NAME. */
  readonly serviceName: string;
  /** The signing secret's policy statement: its sid and actions (on that secret only). */
  readonly signingSecretSid: string;
  readonly signingSecretActions: string[];
  /** The reconcile schedule's description. */
  readonly scheduleDescription: string;
  /** The provider's name in the lease (`heygen`, `joggai`). */
  readonly provider: string;
  /** The state table holding the lease. */
  readonly stateTable: dynamodb.ITable;
}

export interface RegistrarFunction {
  readonly fn: lambda.Function;
  readonly scheduleRule: events.Rule;
  readonly afterDeploy?: triggers.Trigger;
}

/**
 * The registrar function with its log group and least-privilege grants (read + write the signing secret,
 * read the API key, nothing else), the reconcile schedule (id 'Schedule'), and unless
 * `props.runAfterDeploy` is false the asynchronous after-deploy trigger (id 'AfterDeploy').
 */
export function createRegistrarFunction(
  scope: Construct,
  props: RegistrarFunctionProps,
  options: RegistrarFunctionOptions,
): RegistrarFunction {
  const fn = new lambda.Function(scope, options.functionId, {
    ...registrarFunctionDefaults(props),
    code: functionCode(options.entry),
    timeout: Duration.minutes(2),
    ...(options.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
    description: options.description,
    logGroup: registrarLogGroup(scope, options.logGroupId, props),
    environment: {
      SIGNING_SECRET_ARN: props.signingSecret.secretArn,
      API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
      ENDPOINT_URL: props.endpointUrl,
      EVENTS: props.events && props.events.length > 0 ? Stack.of(scope).toJsonString(props.events) : '',
      [options.apiUrlVariable]: options.apiUrl,
      POWERTOOLS_SERVICE_NAME: props.serviceName ?? options.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      ...(props.sourceId ? { RELAY_SOURCE: props.sourceId } : {}),
    },
  });
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: options.signingSecretSid,
      actions: options.signingSecretActions,
      resources: [secretArnForPolicy(props.signingSecret)],
    }),
  );
  props.signingSecret.encryptionKey?.grantEncryptDecrypt(fn);
  props.apiKeySecret.grantRead(fn);
  grantLease(fn, options.stateTable, leaseName(options.provider, props.signingSecret));

  const scheduleRule = new events.Rule(scope, 'Schedule', {
    description: options.scheduleDescription,
    schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
  });

  let afterDeploy: triggers.Trigger | undefined;
  if (props.runAfterDeploy ?? true) {
    // Asynchronous (Event): the deployment never waits for the provider nor fails on its outage or a missing key.
    afterDeploy = new triggers.Trigger(scope, 'AfterDeploy', {
      handler: fn,
      invocationType: triggers.InvocationType.EVENT,
      executeOnHandlerChange: true,
      timeout: Duration.minutes(2),
    });
    // The trigger invokes the current version; its provider's role is granted lambda:InvokeFunction
    // on `<function ARN>:*` (identity-based), so the schedule's function-level permission is not needed there.
    Annotations.of(fn).acknowledgeWarning(
      '@aws-cdk/aws-lambda:addPermissionsToVersionOrAlias',
      'The after-deploy Trigger invokes the version with an identity-based grant on <function ARN>:*',
    );
  }
  return { fn, scheduleRule, ...(afterDeploy ? { afterDeploy } : {}) };
}

/**
 * What every registrar construct is: the registrar function (createRegistrarFunction) with its
 * reconcile schedule and after-deploy run, and the table holding the signing secret's one-writer lease.
 */
export abstract class RegistrarConstruct extends Construct {
  /** Reconciles the provider's endpoint and stores its secret. */
  public readonly registrarFunction: lambda.Function;
  /** Holds the one-writer lease of the signing secret (the relay's state table, or one of its own). */
  public readonly stateTable: dynamodb.ITable;
  /** The schedule that re-runs the registrar. */
  public readonly scheduleRule: events.Rule;
  /** The after-deploy run, when enabled. */
  public readonly afterDeploy?: triggers.Trigger;

  protected constructor(
    scope: Construct,
    id: string,
    props: RegistrarFunctionProps,
    options: Omit<RegistrarFunctionOptions, 'stateTable'>,
  ) {
    super(scope, id);
    this.stateTable = props.stateTable ?? createStateTable(this, 'StateTable');
    const registrar = createRegistrarFunction(this, props, { ...options, stateTable: this.stateTable });
    this.registrarFunction = registrar.fn;
    this.scheduleRule = registrar.scheduleRule;
    if (registrar.afterDeploy) this.afterDeploy = registrar.afterDeploy;
  }
}

/** Acknowledges a cdk-nag finding on `scope`, with its reason. */
export function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The cdk-nag acknowledgements every registrar function shares (managed logs policy, pinned runtime, opt-in tracing). */
export function acknowledgeFunctionFindings(fn: lambda.IFunction, props: RegistrarFunctionProps): void {
  acknowledge(
    fn,
    'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWSLambdaBasicExecutionRole only allows writing CloudWatch Logs; the log group is created here with a retention.',
  );
  acknowledge(fn, 'AwsSolutions::AwsSolutions-L1', 'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22.');
  acknowledge(
    fn,
    'Serverless::Serverless-LambdaLatestVersion',
    'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22.',
  );
  if (!props.tracing || props.tracing === lambda.Tracing.DISABLED)
    acknowledge(fn, 'Serverless::Serverless-LambdaTracing', 'X-Ray tracing is opt-in (props.tracing).');
}
