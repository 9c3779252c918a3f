import { Annotations, Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { HEYGEN_REGISTRAR_SERVICE, SERVICE_NAME } from '../../../functions/core/observability-names.js';
import { functionCode } from '../../../lib/function-assets.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  grantLease,
  leaseName,
  RegistrarConstruct,
  type RegistrarFunctionProps,
  registrarFunctionDefaults,
  registrarLogGroup,
} from '../../../lib/registrar-common.js';
import { HEYGEN_EVENT_TYPES } from '../runtime/events.js';

/**
 * The HeyGen registrar's props. The registrar writes the signing secret (JSON
 * `{"secret","endpointId","url"}`) and a rotation schedule is attached to it; the API key secret
 * holds a plain string or JSON `{"apiKey": "..."}`; `events` not in HeyGen's v3 spec are warned of;
 * `rotationInterval` rotates through HeyGen's rotate-secret (`Duration.days(0)` attaches no rotation
 * schedule); `apiUrl` @default https://api.heygen.com.
 */
export type HeyGenRegistrarProps = RegistrarFunctionProps;

/**
 * Keeps exactly one HeyGen webhook endpoint pointed at the relay (registrar: on a schedule and once
 * after deploy) and rotates its signing secret through Secrets Manager's rotation protocol.
 */
export class HeyGenRegistrar extends RegistrarConstruct {
  /** Secrets Manager rotation function for the signing secret. */
  public readonly rotationFunction: lambda.Function;
  /** The signing secret's rotation schedule, when enabled. */
  public readonly rotationSchedule?: secretsmanager.RotationSchedule;
  /** How often the signing secret is rotated, when rotation is on. */
  public readonly rotationInterval?: Duration;

  constructor(scope: Construct, id: string, props: HeyGenRegistrarProps) {
    const apiUrl = props.apiUrl ?? 'https://api.heygen.com';
    // No reserved concurrency (it can fail deployments on accounts with low limits): overlapping runs
    // are safe, as they send the same Idempotency-Keys and a lost create race ends in a 409 that is handled.
    super(scope, id, props, {
      provider: 'heygen',
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
    this.warnOfUnknownEvents(props.events ?? []);

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

  /** A warning, not an error: HeyGen adds event types before this list learns them. */
  private warnOfUnknownEvents(events: readonly string[]): void {
    const known = new Set<string>(HEYGEN_EVENT_TYPES);
    const unknown = events.filter((e) => !known.has(e));
    if (unknown.length > 0)
      Annotations.of(this).addWarningV2(
        'heygen-relay:unknown-event-type',
        `Event types not in HeyGen's v3 spec: ${unknown.join(', ')}. HeyGen rejects unknown types with 400.`,
      );
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
