import {
  Annotations,
  CfnOutput,
  type CfnOutputProps,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DedupMode } from '../functions/core/ports.js';
import {
  HEYGEN_BACKFILL_SERVICE,
  HEYGEN_REGISTRAR_SERVICE,
  JOGGAI_REGISTRAR_SERVICE,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from '../functions/observability-names.js';
import { getProvider } from '../functions/providers/index.js';
import { HeyGenBackfill } from './backfill.js';
import {
  EMPTY_API_KEY,
  EMPTY_SIGNING_SECRET,
  KNOWN_EVENT_TYPES,
  type QueueRoute,
  queueEventPattern,
  RelayConfigError,
  validateQueueRoutes,
} from './config.js';
import { RelayDashboard } from './dashboard.js';
import { FUNCTION_HANDLER, functionCode } from './function-assets.js';
import { JoggAiRegistrar } from './joggai-registrar.js';
import { HeyGenRegistrar } from './registrar.js';
import { createStateTable } from './registrar-common.js';

export interface HeyGenProviderProps {
  /**
   * The secret holding HeyGen's webhook signing secret (plain string, or JSON `{"secret": "..."}`).
   * @default a new secret, created empty: the relay answers 503 until the registrar or you fill it
   */
  readonly signingSecret?: secretsmanager.ISecret;
  /**
   * The secret holding the HeyGen API key (plain string, or JSON `{"apiKey": "..."}`) for the registrar.
   * @default a new secret, created empty
   */
  readonly apiKeySecret?: secretsmanager.ISecret;
  /**
   * Reject deliveries whose (unsigned) `Heygen-Timestamp` is further than this from now.
   * `Duration.seconds(0)` turns the check off.
   * @default Duration.seconds(300)
   */
  readonly timestampTolerance?: Duration;
  /** Route on the Function URL. @default '/heygen' */
  readonly path?: string;
  /**
   * Self-registration with HeyGen's API and secret rotation (the registrar), or `false` to manage
   * the endpoint and its secret yourself.
   * @default enabled: all events, hourly reconcile plus once after any deploy that changes the registrar, rotation every 30 days
   */
  readonly registration?: false | HeyGenRegistrationProps;
  /**
   * How HeyGen deliveries are deduplicated when `dedup` is on (neither mode can lose an event):
   * - `'record'`: a consistent read before publishing and one write after it (1 read + 1 write per
   *   delivery). A retry after the first answer is a 200 duplicate; a copy arriving while the first
   *   is still publishing may be published too (metric `ConcurrentDuplicate`). HeyGen resends only
   *   after a failed or timed-out attempt, so its copies do not overlap.
   * - `'claim'`: a conditional write claims the delivery before publishing and an update marks it
   *   published (2 writes, about $0.63 more per million); a copy in flight gets 409 and is retried.
   * @default 'record'
   */
  readonly dedupMode?: DedupMode;
}

/** Registration of the relay's endpoint with a provider's API, and rotation of its signing secret. */
export interface RegistrationProps {
  /** Event types the endpoint subscribes to. @default all the provider's events */
  readonly events?: readonly string[];
  /** How often the registrar reconciles the endpoint. @default events.Schedule.rate(Duration.hours(1)) */
  readonly schedule?: events.Schedule;
  /**
   * How often the signing secret is rotated (HeyGen: rotate-secret; JoggAI: a second endpoint,
   * overlap, delete the old one). @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
  /** The provider's API base URL. @default https://api.heygen.com, https://api.jogg.ai */
  readonly apiUrl?: string;
  /**
   * Run the registrar once after a deploy that changes its code or configuration (events, URL, API URL);
   * asynchronous, so a provider outage or a missing API key never fails the deploy. @default true
   */
  readonly runAfterDeploy?: boolean;
}

export type HeyGenRegistrationProps = RegistrationProps;
export type JoggAiRegistrationProps = RegistrationProps;

export interface JoggAiProviderProps {
  /**
   * The secret holding JoggAI's webhook signing secret (plain string, or JSON `{"secret": "..."}`).
   * During an overlapping rotation, AWSPENDING holds the second endpoint's secret; both are accepted.
   * @default a new secret, created empty (`{"secret":null}`): the relay answers 503 until it is filled
   */
  readonly signingSecret?: secretsmanager.ISecret;
  /**
   * Reject deliveries whose body `timestamp` (signed, unix seconds) is further than this from now.
   * `Duration.seconds(0)` turns the check off.
   * @default Duration.seconds(300)
   */
  readonly timestampTolerance?: Duration;
  /**
   * Route on the Function URL. `<path>/<segment>` (e.g. `/joggai/r2`) is routed here too, so a
   * rotation can register a second endpoint at a distinct URL while the first still exists.
   * @default '/joggai'
   */
  readonly path?: string;
  /**
   * The secret holding the JoggAI API key (plain string, or JSON `{"apiKey": "..."}`) for the registrar.
   * @default a new secret, created empty (the registrar logs what to fill and waits)
   */
  readonly apiKeySecret?: secretsmanager.ISecret;
  /**
   * Registration with JoggAI's v2 API and rotation by overlapping endpoints, or `false` to register
   * the endpoint and put its secret yourself.
   * @default enabled: all events, hourly reconcile plus once after deploy, rotation every 30 days
   */
  readonly registration?: false | JoggAiRegistrationProps;
  /**
   * How JoggAI deliveries are deduplicated when `dedup` is on; see `HeyGenProviderProps.dedupMode`.
   * `'claim'` by default because an overlapping rotation makes JoggAI deliver each event to two
   * endpoints at the same moment, and only a claim keeps the second copy off the bus.
   * @default 'claim'
   */
  readonly dedupMode?: DedupMode;
}

export interface HeyGenRelayProps {
  /** HeyGen intake, or `false` to leave HeyGen out (JoggAI only). @default enabled with defaults */
  readonly heygen?: HeyGenProviderProps | false;
  /**
   * JoggAI intake (`POST /joggai`), with its registrar unless `joggai.registration` is false.
   * @default disabled
   */
  readonly joggai?: JoggAiProviderProps;
  /**
   * Queues fed from the bus by rules, in addition to the default queue, e.g.
   * `[{ name: 'failures', eventTypes: ['avatar_video.fail', 'video_translate.fail'] }]`.
   * @default none
   */
  readonly queues?: readonly QueueRoute[];
  /** Create the default queue that receives every relay event. @default true */
  readonly defaultQueue?: boolean;
  /** Name of the custom event bus. @default generated by CloudFormation */
  readonly eventBusName?: string;
  /** How long the bus archive keeps events for replay. `Duration.days(0)` keeps them forever. @default Duration.days(30) */
  readonly archiveRetention?: Duration;
  /** How long a published delivery is remembered for deduplication. Must outlive HeyGen's 24 h retries. @default Duration.hours(48) */
  readonly dedupWindow?: Duration;
  /** Deduplicate deliveries (conditional write per delivery). @default true */
  readonly dedup?: boolean;
  /** Largest accepted body, in bytes (EventBridge caps an event at 256 KiB). @default 262144 */
  readonly maxBodyBytes?: number;
  /** Reserved concurrency of the ingress, capping a flood's cost. `undefined` via `null` leaves it unreserved. @default 10 */
  readonly reservedConcurrency?: number | null;
  /** Ingress memory size (MB). @default 256 */
  readonly memorySize?: number;
  /** Retention of the functions' log groups. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Ingress application log level (Lambda advanced logging controls, JSON format). `DEBUG` adds a
   * line per published delivery; rejections and failures log at WARN/ERROR whatever the level.
   * Lambda's own START/END/REPORT lines are dropped (system level WARN): they cost more per
   * delivery than the relay's metrics, and duration and memory are in Lambda's metrics.
   * @default lambda.ApplicationLogLevel.INFO
   */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /** Active X-Ray tracing on the functions. @default false */
  readonly tracing?: boolean;
  /** Where alarms notify. @default no action (alarms still change state) */
  readonly alarmTopic?: sns.ITopic;
  /** Signature rejections per 5 minutes that raise the alarm. @default 20 */
  readonly signatureRejectionAlarmThreshold?: number;
  /** Removal policy of the dedup table. @default RemovalPolicy.DESTROY (it holds only transient keys) */
  readonly dedupTableRemovalPolicy?: RemovalPolicy;
  /**
   * How long parked deliveries (signed, but EventBridge can never take them as they are) are kept
   * in their bucket for operators to list and re-publish. @default Duration.days(90)
   */
  readonly parkedRetention?: Duration;
  /** A CloudWatch dashboard of the relay (lib/dashboard.ts); its URL is the `DashboardUrl` output. @default true */
  readonly dashboard?: boolean;
}

/** A provider's dedup mode: the prop if set (validated), else the provider plug-in's default. */
function dedupModeOf(provider: string, mode: DedupMode | undefined): DedupMode {
  if (mode === undefined) return getProvider(provider).defaultDedupMode;
  if (mode !== 'record' && mode !== 'claim')
    throw new RelayConfigError(`${provider}.dedupMode must be 'record' or 'claim', got "${String(mode)}"`);
  return mode;
}

/** Validates a provider's registration props (event types it can send) and keeps only what is set. */
function registrationOptions(provider: string, registration: RegistrationProps) {
  if (registration.events) {
    if (registration.events.length === 0)
      throw new RelayConfigError(`${provider}.registration.events is empty; omit it for all events`);
    const known = new Set<string>(KNOWN_EVENT_TYPES[provider] ?? []);
    for (const e of registration.events)
      if (!known.has(e)) throw new RelayConfigError(`${provider}.registration.events has unknown event type "${e}"`);
  }
  return {
    ...(registration.events ? { events: [...registration.events] } : {}),
    ...(registration.schedule ? { schedule: registration.schedule } : {}),
    ...(registration.rotationInterval ? { rotationInterval: registration.rotationInterval } : {}),
    ...(registration.apiUrl ? { apiUrl: registration.apiUrl } : {}),
    ...(registration.runAfterDeploy === undefined ? {} : { runAfterDeploy: registration.runAfterDeploy }),
  };
}

/** A queue created by the relay, with its dead-letter queue. */
export interface RelayQueue {
  readonly name: string;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
}

function secureQueue(scope: Construct, id: string, props: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    ...props,
  });
}

/**
 * HeyGen webhook intake: a Function URL that verifies, deduplicates and normalizes deliveries and
 * publishes them to an EventBridge bus, with rules fanning out to SQS queues.
 *
 * ```ts
 * const relay = new HeyGenRelay(this, 'Relay');
 * ```
 */
export class HeyGenRelay extends Construct {
  public readonly eventBus: events.EventBus;
  public readonly archive: events.Archive;
  public readonly ingress: lambda.Function;
  public readonly functionUrl: lambda.FunctionUrl;
  /** The URL HeyGen delivers to (Function URL + route); undefined when `heygen: false`. */
  public readonly heygenWebhookUrl?: string;
  public readonly dedupTable?: dynamodb.Table;
  /** Leases of the signing secrets (one writer at a time: registrars, rotation, CLI); created with a registrar. */
  public readonly stateTable?: dynamodb.Table;
  /** HeyGen's signing secret; undefined when `heygen: false`. */
  public readonly signingSecret?: secretsmanager.ISecret;
  /** HeyGen's API key secret; undefined when `heygen: false`. */
  public readonly apiKeySecret?: secretsmanager.ISecret;
  /** The URL JoggAI delivers to; undefined unless `joggai` is set. */
  public readonly joggaiWebhookUrl?: string;
  /** JoggAI's signing secret; undefined unless `joggai` is set. */
  public readonly joggaiSigningSecret?: secretsmanager.ISecret;
  /** JoggAI's API key secret; set when JoggAI registration is enabled. */
  public readonly joggaiApiKeySecret?: secretsmanager.ISecret;
  /** The JoggAI registrar, when `joggai` is set and its registration is not false. */
  public readonly joggaiRegistrar?: JoggAiRegistrar;
  /** The providers this relay accepts, e.g. `['heygen', 'joggai']`. */
  public readonly providers: readonly string[];
  /** The default queue (every event), if created. */
  public readonly defaultQueue?: RelayQueue;
  /** Every queue the relay created, by name (`all` is the default queue). */
  public readonly queues: Readonly<Record<string, RelayQueue>>;
  /** Dead-letter queue for events the bus could not deliver to a rule target. */
  public readonly targetDeadLetterQueue: sqs.Queue;
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The scheduled backfill from HeyGen's event history (with the registrar, when dedup is on). */
  public readonly heygenBackfill?: HeyGenBackfill;
  /** The registrar and rotation, unless `heygen.registration` is false. */
  public readonly registrar?: HeyGenRegistrar;
  /** Signed deliveries EventBridge can never take, kept with their reason (`parked/<provider>/<sha256>.json`). */
  public readonly parkedBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: HeyGenRelayProps = {}) {
    super(scope, id);
    const heygen = props.heygen === false ? undefined : (props.heygen ?? {});
    const joggai = props.joggai;
    const providers = [...(heygen ? ['heygen'] : []), ...(joggai ? ['joggai'] : [])];
    this.providers = providers;
    if (providers.length === 0)
      throw new RelayConfigError('At least one provider must be enabled (heygen is false and joggai is not set)');
    const heygenPath = heygen?.path ?? '/heygen';
    const joggaiPath = joggai?.path ?? '/joggai';
    for (const [name, p] of [
      ['heygen', heygenPath],
      ['joggai', joggaiPath],
    ] as const)
      if (!/^\/[a-z0-9_-]+$/.test(p)) throw new RelayConfigError(`${name}.path "${p}" must look like /name`);
    if (heygen && joggai && heygenPath === joggaiPath)
      throw new RelayConfigError(`heygen.path and joggai.path are both "${heygenPath}"`);
    const routes: QueueRoute[] = [...(props.defaultQueue === false ? [] : [{ name: 'all' }]), ...(props.queues ?? [])];
    validateQueueRoutes(routes, providers);
    const maxBodyBytes = props.maxBodyBytes ?? 256 * 1024;
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > 256 * 1024)
      throw new RelayConfigError(`maxBodyBytes must be an integer from 1 to 262144, got ${maxBodyBytes}`);
    const dedupWindow = props.dedupWindow ?? Duration.hours(48);
    if (dedupWindow.toSeconds() < 3600) throw new RelayConfigError('dedupWindow must be at least 1 hour');
    if (dedupWindow.toSeconds() <= 24 * 3600)
      Annotations.of(this).addWarningV2(
        'heygen-relay:dedupWindow',
        "dedupWindow does not outlive HeyGen's 24 h retry horizon; late retries may be published twice",
      );
    const heygenDedupMode = dedupModeOf('heygen', heygen?.dedupMode);
    const joggaiDedupMode = dedupModeOf('joggai', joggai?.dedupMode);
    const tolerance = heygen?.timestampTolerance ?? Duration.seconds(300);
    const joggaiTolerance = joggai?.timestampTolerance ?? Duration.seconds(300);
    const reserved = props.reservedConcurrency === undefined ? 10 : props.reservedConcurrency;
    if (reserved !== null && (!Number.isInteger(reserved) || reserved < 1))
      throw new RelayConfigError(`reservedConcurrency must be a positive integer or null, got ${reserved}`);
    const memorySize = props.memorySize ?? 256;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // Secrets: created empty-safe so the relay answers 503 (not 401) until a secret is set.
    if (heygen) {
      this.signingSecret =
        heygen.signingSecret ??
        new secretsmanager.Secret(this, 'HeyGenSigningSecret', {
          description: 'heygen-relay: HeyGen webhook signing secret (written by the registrar and rotation)',
          secretStringValue: SecretValue.unsafePlainText(EMPTY_SIGNING_SECRET),
        });
      this.apiKeySecret =
        heygen.apiKeySecret ??
        new secretsmanager.Secret(this, 'HeyGenApiKey', {
          description: 'heygen-relay: HeyGen API key for the registrar (put-secret-value with the key)',
          secretStringValue: SecretValue.unsafePlainText(EMPTY_API_KEY),
        });
    }
    if (joggai) {
      this.joggaiSigningSecret =
        joggai.signingSecret ??
        new secretsmanager.Secret(this, 'JoggAiSigningSecret', {
          description: 'heygen-relay: JoggAI webhook signing secret (the endpoint secret JoggAI shows once registered)',
          secretStringValue: SecretValue.unsafePlainText(EMPTY_SIGNING_SECRET),
        });
    }

    // The bus and its archive (replay).
    this.eventBus = new events.EventBus(this, 'Bus', props.eventBusName ? { eventBusName: props.eventBusName } : {});
    const archiveDays = (props.archiveRetention ?? Duration.days(30)).toDays();
    this.archive = this.eventBus.archive('Archive', {
      description: 'heygen-relay: every relay event, for replay',
      eventPattern: { source: providers },
      retention: Duration.days(archiveDays),
    });

    // Fan-out: a rule per queue; a shared DLQ for events the bus cannot deliver.
    this.targetDeadLetterQueue = secureQueue(this, 'TargetDlq', { retentionPeriod: Duration.days(14) });
    const queues: Record<string, RelayQueue> = {};
    for (const route of routes) {
      const cid = route.name === 'all' ? 'Default' : `Route-${route.name}`;
      const deadLetterQueue = secureQueue(this, `${cid}Dlq`, { retentionPeriod: Duration.days(14) });
      const queue = secureQueue(this, `${cid}Queue`, {
        retentionPeriod: Duration.days(4),
        visibilityTimeout: Duration.seconds(30),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: route.maxReceiveCount ?? 5 },
      });
      const pattern = queueEventPattern(route, providers);
      const rule = new events.Rule(this, `${cid}Rule`, {
        eventBus: this.eventBus,
        description: `heygen-relay: ${route.name} queue`,
        eventPattern: { source: pattern.source, ...(pattern['detail-type'] ? { detailType: pattern['detail-type'] } : {}) },
      });
      rule.addTarget(
        new targets.SqsQueue(queue, {
          deadLetterQueue: this.targetDeadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      );
      queues[route.name] = { name: route.name, queue, deadLetterQueue, rule };
    }
    this.queues = queues;
    this.defaultQueue = queues.all;

    // Dedup table: on-demand, TTL on expiresAt.
    if (props.dedup !== false) {
      this.dedupTable = new dynamodb.Table(this, 'DedupTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: 'expiresAt',
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: props.dedupTableRemovalPolicy ?? RemovalPolicy.DESTROY,
      });
    }

    // The ingress.
    const logGroup = new logs.LogGroup(this, 'IngressLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const tracing = props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED;
    this.ingress = new lambda.Function(this, 'Ingress', {
      code: functionCode('ingress'),
      handler: FUNCTION_HANDLER,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: Duration.seconds(10),
      ...(reserved === null ? {} : { reservedConcurrentExecutions: reserved }),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing,
      description: 'heygen-relay ingress: verify, dedup, normalize, publish',
      environment: {
        RELAY_PROVIDERS: Stack.of(this).toJsonString([
          ...(this.signingSecret
            ? [
                {
                  name: 'heygen',
                  path: heygenPath,
                  secretId: this.signingSecret.secretArn,
                  timestampToleranceSeconds: tolerance.toSeconds(),
                  dedupMode: heygenDedupMode,
                },
              ]
            : []),
          ...(this.joggaiSigningSecret
            ? [
                {
                  name: 'joggai',
                  path: joggaiPath,
                  secretId: this.joggaiSigningSecret.secretArn,
                  timestampToleranceSeconds: joggaiTolerance.toSeconds(),
                  acceptSubpaths: true,
                  dedupMode: joggaiDedupMode,
                },
              ]
            : []),
        ]),
        EVENT_BUS_NAME: this.eventBus.eventBusName,
        ...(this.dedupTable
          ? {
              DEDUP_TABLE_NAME: this.dedupTable.tableName,
              DEDUP_WINDOW_SECONDS: String(dedupWindow.toSeconds()),
              // Deployments from before event keys hold body-keyed records: recognise them for one window.
              DEDUP_LEGACY_BODY_KEYS: 'true',
            }
          : { DEDUP_ENABLED: 'false' }),
        MAX_BODY_BYTES: String(maxBodyBytes),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    // Least privilege, each grant next to the wiring it serves.
    this.eventBus.grantPutEventsTo(this.ingress);
    this.signingSecret?.grantRead(this.ingress);
    this.joggaiSigningSecret?.grantRead(this.ingress);
    // `record` reads and puts; `claim` also updates (mark published) and deletes (release).
    const claims = [heygen && heygenDedupMode, joggai && joggaiDedupMode].includes('claim');
    this.dedupTable?.grant(
      this.ingress,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      ...(claims ? ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'] : []),
    );

    this.parkedBucket = this.createParkedStore(props, providers);

    // The signature is the authentication: HeyGen cannot sign AWS requests.
    this.functionUrl = this.ingress.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    if (heygen) this.heygenWebhookUrl = `${this.functionUrl.url}${heygenPath.slice(1)}`;
    if (joggai) this.joggaiWebhookUrl = `${this.functionUrl.url}${joggaiPath.slice(1)}`;

    const registers = (heygen && heygen.registration !== false && this.apiKeySecret) || (joggai && joggai.registration !== false);
    if (registers) this.stateTable = createStateTable(this, 'StateTable');
    if (heygen && this.signingSecret && this.apiKeySecret && this.heygenWebhookUrl && heygen.registration !== false) {
      this.registrar = new HeyGenRegistrar(this, 'Registrar', {
        ...(this.stateTable ? { stateTable: this.stateTable } : {}),
        signingSecret: this.signingSecret,
        apiKeySecret: this.apiKeySecret,
        endpointUrl: this.heygenWebhookUrl,
        ...registrationOptions('heygen', heygen.registration ?? {}),
        logRetention,
        tracing,
      });
    }

    if (this.registrar && this.dedupTable && this.stateTable && this.apiKeySecret && this.signingSecret) {
      // Evidence: the ingress records refused signatures and failures; the registrar's secret check
      // reads them with the dedup table; the backfill recovers what HeyGen delivered and we never published.
      this.ingress.addEnvironment('STATE_TABLE_NAME', this.stateTable.tableName);
      this.stateTable.grant(this.ingress, 'dynamodb:UpdateItem');
      const registrarFn = this.registrar.registrarFunction;
      const heygenApiUrl = (heygen?.registration || undefined)?.apiUrl;
      registrarFn.addEnvironment('DEDUP_TABLE_NAME', this.dedupTable.tableName);
      registrarFn.addEnvironment('DEDUP_WINDOW_SECONDS', String(dedupWindow.toSeconds()));
      this.dedupTable.grant(registrarFn, 'dynamodb:GetItem', 'dynamodb:PutItem');
      this.heygenBackfill = new HeyGenBackfill(this, 'Backfill', {
        apiKeySecret: this.apiKeySecret,
        signingSecret: this.signingSecret,
        ...(heygenApiUrl ? { apiUrl: heygenApiUrl } : {}),
        dedupTable: this.dedupTable,
        dedupWindow,
        stateTable: this.stateTable,
        eventBus: this.eventBus,
        parkedBucket: this.parkedBucket,
        logRetention,
        tracing,
      });
    }

    if (joggai && this.joggaiSigningSecret && this.joggaiWebhookUrl && joggai.registration !== false) {
      const registration = registrationOptions('joggai', joggai.registration ?? {});
      this.joggaiApiKeySecret =
        joggai.apiKeySecret ??
        new secretsmanager.Secret(this, 'JoggAiApiKey', {
          description: 'heygen-relay: JoggAI API key for the registrar (put-secret-value with {"apiKey":"..."})',
          secretStringValue: SecretValue.unsafePlainText(EMPTY_API_KEY),
        });
      this.joggaiRegistrar = new JoggAiRegistrar(this, 'JoggAiRegistrar', {
        ...(this.stateTable ? { stateTable: this.stateTable } : {}),
        signingSecret: this.joggaiSigningSecret,
        apiKeySecret: this.joggaiApiKeySecret,
        endpointUrl: this.joggaiWebhookUrl,
        ...registration,
        logRetention,
        tracing,
      });
    }

    this.createAlarms(props, Object.values(queues));

    const output = this.outputFactory();
    if (props.dashboard !== false) {
      const dashboard = new RelayDashboard(this, 'Dashboard', {
        ingress: this.ingress,
        queues: Object.values(queues),
        targetDeadLetterQueue: this.targetDeadLetterQueue,
        providers,
        registrars: [
          ...(this.registrar
            ? [{ label: 'HeyGen', service: HEYGEN_REGISTRAR_SERVICE, rotationFunction: this.registrar.rotationFunction }]
            : []),
          ...(this.joggaiRegistrar ? [{ label: 'JoggAI', service: JOGGAI_REGISTRAR_SERVICE }] : []),
        ],
        ...(this.heygenBackfill ? { backfillService: HEYGEN_BACKFILL_SERVICE } : {}),
      });
      output('DashboardUrl', { value: dashboard.url, description: "The relay's CloudWatch dashboard" });
    }
    if (this.heygenWebhookUrl)
      output('HeyGenWebhookUrl', { value: this.heygenWebhookUrl, description: 'Register this URL with HeyGen' });
    if (this.joggaiWebhookUrl)
      output('JoggAiWebhookUrl', { value: this.joggaiWebhookUrl, description: 'Register this URL with JoggAI' });
    output('EventBusName', { value: this.eventBus.eventBusName });
    if (this.dedupTable)
      output('DedupTableName', {
        value: this.dedupTable.tableName,
        description: 'The dedup table (heygen-relay backfill --stack reads it)',
      });
    if (this.stateTable)
      output('StateTableName', {
        value: this.stateTable.tableName,
        description: 'The one-writer lease table (heygen-relay reconcile/rotate --stack use it)',
      });
    if (this.defaultQueue) output('DefaultQueueUrl', { value: this.defaultQueue.queue.queueUrl });
    if (this.signingSecret) output('SigningSecretArn', { value: this.signingSecret.secretArn });
    if (this.apiKeySecret)
      output('ApiKeySecretArn', { value: this.apiKeySecret.secretArn, description: 'Put the HeyGen API key here' });
    if (this.joggaiApiKeySecret)
      output('JoggAiApiKeySecretArn', { value: this.joggaiApiKeySecret.secretArn, description: 'Put the JoggAI API key here' });
    if (this.joggaiSigningSecret)
      output('JoggAiSigningSecretArn', {
        value: this.joggaiSigningSecret.secretArn,
        description: 'Put the JoggAI endpoint secret here ({"secret":"..."})',
      });

    this.acknowledgeFindings(props);
  }

  /**
   * Stack outputs with stable, short logical ids: `HeyGenWebhookUrl`, `EventBusName`, ... (what
   * `cdk deploy` prints and `heygen-relay --stack` reads), not `RelayHeyGenWebhookUrlF6580353`. The
   * first relay in a stack gets the bare names; any further relay in the same stack prefixes them
   * with its construct path (e.g. `SecondRelayHeyGenWebhookUrl`), so ids never collide.
   */
  private outputFactory(): (name: string, props: CfnOutputProps) => CfnOutput {
    const stack = Stack.of(this);
    const another = stack.node.findAll().some((c) => c instanceof HeyGenRelay && c !== this && Stack.of(c) === stack);
    const prefix = another ? this.node.path.slice(stack.node.path.length + 1).replace(/[^A-Za-z0-9]/g, '') : '';
    return (name, props) => {
      const out = new CfnOutput(this, name, props);
      out.overrideLogicalId(`${prefix}${name}`);
      return out;
    };
  }

  private createAlarms(props: HeyGenRelayProps, queues: RelayQueue[]): void {
    const action = props.alarmTopic ? new cwActions.SnsAction(props.alarmTopic) : undefined;
    const add = (id: string, alarm: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...alarm });
      if (action) a.addAlarmAction(action);
      this.alarms.push(a);
    };
    const dlqs = [
      { id: 'TargetDlq', q: this.targetDeadLetterQueue },
      ...queues.map((q) => ({ id: `${q.name}Dlq`, q: q.deadLetterQueue })),
    ];
    for (const { id, q } of dlqs) {
      add(`${id}NotEmpty`, {
        alarmDescription: `heygen-relay: messages in dead-letter queue ${id}`,
        metric: q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    add('Ingress5xx', {
      alarmDescription: 'heygen-relay: the ingress answered 5xx (deliveries are being retried by the provider)',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Url5xxCount',
        dimensionsMap: { FunctionName: this.ingress.functionName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    // A registrar that keeps failing (HeyGen/JoggAI down, or the API key rejected): two hourly runs in a row.
    const registrars: { id: string; name: string; dims: Record<string, string> }[] = [
      ...(this.registrar ? [{ id: 'HeyGenRegistrarFailing', name: 'HeyGen', dims: { service: HEYGEN_REGISTRAR_SERVICE } }] : []),
      ...(this.joggaiRegistrar
        ? [{ id: 'JoggAiRegistrarFailing', name: 'JoggAI', dims: { service: JOGGAI_REGISTRAR_SERVICE, provider: 'joggai' } }]
        : []),
    ];
    for (const r of registrars) {
      const runs = (outcome: string) =>
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'RegistrarRuns',
          dimensionsMap: { ...r.dims, Outcome: outcome },
          statistic: 'Sum',
          period: Duration.hours(1),
        });
      add(r.id, {
        alarmDescription: `heygen-relay: the ${r.name} registrar failed or was refused (API key) in two hourly runs in a row`,
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(failed, 0) + FILL(unauthorized, 0)',
          usingMetrics: { failed: runs('failed'), unauthorized: runs('unauthorized') },
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      // Outcomes no retry fixes: a refused API key, JoggAI's endpoint limit. One run is enough.
      add(`${r.id.replace(/Failing$/, '')}NeedsAttention`, {
        alarmDescription: `heygen-relay: the ${r.name} registrar needs a person (API key refused, or the provider's endpoint limit reached)`,
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(unauthorized, 0) + FILL(limit, 0)',
          usingMetrics: { unauthorized: runs('unauthorized'), limit: runs('limit_reached') },
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    if (this.registrar) {
      const heygenMetric = (metricName: string, outcome: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName,
          dimensionsMap: { service: HEYGEN_REGISTRAR_SERVICE, Outcome: outcome },
          statistic,
          period: Duration.hours(1),
        });
      add('HeyGenSecretMismatch', {
        alarmDescription:
          'heygen-relay: the stored HeyGen signing secret was not the one HeyGen signs with (refused signatures and missed events); the registrar re-synchronized it, the backfill recovers the events: find out who wrote the secret',
        metric: heygenMetric('RegistrarRuns', 'secret_mismatch', 'Sum'),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      if (this.heygenBackfill)
        add('HeyGenBackfilled', {
          alarmDescription:
            "heygen-relay: the backfill published events from HeyGen's history that live delivery never brought (each one means live delivery failed)",
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(done, 0) + FILL(partial, 0)',
            usingMetrics: Object.fromEntries(
              ['done', 'partial'].map((o) => [
                o,
                new cloudwatch.Metric({
                  namespace: METRICS_NAMESPACE,
                  metricName: 'BackfilledEvents',
                  dimensionsMap: { service: HEYGEN_BACKFILL_SERVICE, Outcome: o },
                  statistic: 'Sum',
                  period: Duration.hours(1),
                }),
              ]),
            ),
            period: Duration.hours(1),
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        });
      if (this.heygenBackfill)
        add('HeyGenBackfillBehind', {
          alarmDescription:
            "heygen-relay: no backfill sweep of HeyGen's history completed for over 26 h (or the backfill stopped reporting): events HeyGen gave up on may age past the dedup window unchecked; check the backfill's logs",
          metric: new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'SweepAgeHours',
            dimensionsMap: { service: HEYGEN_BACKFILL_SERVICE },
            statistic: 'Maximum',
            period: Duration.hours(3),
          }),
          threshold: 26, // SWEEP_AGE_ALARM_HOURS (functions/heygen-backfill-plan.ts): a daily sweep plus two hourly runs of slack
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      if (this.heygenBackfill)
        add('HeyGenBackfillParked', {
          alarmDescription:
            "heygen-relay: the backfill parked entries of HeyGen's history EventBridge can never take; list and re-publish them after a fix",
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(done, 0) + FILL(partial, 0)',
            usingMetrics: Object.fromEntries(
              ['done', 'partial'].map((o) => [
                o,
                new cloudwatch.Metric({
                  namespace: METRICS_NAMESPACE,
                  metricName: 'ParkedEvents',
                  dimensionsMap: { service: HEYGEN_BACKFILL_SERVICE, Outcome: o },
                  statistic: 'Sum',
                  period: Duration.hours(1),
                }),
              ]),
            ),
            period: Duration.hours(1),
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        });
      add('RotationErrors', {
        alarmDescription:
          'heygen-relay: a step of the HeyGen signing-secret rotation failed (Secrets Manager retries it; check the rotation logs)',
        metric: this.registrar.rotationFunction.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      add('RotationPendingTooLong', {
        alarmDescription:
          'heygen-relay: a HeyGen secret rotation has been between createSecret and finishSecret for over an hour (both secrets are accepted meanwhile)',
        metric: new cloudwatch.MathExpression({
          expression: 'MAX([FILL(insync, 0), FILL(changed, 0)])',
          usingMetrics: {
            insync: heygenMetric('RotationPendingAgeSeconds', 'in_sync', 'Maximum'),
            changed: heygenMetric('RotationPendingAgeSeconds', 'changed', 'Maximum'),
          },
          period: Duration.hours(1),
        }),
        threshold: 3600,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      add('DuplicateEndpoints', {
        alarmDescription:
          'heygen-relay: endpoints at the relay URL keep reappearing at HeyGen (deleted as duplicates in two hourly runs in a row); something else registers this URL',
        metric: heygenMetric('DuplicateEndpointsDeleted', 'changed', 'Sum'),
        threshold: 1,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    const providerNames: Record<string, string> = { heygen: 'HeyGen', joggai: 'JoggAI' };
    for (const provider of this.providers) {
      // HeyGen's alarm keeps its original logical id.
      add(provider === 'heygen' ? 'SignatureRejections' : `SignatureRejections-${provider}`, {
        alarmDescription: `heygen-relay: a spike of ${providerNames[provider] ?? provider} deliveries with invalid signatures`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'Rejected',
          dimensionsMap: { service: SERVICE_NAME, provider, reason: 'invalid_signature' },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: props.signatureRejectionAlarmThreshold ?? 20,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
  }

  // ---- Parked deliveries: signed deliveries EventBridge can never take, kept for operators ----
  private createParkedStore(props: HeyGenRelayProps, providers: readonly string[]): s3.Bucket {
    const bucket = new s3.Bucket(this, 'ParkedDeliveries', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-parked', expiration: props.parkedRetention ?? Duration.days(90) }],
      // It holds deliveries not yet on the bus: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Least privilege: the ingress only puts records under parked/ (list, read, delete are the operators').
    this.ingress.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('parked/*')] }),
    );
    this.ingress.addEnvironment('PARKED_BUCKET_NAME', bucket.bucketName);
    this.outputFactory()('ParkedBucketName', {
      value: bucket.bucketName,
      description: 'Parked deliveries (heygen-relay parked list / republish)',
    });
    const action = props.alarmTopic ? new cwActions.SnsAction(props.alarmTopic) : undefined;
    for (const provider of providers) {
      const alarm = new cloudwatch.Alarm(this, `Parked-${provider}`, {
        alarmDescription: `heygen-relay: a signed ${provider} delivery was parked (EventBridge cannot take it); list and re-publish it after a fix`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'Parked',
          dimensionsMap: { service: SERVICE_NAME, provider },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (action) alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    }
    const bucketId = Stack.of(this).resolve(Stack.of(this).getLogicalId(bucket.node.defaultChild as s3.CfnBucket)) as string;
    Validations.of(this.ingress).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/parked/*]`,
      reason:
        'The ingress may only put objects under parked/ of its own bucket; object keys are per delivery, so they cannot be listed in advance.',
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        'The parked-deliveries bucket is written only by the ingress role under parked/; every write is counted (metric Parked) and alarmed, so server access logs would add a second bucket for no extra signal.',
    });
    return bucket;
  }

  /** cdk-nag acknowledgements, each scoped to the construct it concerns and with its reason. */
  private acknowledgeFindings(props: HeyGenRelayProps): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    ack(
      this.ingress,
      'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only allows writing CloudWatch Logs; the log group is created here with a retention.',
    );
    ack(
      this.ingress,
      'Serverless::Serverless-LambdaDLQ',
      'The ingress is invoked synchronously by its Function URL; a Lambda DLQ only applies to asynchronous invocations. Failed deliveries get a 5xx and the provider retries.',
    );
    ack(
      this.ingress,
      'Serverless::Serverless-LambdaLatestVersion',
      'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22; upgrades are a deliberate change.',
    );
    if (props.tracing)
      for (const fn of [this.ingress, this.registrar?.registrarFunction, this.registrar?.rotationFunction])
        if (fn)
          ack(
            fn.role ?? fn,
            'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
            'Only xray:PutTraceSegments/PutTelemetryRecords use Resource "*": X-Ray supports no resource-level permissions.',
          );
    if (!props.tracing)
      ack(
        this.ingress,
        'Serverless::Serverless-LambdaTracing',
        'X-Ray tracing is opt-in (props.tracing) to keep the per-event cost down.',
      );
    ack(
      this.ingress,
      'AwsSolutions::AwsSolutions-L1',
      'nodejs22.x is pinned on purpose: the relay is built and tested for Node 22; upgrades are a deliberate change.',
    );
    ack(
      this.targetDeadLetterQueue,
      'AwsSolutions::AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the bus rule targets (events EventBridge could not deliver); it is alarmed when not empty.',
    );
    if (this.apiKeySecret instanceof secretsmanager.Secret)
      ack(
        this.apiKeySecret,
        'AwsSolutions::AwsSolutions-SMG4',
        "The HeyGen API key is issued in HeyGen's dashboard; Secrets Manager cannot rotate it. Replace it with put-secret-value.",
      );
    if (this.signingSecret instanceof secretsmanager.Secret && !this.registrar)
      ack(
        this.signingSecret,
        'AwsSolutions::AwsSolutions-SMG4',
        'Registration (and with it HeyGen secret rotation) is disabled: the signing secret is managed by the operator.',
      );
    if (this.joggaiSigningSecret instanceof secretsmanager.Secret)
      ack(
        this.joggaiSigningSecret,
        'AwsSolutions::AwsSolutions-SMG4',
        this.joggaiRegistrar
          ? 'JoggAI cannot change an endpoint secret, so Secrets Manager rotation does not apply: the JoggAI registrar rotates on its own schedule by overlapping a second endpoint.'
          : 'JoggAI registration is disabled: the endpoint and its secret are managed by the operator (JoggAI cannot change a secret in place).',
      );
    if (this.joggaiApiKeySecret instanceof secretsmanager.Secret)
      ack(
        this.joggaiApiKeySecret,
        'AwsSolutions::AwsSolutions-SMG4',
        "The JoggAI API key is issued in JoggAI's dashboard; Secrets Manager cannot rotate it. Replace it with put-secret-value.",
      );
    for (const q of [this.targetDeadLetterQueue, ...Object.values(this.queues).map((r) => r.deadLetterQueue)])
      ack(
        q,
        'Serverless::Serverless-SQSRedrivePolicy',
        'This queue is itself a dead-letter queue, the end of the line; it is alarmed when not empty.',
      );
  }
}
