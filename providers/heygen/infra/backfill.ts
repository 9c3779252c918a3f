import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HEYGEN_BACKFILL_SERVICE, METRICS_NAMESPACE } from '../../../functions/core/observability-names.js';
import { functionCode } from '../../../lib/function-assets.js';
import {
  acknowledge as ack,
  acknowledgeFunctionFindings,
  grantLease,
  leaseName,
  registrarFunctionDefaults,
  registrarLogGroup,
} from '../../../lib/registrar-common.js';

export interface HeyGenBackfillProps {
  readonly apiKeySecret: secretsmanager.ISecret;
  /** Names the backfill's lease (`heygen-backfill:<ARN>`); its value is not read, only its CreatedDate (DescribeSecret: the stack's birth). */
  readonly signingSecret: secretsmanager.ISecret;
  /** @default https://api.heygen.com */
  readonly apiUrl?: string;
  readonly dedupTable: dynamodb.ITable;
  readonly dedupWindow: Duration;
  /** Lease, checkpoint and delivery evidence. */
  readonly stateTable: dynamodb.ITable;
  readonly eventBus: events.IEventBus;
  /** Where history entries EventBridge can never take are parked (under `parked/<source id>/`), as the ingress parks deliveries. */
  readonly parkedBucket?: s3.IBucket;
  /** @default events.Schedule.rate(Duration.hours(1)) */
  readonly schedule?: events.Schedule;
  readonly logRetention?: logs.RetentionDays;
  readonly tracing?: lambda.Tracing;
  /** Powertools service name (its metrics' `service` dimension). @default HEYGEN_BACKFILL_SERVICE */
  readonly serviceName?: string;
  /** The relay source it serves (RELAY_SOURCE: its evidence and checkpoint keys). @default 'heygen' */
  readonly sourceId?: string;
  /**
   * Our endpoint's URL (ENDPOINT_URL): its subscription, as HeyGen lists it, says which entries of the
   * account-wide history are ours. @default none (every entry is taken for ours)
   */
  readonly endpointUrl?: string;
  /** The configured event types (EVENTS), used when HeyGen lists no endpoint at our URL. @default all events */
  readonly events?: readonly string[];
}

/**
 * The scheduled backfill (providers/heygen/runtime/entries/backfill.ts): what HeyGen's event history lists as delivered in
 * the dedup window and the relay never published goes to the bus, marked `origin: "backfill"`.
 * Least privilege: read the API key; describe the signing secret (its creation date); on the dedup table the reads and the claim writes; PutEvents
 * on the relay bus; the state table for its lease, checkpoint and evidence.
 */
export class HeyGenBackfill extends Construct {
  public readonly backfillFunction: lambda.Function;
  public readonly scheduleRule: events.Rule;

  constructor(scope: Construct, id: string, props: HeyGenBackfillProps) {
    super(scope, id);
    const fn = new lambda.Function(this, 'Function', {
      ...registrarFunctionDefaults({ ...(props.tracing ? { tracing: props.tracing } : {}) } as never),
      code: functionCode('backfill'),
      timeout: Duration.minutes(5),
      description: "heygen-relay: publishes what HeyGen's event history delivered and the relay never published",
      logGroup: registrarLogGroup(this, 'Logs', { ...(props.logRetention ? { logRetention: props.logRetention } : {}) } as never),
      environment: {
        API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        SIGNING_SECRET_ARN: props.signingSecret.secretArn,
        HEYGEN_API_URL: props.apiUrl ?? 'https://api.heygen.com',
        DEDUP_TABLE_NAME: props.dedupTable.tableName,
        DEDUP_WINDOW_SECONDS: String(props.dedupWindow.toSeconds()),
        DEDUP_LEGACY_BODY_KEYS: 'true',
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? HEYGEN_BACKFILL_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(props.sourceId ? { RELAY_SOURCE: props.sourceId } : {}),
        ...(props.endpointUrl ? { ENDPOINT_URL: props.endpointUrl } : {}),
        ...(props.events ? { EVENTS: JSON.stringify(props.events) } : {}),
      },
    });
    props.apiKeySecret.grantRead(fn);
    // The signing secret's CreatedDate only (a first run judges from the stack's birth), never its value.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [props.signingSecret.secretArn] }),
    );
    // GetItem/PutItem/UpdateItem/DeleteItem: the consistent lookup and the claim; BatchGetItem: the
    // eventually consistent filter, key by key (DynamoDedupIndex). No Scan: what a run reads grows with
    // the entries it examines, never with the table.
    props.dedupTable.grant(
      fn,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchGetItem',
    );
    if (props.parkedBucket) {
      // Parked records are per source (functions/core/event-key.ts): `parked/<source id>/`.
      const parked = `parked/${props.sourceId ?? 'heygen'}`;
      fn.addEnvironment('PARKED_BUCKET_NAME', props.parkedBucket.bucketName);
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.parkedBucket.arnForObjects(`${parked}/*`)] }),
      );
      const bucketId = Stack.of(this).resolve(
        Stack.of(this).getLogicalId(props.parkedBucket.node.defaultChild as s3.CfnBucket),
      ) as string;
      ack(
        fn,
        `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${parked}/*]`,
        `The backfill may only put objects under ${parked}/ of the relay bucket; object keys are per event, so they cannot be listed in advance.`,
      );
    }
    props.eventBus.grantPutEventsTo(fn);
    grantLease(fn, props.stateTable, leaseName('heygen-backfill', props.signingSecret));
    this.backfillFunction = fn;
    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: "heygen-relay: backfill from HeyGen's event history",
      schedule: props.schedule ?? events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
    });
    acknowledgeFunctionFindings(fn, { ...(props.tracing ? { tracing: props.tracing } : {}) } as never);
    ack(
      fn,
      'Serverless::Serverless-LambdaDLQ',
      'A failed backfill run needs no replay: the next hourly run covers the same window.',
    );
    ack(this.scheduleRule, 'Serverless::Serverless-EventBusDLQ', 'Clock ticks only; the next tick re-runs the same backfill.');
    if (!props.apiKeySecret.secretFullArn)
      ack(
        fn,
        'AwsSolutions::AwsSolutions-IAM5',
        'A secret known by partial ARN is matched with the 6-character suffix wildcard Secrets Manager appends; it names one secret.',
      );
  }
}
