/**
 * Sources: what a provider brings to the relay's infrastructure, in the spirit of CDK's own event
 * sources (`fn.addEventSource(new SqsEventSource(q))`). The relay core (bus, archive, queues, dedup
 * table, ingress, parked bucket, state table, shared alarms) binds each source in turn and names none;
 * a source adds its secrets, its route on the ingress, its functions, schedules, alarms, outputs and
 * grants. Each provider's source class lives in its folder (providers/<name>/infra/source.ts).
 */
import { type CfnOutput, type CfnOutputProps, Duration, SecretValue } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/core/observability-names.js';
import type { DedupMode } from '../functions/core/ports.js';
import type { ProviderConfig } from '../functions/wiring/ingress-config.js';
import { getProvider } from '../providers/runtime.js';
import { EMPTY_SIGNING_SECRET, KNOWN_EVENT_TYPES, RelayConfigError } from './config.js';
import type { DashboardRegistrar } from './dashboard.js';
import type { RegistrarFunctionProps } from './registrar-common.js';

/**
 * One entry of the ingress's RELAY_PROVIDERS: the ingress's own `ProviderConfig`
 * (functions/wiring/ingress-config.ts), with the dedup mode always written by the source.
 */
export type SourceRoute = ProviderConfig & { readonly dedupMode: DedupMode };

/** What a source sees of the relay while it binds: the shared infrastructure and how to add to it. */
export interface RelayCore extends Construct {
  readonly eventBus: events.EventBus;
  readonly ingress: lambda.Function;
  readonly functionUrl: lambda.FunctionUrl;
  readonly dedupTable?: dynamodb.Table;
  readonly dedupWindow: Duration;
  /** Signed deliveries (and history entries) EventBridge can never take, kept with their reason under `parked/`. */
  readonly parkedBucket: s3.Bucket;
  readonly logRetention: logs.RetentionDays;
  readonly tracing: lambda.Tracing;
  /** Signature rejections per 5 minutes that raise a source's alarm. */
  readonly signatureRejectionAlarmThreshold: number;
  /** The state table (leases, checkpoints, evidence), created on first use. */
  leaseTable(): dynamodb.Table;
  /**
   * The state table, with the ingress recording delivery evidence in it (each source's
   * `evidence#<id>` item; the ingress may write those items only).
   */
  evidenceTable(): dynamodb.Table;
  /** An alarm on the relay's alarm topic (missing data is not breaching). */
  addAlarm(scope: Construct, id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm;
  /** A stack output with a stable, short logical id (`name`, prefixed when the stack holds several relays). */
  addOutput(name: string, props: CfnOutputProps): CfnOutput;
}

/** A source bound to a relay. */
export interface BoundSource {
  readonly route: SourceRoute;
  /** What the relay's dashboard shows of this source beyond its ingress metrics (lib/dashboard.ts). */
  readonly dashboard?: {
    readonly registrars?: readonly DashboardRegistrar[];
    readonly backfillServices?: readonly string[];
  };
  /** The URL the provider delivers to (Function URL + route). */
  readonly webhookUrl: string;
  readonly signingSecret: secretsmanager.ISecret;
}

/** A provider account feeding the relay. */
export interface IRelaySource {
  /** The provider plug-in (providers): the bus `source`, the envelope `provider`. */
  readonly provider: string;
  /** Tells sources of one provider apart: the envelope `source`, the metrics' `provider` dimension, state keys. */
  readonly id: string;
  readonly path: string;
  /**
   * How long the provider goes on retrying a delivery that failed (its last attempt, counted from
   * the first); the relay warns when its `dedupWindow` does not outlive it. @default unknown: no warning
   */
  readonly retryHorizon?: Duration;
  bind(relay: RelayCore): BoundSource;
}

/** What every source takes. */
export interface SourceProps {
  /**
   * The source's id: letters, digits, `-` and `_`, unique within the relay. A second account of a
   * provider needs one (e.g. `heygen-staging`); it becomes the envelope's `source`, the metrics'
   * `provider` dimension, a prefix of the source's construct ids and stack outputs.
   * @default the provider's name
   */
  readonly id?: string;
  /** Route on the Function URL. @default `/<id>` */
  readonly path?: string;
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

/** What every source's props say of its intake (each source documents its own defaults). */
interface IntakeProps {
  readonly signingSecret?: secretsmanager.ISecret;
  readonly timestampTolerance?: Duration;
  readonly dedupMode?: DedupMode;
}

const SOURCE_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;

/**
 * What the sources share: id and path validation, where their constructs go, the route entry, the
 * empty-safe secrets, the per-source alarms (signature rejections, parked deliveries), the outputs.
 */
export abstract class RelaySource<B extends BoundSource = BoundSource> implements IRelaySource {
  public readonly id: string;
  public readonly path: string;
  /** How long the provider retries a failed delivery (each provider's source states it). */
  public abstract readonly retryHorizon: Duration;
  /** Set once bound. */
  public bound?: B;
  private scope?: Construct;

  protected constructor(
    public readonly provider: string,
    props: SourceProps,
    /** For alarm descriptions, e.g. `HeyGen`. */
    protected readonly displayName: string,
  ) {
    this.id = props.id ?? provider;
    if (!SOURCE_ID.test(this.id))
      throw new RelayConfigError(`Source id "${this.id}" must be 1-40 lowercase letters, digits, "-" or "_"`);
    this.path = props.path ?? `/${this.id}`;
    if (!/^\/[a-z0-9_-]+$/.test(this.path)) throw new RelayConfigError(`${this.id}.path "${this.path}" must look like /name`);
  }

  /** Adds this source to `relay` (once). */
  bind(relay: RelayCore): B {
    if (this.bound) throw new RelayConfigError(`Source "${this.id}" is already bound; create one source per relay`);
    this.bound = this.build(relay, this.scopeIn(relay));
    return this.bound;
  }

  /** Creates the source's resources in `scope` (see scopeIn) and wires them to the relay. */
  protected abstract build(relay: RelayCore, scope: Construct): B;

  /** The provider's default source keeps the construct ids of before sources: it builds in the relay itself. */
  protected get isDefault(): boolean {
    return this.id === this.provider;
  }

  /** How alarm texts and the dashboard name this source: its provider's name, with the id for a further source. */
  protected get label(): string {
    return this.isDefault ? this.displayName : `${this.displayName} (${this.id})`;
  }

  /** A Powertools service name of this source's (its metrics' `service` dimension): `base`, `base-<id>` for a further source. */
  protected serviceName(base: string): string {
    return this.isDefault ? base : `${base}-${this.id}`;
  }

  /** Where this source's constructs go: the relay (the default source), else a child named by the id. */
  protected scopeIn(relay: RelayCore): Construct {
    if (this.scope?.node.scope !== relay && this.scope !== relay)
      this.scope = this.isDefault ? relay : new Construct(relay, `Source-${this.id}`);
    return this.scope;
  }

  /** An output name: as is for the default source, else prefixed with the id (`HeyGenStagingWebhookUrl`...). */
  protected outputName(name: string): string {
    if (this.isDefault) return name;
    const pascal = this.id.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
    return `Source${pascal}${name}`;
  }

  protected webhookUrl(relay: RelayCore): string {
    return `${relay.functionUrl.url}${this.path.slice(1)}`;
  }

  /** The dedup mode: the prop if set (validated), else the provider plug-in's default. */
  protected dedupMode(mode: DedupMode | undefined): DedupMode {
    if (mode === undefined) return getProvider(this.provider).defaultDedupMode;
    if (mode !== 'record' && mode !== 'claim')
      throw new RelayConfigError(`${this.id}.dedupMode must be 'record' or 'claim', got "${String(mode)}"`);
    return mode;
  }

  /** The ingress route of this source, and the ingress's read on its signing secret. */
  protected route(
    relay: RelayCore,
    signingSecret: secretsmanager.ISecret,
    options: { tolerance: Duration; dedupMode: DedupMode; acceptSubpaths?: boolean },
  ): SourceRoute {
    signingSecret.grantRead(relay.ingress);
    return {
      name: this.provider,
      ...(this.isDefault ? {} : { source: this.id }),
      path: this.path,
      secretId: signingSecret.secretArn,
      timestampToleranceSeconds: options.tolerance.toSeconds(),
      ...(options.acceptSubpaths ? { acceptSubpaths: true } : {}),
      dedupMode: options.dedupMode,
    };
  }

  /**
   * What every source starts with: its signing secret (`props.signingSecret`, or one created
   * empty-safe as `created` says), its ingress route (`props.timestampTolerance`, 300 s by default;
   * `props.dedupMode`, the provider's by default) and the URL the provider delivers to.
   */
  protected intake(
    relay: RelayCore,
    scope: Construct,
    props: IntakeProps,
    created: { secretId: string; description: string; acceptSubpaths?: boolean },
  ): Pick<BoundSource, 'signingSecret' | 'route' | 'webhookUrl'> {
    const signingSecret = this.signingSecretOr(props.signingSecret, scope, created.secretId, created.description);
    const route = this.route(relay, signingSecret, {
      tolerance: props.timestampTolerance ?? Duration.seconds(300),
      dedupMode: this.dedupMode(props.dedupMode),
      ...(created.acceptSubpaths ? { acceptSubpaths: true } : {}),
    });
    return { signingSecret, route, webhookUrl: this.webhookUrl(relay) };
  }

  /** The signing secret given, or one created empty-safe (`{"secret":null}`: the ingress answers 503 until it is set). */
  protected signingSecretOr(
    given: secretsmanager.ISecret | undefined,
    scope: Construct,
    id: string,
    description: string,
  ): secretsmanager.ISecret {
    return given ?? this.emptySecret(scope, id, description, EMPTY_SIGNING_SECRET);
  }

  /** A secret created with a value meaning "not set yet" (the ingress answers 503, the registrar waits). */
  protected emptySecret(scope: Construct, id: string, description: string, value: string): secretsmanager.Secret {
    return new secretsmanager.Secret(scope, id, {
      description: `heygen-relay: ${description}`,
      secretStringValue: SecretValue.unsafePlainText(value),
    });
  }

  /**
   * What every registrar of this source takes (RegistrarFunctionProps): the lease table, its
   * secrets, the URL to register, the registration props (validated), the relay's log retention
   * and tracing, and for a further source its own service name and id.
   */
  protected registrarProps(
    relay: RelayCore,
    registration: RegistrationProps,
    wiring: { signingSecret: secretsmanager.ISecret; apiKeySecret: secretsmanager.ISecret; webhookUrl: string },
    serviceName: string,
  ): RegistrarFunctionProps {
    return {
      stateTable: relay.leaseTable(),
      signingSecret: wiring.signingSecret,
      apiKeySecret: wiring.apiKeySecret,
      endpointUrl: wiring.webhookUrl,
      ...this.registrationOptions(registration),
      logRetention: relay.logRetention,
      tracing: relay.tracing,
      ...(this.isDefault ? {} : { serviceName, sourceId: this.id }),
    };
  }

  /** Validates registration props (event types the provider can send) and keeps only what is set. */
  protected registrationOptions(registration: RegistrationProps) {
    if (registration.events) {
      if (registration.events.length === 0)
        throw new RelayConfigError(`${this.id}.registration.events is empty; omit it for all events`);
      const known = new Set<string>(KNOWN_EVENT_TYPES[this.provider] ?? []);
      for (const e of registration.events)
        if (!known.has(e)) throw new RelayConfigError(`${this.id}.registration.events has unknown event type "${e}"`);
    }
    return {
      ...(registration.events ? { events: [...registration.events] } : {}),
      ...(registration.schedule ? { schedule: registration.schedule } : {}),
      ...(registration.rotationInterval ? { rotationInterval: registration.rotationInterval } : {}),
      ...(registration.apiUrl ? { apiUrl: registration.apiUrl } : {}),
      ...(registration.runAfterDeploy === undefined ? {} : { runAfterDeploy: registration.runAfterDeploy }),
    };
  }

  /**
   * The alarms every source has, on the ingress's metrics for this source (dimension `provider`: the
   * source id): a spike of invalid signatures, and any parked delivery.
   */
  protected sourceAlarms(relay: RelayCore, options: { signatureAlarmId?: string } = {}): void {
    const scope = this.scopeIn(relay);
    const who = this.label;
    const metric = (metricName: string, extra: Record<string, string>) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME, provider: this.id, ...extra },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    relay.addAlarm(scope, options.signatureAlarmId ?? `SignatureRejections-${this.id}`, {
      alarmDescription: `heygen-relay: a spike of ${who} deliveries with invalid signatures`,
      metric: metric('Rejected', { reason: 'invalid_signature' }),
      threshold: relay.signatureRejectionAlarmThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    relay.addAlarm(scope, `Parked-${this.id}`, {
      alarmDescription: `heygen-relay: a signed ${this.isDefault ? this.provider : this.id} delivery was parked (EventBridge cannot take it); list and re-publish it after a fix`,
      metric: metric('Parked', {}),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }

  /**
   * The alarms every registrar has, on its hourly `RegistrarRuns` of one outcome (`runs`): failing or
   * refused in two runs in a row (`<prefix>RegistrarFailing`), and needing a person: the API key
   * refused, or the provider's endpoint limit reached (`<prefix>RegistrarNeedsAttention`).
   */
  protected registrarRunAlarms(
    relay: RelayCore,
    scope: Construct,
    idPrefix: string,
    runs: (outcome: string) => cloudwatch.IMetric,
  ): void {
    const sum = (expression: string, metrics: Record<string, cloudwatch.IMetric>) =>
      new cloudwatch.MathExpression({ expression, usingMetrics: metrics, period: Duration.hours(1) });
    const comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    relay.addAlarm(scope, `${idPrefix}RegistrarFailing`, {
      alarmDescription: `heygen-relay: the ${this.label} registrar failed or was refused (API key) in two hourly runs in a row`,
      metric: sum('FILL(failed, 0) + FILL(unauthorized, 0)', { failed: runs('failed'), unauthorized: runs('unauthorized') }),
      threshold: 1,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator,
    });
    relay.addAlarm(scope, `${idPrefix}RegistrarNeedsAttention`, {
      alarmDescription: `heygen-relay: the ${this.label} registrar needs a person (API key refused, or the provider's endpoint limit reached)`,
      metric: sum('FILL(unauthorized, 0) + FILL(limit, 0)', { unauthorized: runs('unauthorized'), limit: runs('limit_reached') }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator,
    });
  }
}
