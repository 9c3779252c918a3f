/**
 * The media archive (opt-in, `archive: {...}` on HeyGenRelay): a rule on the relay bus sends each
 * result event whose provider declares media (providers/<name>/runtime/media.ts) to a queue (with
 * its DLQ); the archiver Lambda (functions/entries/archiver.ts) streams the event's files into S3 and
 * publishes `<type>.archived` / `<type>.archive_failed` on the bus. Never in the delivery's path:
 * the ingress only publishes. docs/archive.md.
 */
import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MediaFileSpec } from '../functions/archive/media.js';
import { ARCHIVE_METRICS, ARCHIVER_SERVICE, type ArchiveSourceConfig } from '../functions/archive/names.js';
import { METRICS_NAMESPACE } from '../functions/core/observability-names.js';
import { LINK_RENEWERS, mediaOf } from '../providers/media.js';
import { RelayConfigError } from './config.js';
import { jsonLoggingFunctionProps } from './function-assets.js';
import type { BoundSource, IRelaySource, RelayCore } from './source.js';

/** A source's archive settings beyond what its provider declares. */
export interface ArchiveSourceOptions {
  /** Event types of this source archived. @default the provider's declared result types */
  readonly eventTypes?: readonly string[];
  /** Where the links are: kinds and dot paths into the event's data (Standard Webhooks needs them). @default the provider's */
  readonly files?: readonly MediaFileSpec[];
  /** Hosts files may come from (exact or `*.suffix`), every redirect included. @default the provider's */
  readonly hosts?: readonly string[];
  /** The provider's API base URL for renewing expired links (HeyGen: the v3 video detail). @default the provider's */
  readonly apiUrl?: string;
}

export interface MediaArchiveProps {
  /** Archive into this bucket (the archiver gets put/read/tag rights under `keyPrefix`). @default a bucket created here */
  readonly bucket?: s3.IBucket;
  /** Event types archived (of any source). @default every result type a source's provider declares media for */
  readonly eventTypes?: readonly string[];
  /** Kinds of file archived, e.g. `['video', 'thumbnail']`. @default every declared kind */
  readonly files?: readonly string[];
  /** Per source id: hosts, paths, types (e.g. `{ replicate: { eventTypes, files, hosts } }`). @default none */
  readonly sources?: Readonly<Record<string, ArchiveSourceOptions>>;
  /** Created bucket: objects expire after this. @default never */
  readonly expiration?: Duration;
  /** Largest file copied (a file over it fails with `too_large`). At most 50 GiB. @default Size.gibibytes(5) */
  readonly maxFileSize?: Size;
  /** How long not-ready and transient failures are retried before `archive_failed`. @default Duration.hours(24) */
  readonly retryFor?: Duration;
  /** Longest wait between two attempts (backoff doubles from 30 s up to it). @default Duration.minutes(15) */
  readonly maxBackoff?: Duration;
  /** Key prefix (`<prefix><source>/<job id>/<kind>`). @default 'archive/' */
  readonly keyPrefix?: string;
  /** Archiver memory (MB): more memory is more network throughput. @default 1024 */
  readonly memorySize?: number;
  /** Copies running at once (SQS event source maxConcurrency, 2-1000). @default 5 */
  readonly maxConcurrency?: number;
}

export interface RelayMediaArchiveProps extends MediaArchiveProps {
  readonly relay: RelayCore;
  readonly relaySources: readonly IRelaySource[];
  readonly boundSources: Readonly<Record<string, BoundSource>>;
  /** Where the bus puts events it cannot deliver to the queue. */
  readonly targetDeadLetterQueue: sqs.IQueue;
}

const TIMEOUT = Duration.minutes(15);

/** The archive's sources (those whose provider declares media or that configure it), as the archiver reads them. */
function archiveSources(props: RelayMediaArchiveProps): Record<string, ArchiveSourceConfig> {
  const out: Record<string, ArchiveSourceConfig> = {};
  for (const source of props.relaySources) {
    const declared = mediaOf(source.provider);
    const options = props.sources?.[source.id];
    if (!declared) continue;
    const files = (options?.files ?? declared.files).filter((f) => !props.files || props.files.includes(f.kind));
    const kinds = props.files ? [...props.files] : undefined;
    const eventTypes =
      options?.eventTypes ?? props.eventTypes?.filter((t) => declared.eventTypes.includes(t)) ?? declared.eventTypes;
    if (eventTypes.length === 0 || files.length === 0) continue;
    const apiKey = (props.boundSources[source.id] as { apiKeySecret?: secretsmanager.ISecret } | undefined)?.apiKeySecret;
    out[source.id] = {
      provider: source.provider,
      eventTypes: [...eventTypes],
      ...(options?.files ? { files: [...options.files] } : {}),
      ...(kinds ? { kinds } : {}),
      ...(options?.hosts ? { hosts: [...options.hosts] } : {}),
      ...(LINK_RENEWERS[source.provider] && apiKey ? { apiKeySecretArn: apiKey.secretArn } : {}),
      ...(options?.apiUrl ? { apiUrl: options.apiUrl } : {}),
    };
  }
  return out;
}

/** What a source may be configured with; throws RelayConfigError naming what is wrong. */
function validate(props: RelayMediaArchiveProps): void {
  const ids = new Set(props.relaySources.map((s) => s.id));
  for (const [id, o] of Object.entries(props.sources ?? {})) {
    if (!ids.has(id)) throw new RelayConfigError(`archive.sources.${id}: no source has that id (${[...ids].join(', ')})`);
    for (const f of o.files ?? [])
      if (!/^[a-z0-9_-]{1,40}$/.test(f.kind) || f.paths.length === 0)
        throw new RelayConfigError(
          `archive.sources.${id}.files: kind "${f.kind}" must be 1-40 of a-z 0-9 _ - with at least one path`,
        );
    for (const h of o.hosts ?? [])
      if (!/^(\*\.)?[a-z0-9.-]+$/i.test(h))
        throw new RelayConfigError(`archive.sources.${id}.hosts: "${h}" is not a host or *.suffix`);
  }
  const max = props.maxFileSize?.toBytes() ?? 0;
  if (max > Size.gibibytes(50).toBytes()) throw new RelayConfigError('archive.maxFileSize is at most 50 GiB');
  const c = props.maxConcurrency ?? 5;
  if (!Number.isInteger(c) || c < 2 || c > 1000)
    throw new RelayConfigError('archive.maxConcurrency must be an integer from 2 to 1000');
  if ((props.retryFor?.toSeconds() ?? 1) <= 0) throw new RelayConfigError('archive.retryFor must be positive');
}

/** The archive bucket the construct creates: encrypted, private, TLS only, incomplete uploads aborted after a day. */
function createBucket(scope: Construct, expiration: Duration | undefined): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'Bucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    lifecycleRules: [
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ...(expiration ? [{ id: 'expire-archived', expiration }] : []),
    ],
    // It holds the users' media: never deleted with the stack.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions::AwsSolutions-S1',
    reason:
      'The archive bucket is written only by the archiver role, every copy is published as an event and counted; server access logs would add a second bucket for no extra signal.',
  });
  return bucket;
}

/** The queue of copies to make, and its dead-letter queue. */
function createQueues(scope: Construct, retryFor: Duration, maxBackoff: Duration) {
  const deadLetterQueue = new sqs.Queue(scope, 'Dlq', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  // Enough receives for the retry period at the shortest longest backoff (jitter takes up to 20 % off,
  // functions/archive/queue.ts backoffSeconds), and the doublings before it: the retry period, not the
  // receive count, ends a copy that keeps failing.
  const maxReceiveCount = Math.ceil(retryFor.toSeconds() / (0.8 * maxBackoff.toSeconds())) + 16;
  const queue = new sqs.Queue(scope, 'Queue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    visibilityTimeout: TIMEOUT.plus(Duration.minutes(1)),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
  });
  Validations.of(deadLetterQueue).acknowledge({
    id: 'Serverless::Serverless-SQSRedrivePolicy',
    reason: 'This queue is itself the archive dead-letter queue, the end of the line; it is alarmed when not empty.',
  });
  return { queue, deadLetterQueue };
}

/** The media archive of a relay: bucket, rule, queue, archiver, alarms (see the file's comment). */
export class RelayMediaArchive extends Construct {
  public readonly bucket: s3.IBucket;
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly rule: events.Rule;
  public readonly archiver: lambda.Function;
  /** What it adds to the relay's dashboard. */
  public readonly widgets: cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: RelayMediaArchiveProps) {
    super(scope, id);
    validate(props);
    const sources = archiveSources(props);
    if (Object.keys(sources).length === 0)
      throw new RelayConfigError(
        'archive: no source has media to archive (Standard Webhooks sources need archive.sources.<id>.files)',
      );
    const retryFor = props.retryFor ?? Duration.hours(24);
    const maxBackoff = props.maxBackoff ?? Duration.minutes(15);
    const keyPrefix = props.keyPrefix ?? 'archive/';
    this.bucket = props.bucket ?? createBucket(this, props.expiration);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = createQueues(this, retryFor, maxBackoff));
    this.rule = this.createRule(props, sources);
    this.archiver = this.createArchiver(props, sources, { retryFor, maxBackoff, keyPrefix });
    this.grant(props, sources, keyPrefix);
    this.createAlarms(props.relay, retryFor);
    this.widgets = this.dashboardWidgets();
    props.relay.addOutput('ArchiveBucketName', {
      value: this.bucket.bucketName,
      description: 'Archived media (heygen-relay archive status)',
    });
    props.relay.addOutput('ArchiveQueueUrl', {
      value: this.queue.queueUrl,
      description: 'Copies pending (heygen-relay archive status)',
    });
    props.relay.addOutput('ArchiveDlqUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'Copies that crashed the archiver, messages it could not read (heygen-relay archive retry)',
    });
    this.acknowledge(keyPrefix, props.relay.tracing === lambda.Tracing.ACTIVE);
  }

  /** Result events of the archived sources' providers, of the archived types, to the queue. */
  private createRule(props: RelayMediaArchiveProps, sources: Record<string, ArchiveSourceConfig>): events.Rule {
    const providers = [...new Set(Object.values(sources).map((s) => s.provider))];
    const types = [...new Set(Object.values(sources).flatMap((s) => s.eventTypes ?? []))];
    const rule = new events.Rule(this, 'Rule', {
      eventBus: props.relay.eventBus,
      description: 'heygen-relay: result events whose files are archived',
      eventPattern: { source: providers, detailType: types },
    });
    rule.addTarget(
      new targets.SqsQueue(this.queue, {
        deadLetterQueue: props.targetDeadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );
    return rule;
  }

  private createArchiver(
    props: RelayMediaArchiveProps,
    sources: Record<string, ArchiveSourceConfig>,
    s: { retryFor: Duration; maxBackoff: Duration; keyPrefix: string },
  ): lambda.Function {
    const relay = props.relay;
    const fn = new lambda.Function(this, 'Archiver', {
      ...jsonLoggingFunctionProps('archiver'),
      memorySize: props.memorySize ?? 1024,
      timeout: TIMEOUT,
      logGroup: new logs.LogGroup(this, 'ArchiverLogs', { retention: relay.logRetention, removalPolicy: RemovalPolicy.DESTROY }),
      tracing: relay.tracing,
      description: "heygen-relay archiver: copies result events' files into S3",
      environment: {
        ARCHIVE_BUCKET_NAME: this.bucket.bucketName,
        ARCHIVE_QUEUE_URL: this.queue.queueUrl,
        ARCHIVE_DLQ_URL: this.deadLetterQueue.queueUrl,
        EVENT_BUS_NAME: relay.eventBus.eventBusName,
        ARCHIVE_SOURCES: Stack.of(this).toJsonString(sources),
        ARCHIVE_MAX_BYTES: String((props.maxFileSize ?? Size.gibibytes(5)).toBytes()),
        ARCHIVE_RETRY_FOR_SECONDS: String(s.retryFor.toSeconds()),
        ARCHIVE_STALE_UPLOAD_SECONDS: String(TIMEOUT.toSeconds()),
        ARCHIVE_BACKOFF_CAP_SECONDS: String(s.maxBackoff.toSeconds()),
        ARCHIVE_KEY_PREFIX: s.keyPrefix,
        POWERTOOLS_SERVICE_NAME: ARCHIVER_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency ?? 5 }),
    );
    return fn;
  }

  /** Least privilege: objects under the prefix (no delete), its multipart uploads, the bus, HeyGen API keys, send to the DLQ. */
  private grant(props: RelayMediaArchiveProps, sources: Record<string, ArchiveSourceConfig>, keyPrefix: string): void {
    const objects = this.bucket.arnForObjects(`${keyPrefix}*`);
    this.archiver.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          's3:PutObject',
          's3:GetObject',
          's3:PutObjectTagging',
          's3:GetObjectTagging',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        resources: [objects],
      }),
    );
    // ListBucket makes HeadObject of a missing key answer 404, not 403; ListBucketMultipartUploads
    // finds a dead writer's upload. Neither action takes the s3:prefix condition for these calls.
    this.archiver.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucketMultipartUploads', 's3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.bucket.encryptionKey?.grantEncryptDecrypt(this.archiver);
    // A message it cannot read goes to the DLQ at once (functions/archive/queue.ts): send only, nothing else.
    this.archiver.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    props.relay.eventBus.grantPutEventsTo(this.archiver);
    for (const [id, cfg] of Object.entries(sources))
      if (cfg.apiKeySecretArn)
        (props.boundSources[id] as { apiKeySecret?: secretsmanager.ISecret }).apiKeySecret?.grantRead(this.archiver);
  }

  private createAlarms(relay: RelayCore, retryFor: Duration): void {
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    };
    relay.addAlarm(this, 'FailuresAlarm', {
      alarmDescription:
        "heygen-relay: a result's files could not be archived (archive_failed published; see the archiver's logs)",
      metric: this.metric(ARCHIVE_METRICS.failures),
      ...atLeastOne,
    });
    relay.addAlarm(this, 'DlqNotEmpty', {
      alarmDescription:
        'heygen-relay: copies in the archive dead-letter queue, or messages the archiver could not read (heygen-relay archive retry)',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      ...atLeastOne,
    });
    relay.addAlarm(this, 'OldestPendingAlarm', {
      alarmDescription: 'heygen-relay: a copy has been pending longer than the retry period',
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: retryFor.toSeconds() + 3600,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  private metric(metricName: string, label?: string, statistic = 'Sum'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: ARCHIVER_SERVICE },
      statistic,
      period: Duration.minutes(5),
      ...(label ? { label } : {}),
    });
  }

  private dashboardWidgets(): cloudwatch.IWidget[] {
    const period = Duration.minutes(5);
    return [
      new cloudwatch.GraphWidget({
        title: 'archive: files archived and failures',
        width: 12,
        height: 6,
        left: [this.metric(ARCHIVE_METRICS.filesArchived, 'files'), this.metric(ARCHIVE_METRICS.failures, 'failures')],
        right: [this.metric(ARCHIVE_METRICS.bytesArchived, 'bytes')],
      }),
      new cloudwatch.GraphWidget({
        title: 'archive: pending copies, oldest (s), dead letters',
        width: 12,
        height: 6,
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'pending' }),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'dead letters' }),
        ],
        right: [this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum', label: 'oldest pending (s)' })],
      }),
    ];
  }

  private acknowledge(keyPrefix: string, tracing: boolean): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const pinned =
      'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22; upgrades are a deliberate change.';
    ack(this.archiver, 'Serverless::Serverless-LambdaLatestVersion', pinned);
    ack(this.archiver, 'AwsSolutions::AwsSolutions-L1', pinned);
    ack(
      this.archiver,
      'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only allows writing CloudWatch Logs; the log group is created here with a retention.',
    );
    ack(
      this.archiver,
      'Serverless::Serverless-LambdaDLQ',
      'The archiver is invoked by its SQS event source; failed copies are retried by the queue and end in its dead-letter queue.',
    );
    ack(
      this.archiver,
      'Serverless::Serverless-LambdaTracing',
      'X-Ray tracing follows the relay (props.tracing), opt-in to keep the per-event cost down.',
    );
    const stack = Stack.of(this);
    const bucketRef =
      this.bucket instanceof s3.Bucket
        ? `<${stack.resolve(stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)) as string}.Arn>`
        : this.bucket.bucketArn;
    ack(
      this.archiver,
      `AwsSolutions::AwsSolutions-IAM5[Resource::${bucketRef}/${keyPrefix}*]`,
      "Object keys are per source, job and kind: the archiver may only write, read and tag objects under the archive's key prefix (never delete).",
    );
    if (tracing)
      ack(
        this.archiver.role ?? this.archiver,
        'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        'Only xray:PutTraceSegments/PutTelemetryRecords use Resource "*": X-Ray supports no resource-level permissions.',
      );
    ack(
      this.archiver,
      'Serverless::Serverless-LambdaEventSourceMappingDestination',
      "A failed copy stays in the archive queue (retried with backoff, then archive_failed); a message the archiver cannot read is moved to the queue's dead-letter queue at once, one that keeps crashing it after maxReceiveCount (alarmed).",
    );
  }
}
