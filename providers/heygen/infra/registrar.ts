import { Annotations, Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { HEYGEN_REGISTRAR_SERVICE, SERVICE_NAME } from '../../../functions/core/observability-names.js';
import { HEYGEN_EVENT_TYPES } from '../runtime/events.js';
import { functionCode } from '../../../lib/function-assets.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  createRegistrarFunction,
  createStateTable,
  grantLease,
  leaseName,
  type RegistrarFunctionProps,
  registrarFunctionDefaults,
  registrarLogGroup,
} from '../../../lib/registrar-common.js';

export interface HeyGenRegistrarProps extends RegistrarFunctionProps {
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
}

/**
 * Keeps exactly one HeyGen webhook endpoint pointed at the relay (registrar: on a schedule and once
 * after deploy) and rotates its signing secret through Secrets Manager's rotation protocol.
 */
export class HeyGenRegistrar extends Construct {
  /** Creates/patches/re-creates the HeyGen endpoint and stores its secret. */
  public readonly registrarFunction: lambda.Function;
  /** Holds the one-writer lease of the signing secret (the relay's state table, or one of its own). */
  public readonly stateTable: dynamodb.ITable;
  /** Secrets Manager rotation function for the signing secret. */
  public readonly rotationFunction: lambda.Function;
  /** The schedule that re-runs the registrar. */
  public readonly scheduleRule: events.Rule;
  /** The after-deploy run, when enabled. */
  public readonly afterDeploy?: triggers.Trigger;
  /** The signing secret's rotation schedule, when enabled. */
  public readonly rotationSchedule?: secretsmanager.RotationSchedule;
  /** How often the signing secret is rotated, when rotation is on. */
  public readonly rotationInterval?: Duration;

  constructor(scope: Construct, id: string, props: HeyGenRegistrarProps) {
    super(scope, id);
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

    // No reserved concurrency (it can fail deployments on accounts with low limits): overlapping runs
    // are safe, as they send the same Idempotency-Keys and a lost create race ends in a 409 that is handled.
    this.stateTable = props.stateTable ?? createStateTable(this, 'StateTable');
    const registrar = createRegistrarFunction(this, props, {
      provider: 'heygen',
      stateTable: this.stateTable,
      functionId: 'Registrar',
      logGroupId: 'RegistrarLogs',
      entry: 'registrar',
      description: 'heygen-relay: keeps one HeyGen webhook endpoint pointed at the relay',
      apiUrlVariable: 'HEYGEN_API_URL',
      apiUrl,
      serviceName: HEYGEN_REGISTRAR_SERVICE,
      signingSecretSid: 'SigningSecretReadWrite',
      // Compare-and-set writes: a new version, then AWSCURRENT moved from the version read.
      signingSecretActions: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
      scheduleDescription: 'heygen-relay: re-check the HeyGen webhook endpoint',
    });
    this.registrarFunction = registrar.fn;
    this.scheduleRule = registrar.scheduleRule;
    this.afterDeploy = registrar.afterDeploy;

    this.rotationFunction = new lambda.Function(this, 'Rotation', {
      ...registrarFunctionDefaults(props),
      description: 'heygen-relay: rotates the HeyGen signing secret (Secrets Manager rotation)',
      code: functionCode('rotation'),
      timeout: Duration.minutes(1),
      logGroup: registrarLogGroup(this, 'RotationLogs', props),
      environment: {
        API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        ENDPOINT_URL: props.endpointUrl,
        HEYGEN_API_URL: apiUrl,
        POWERTOOLS_SERVICE_NAME: `${SERVICE_NAME}-rotation${props.sourceId ? `-${props.sourceId}` : ''}`,
      },
    });
    props.apiKeySecret.grantRead(this.rotationFunction);
    grantLease(this.rotationFunction, this.stateTable, leaseName('heygen', props.signingSecret));

    const interval = props.rotationInterval ?? Duration.days(30);
    if (interval.toMilliseconds() > 0) {
      this.rotationInterval = interval;
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
    for (const fn of [this.registrarFunction, this.rotationFunction]) acknowledgeFunctionFindings(fn, props);
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
