/**
 * HeyGen's part of the relay's infrastructure (a source, lib/source.ts): its signing and API-key
 * secrets, its route on the ingress, the registrar and rotation (providers/heygen/infra/registrar.ts), the backfill
 * (providers/heygen/infra/backfill.ts), their alarms and outputs. CDK code: never imported by the Lambda functions.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  HEYGEN_BACKFILL_SERVICE,
  HEYGEN_REGISTRAR_SERVICE,
  METRICS_NAMESPACE,
} from '../../../functions/core/observability-names.js';
import type { DedupMode } from '../../../functions/core/ports.js';
import { EMPTY_API_KEY } from '../../../lib/config.js';
import { type BoundSource, type RegistrationProps, type RelayCore, RelaySource, type SourceProps } from '../../../lib/source.js';
import { SWEEP_AGE_ALARM_HOURS } from '../runtime/backfill-plan.js';
import { HeyGenBackfill } from './backfill.js';
import { HeyGenRegistrar } from './registrar.js';

export type HeyGenRegistrationProps = RegistrationProps;

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
  /** Route on the Function URL. @default '/heygen' (a source with an id: `/<id>`) */
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

export interface HeyGenSourceProps extends HeyGenProviderProps, SourceProps {}

export interface BoundHeyGenSource extends BoundSource {
  readonly apiKeySecret: secretsmanager.ISecret;
  /** The registrar and rotation, unless `registration` is false. */
  readonly registrar?: HeyGenRegistrar;
  /** The scheduled backfill from HeyGen's event history (with the registrar, when dedup is on). */
  readonly backfill?: HeyGenBackfill;
}

/**
 * A HeyGen account feeding the relay: `new HeyGenRelay(this, 'Relay', { sources: [new HeyGenSource()] })`.
 * Several accounts: give each further one an `id` (its path, secrets, registrar, rotation,
 * backfill, leases, alarms and outputs are its own).
 */
export class HeyGenSource extends RelaySource<BoundHeyGenSource> {
  /** "Failed deliveries are retried with exponential backoff for up to 24 hours" (HeyGen's webhook docs). */
  public readonly retryHorizon = Duration.hours(24);

  constructor(private readonly props: HeyGenSourceProps = {}) {
    super('heygen', props, 'HeyGen');
  }

  protected build(relay: RelayCore, scope: Construct): BoundHeyGenSource {
    const props = this.props;
    const { signingSecret, route, webhookUrl } = this.intake(relay, scope, props, {
      secretId: 'HeyGenSigningSecret',
      description: 'HeyGen webhook signing secret (written by the registrar and rotation)',
    });
    const apiKeySecret =
      props.apiKeySecret ??
      this.emptySecret(scope, 'HeyGenApiKey', 'HeyGen API key for the registrar (put-secret-value with the key)', EMPTY_API_KEY);
    const { registrar, backfill } =
      props.registration === false
        ? {}
        : this.registration(relay, scope, props.registration ?? {}, { signingSecret, apiKeySecret, webhookUrl });
    const bound = {
      route,
      webhookUrl,
      signingSecret,
      apiKeySecret,
      ...(registrar ? { registrar } : {}),
      ...(backfill ? { backfill } : {}),
      dashboard: this.dashboard(registrar, backfill),
    };
    this.alarms(relay, scope, bound);
    relay.addOutput(this.outputName('HeyGenWebhookUrl'), { value: webhookUrl, description: 'Register this URL with HeyGen' });
    relay.addOutput(this.outputName('SigningSecretArn'), { value: signingSecret.secretArn });
    relay.addOutput(this.outputName('ApiKeySecretArn'), {
      value: apiKeySecret.secretArn,
      description: 'Put the HeyGen API key here',
    });
    this.acknowledge(relay, bound);
    return bound;
  }

  /** The registrar and rotation, and (when dedup is on) the evidence they read and the backfill. */
  private registration(
    relay: RelayCore,
    scope: Construct,
    registration: HeyGenRegistrationProps,
    secrets: { signingSecret: secretsmanager.ISecret; apiKeySecret: secretsmanager.ISecret; webhookUrl: string },
  ): { registrar: HeyGenRegistrar; backfill?: HeyGenBackfill } {
    const services = this.serviceNames();
    const { signingSecret, apiKeySecret, webhookUrl } = secrets;
    const registrar = new HeyGenRegistrar(
      scope,
      'Registrar',
      this.registrarProps(relay, registration, secrets, services.registrar),
    );
    if (!relay.dedupTable) return { registrar };
    // Evidence: the ingress records refused signatures and failures; the registrar's secret check
    // reads them with the dedup table; the backfill recovers what HeyGen delivered and we never published.
    const stateTable = relay.evidenceTable();
    const registrarFn = registrar.registrarFunction;
    registrarFn.addEnvironment('DEDUP_TABLE_NAME', relay.dedupTable.tableName);
    registrarFn.addEnvironment('DEDUP_WINDOW_SECONDS', String(relay.dedupWindow.toSeconds()));
    relay.dedupTable.grant(registrarFn, 'dynamodb:GetItem', 'dynamodb:PutItem');
    const backfill = new HeyGenBackfill(scope, 'Backfill', {
      apiKeySecret,
      signingSecret,
      ...(registration.apiUrl ? { apiUrl: registration.apiUrl } : {}),
      dedupTable: relay.dedupTable,
      dedupWindow: relay.dedupWindow,
      stateTable,
      eventBus: relay.eventBus,
      parkedBucket: relay.parkedBucket,
      endpointUrl: webhookUrl,
      ...(registration.events ? { events: [...registration.events] } : {}),
      logRetention: relay.logRetention,
      tracing: relay.tracing,
      ...(this.isDefault ? {} : { serviceName: services.backfill, sourceId: this.id }),
    });
    return { registrar, backfill };
  }

  /** What the relay's dashboard shows of this source. */
  private dashboard(registrar: HeyGenRegistrar | undefined, backfill: HeyGenBackfill | undefined): BoundSource['dashboard'] {
    const services = this.serviceNames();
    return {
      registrars: registrar
        ? [
            {
              label: this.label,
              service: services.registrar,
              rotationFunction: registrar.rotationFunction,
              secretAge: true,
              ...(registrar.rotationInterval ? { rotationInterval: registrar.rotationInterval } : {}),
            },
          ]
        : [],
      backfillServices: backfill ? [services.backfill] : [],
    };
  }

  /** The registrar's and backfill's Powertools service (their metrics' `service` dimension), per source. */
  private serviceNames() {
    return { registrar: this.serviceName(HEYGEN_REGISTRAR_SERVICE), backfill: this.serviceName(HEYGEN_BACKFILL_SERVICE) };
  }

  private alarms(relay: RelayCore, scope: Construct, bound: BoundHeyGenSource): void {
    // HeyGen's signature alarm keeps its original logical id.
    this.sourceAlarms(relay, this.isDefault ? { signatureAlarmId: 'SignatureRejections' } : {});
    const { registrar, backfill } = bound;
    if (!registrar) return;
    const kit = alarmKit(this.serviceNames(), this.label);
    this.registrarRunAlarms(relay, scope, 'HeyGen', kit.runs);
    registrarAlarms(relay, scope, kit);
    if (backfill) backfillAlarms(relay, scope, kit);
    rotationAlarms(relay, scope, kit, registrar);
  }

  /** cdk-nag acknowledgements of this source's resources, each with its reason. */
  private acknowledge(relay: RelayCore, bound: BoundHeyGenSource): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const { registrar, backfill, apiKeySecret, signingSecret } = bound;
    if (registrar && relay.tracing === 'Active')
      for (const fn of [
        registrar.registrarFunction,
        registrar.rotationFunction,
        ...(backfill ? [backfill.backfillFunction] : []),
      ])
        ack(
          fn.role ?? fn,
          'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
          'Only xray:PutTraceSegments/PutTelemetryRecords use Resource "*": X-Ray supports no resource-level permissions.',
        );
    if (apiKeySecret instanceof secretsmanager.Secret)
      ack(
        apiKeySecret,
        'AwsSolutions::AwsSolutions-SMG4',
        "The HeyGen API key is issued in HeyGen's dashboard; Secrets Manager cannot rotate it. Replace it with put-secret-value.",
      );
    if (signingSecret instanceof secretsmanager.Secret && !registrar)
      ack(
        signingSecret,
        'AwsSolutions::AwsSolutions-SMG4',
        'Registration (and with it HeyGen secret rotation) is disabled: the signing secret is managed by the operator.',
      );
  }
}

/** What the alarms of one HeyGen source share: its services, its name, and metric helpers. */
interface AlarmKit {
  readonly services: { readonly registrar: string; readonly backfill: string };
  /** How the alarm texts name the source. */
  readonly who: string;
  metric(metricName: string, outcome: string, statistic: string, service?: string): cloudwatch.Metric;
  sum(expression: string, metrics: Record<string, cloudwatch.IMetric>): cloudwatch.MathExpression;
  /** `RegistrarRuns` of one outcome, summed per hour. */
  runs(outcome: string): cloudwatch.Metric;
  /** Sum of a metric's `done` and `partial` outcomes (a backfill's). */
  doneOrPartial(metricName: string): cloudwatch.MathExpression;
  readonly atLeastOnce: { evaluationPeriods: number; comparisonOperator: cloudwatch.ComparisonOperator };
}

function alarmKit(services: AlarmKit['services'], who: string): AlarmKit {
  const metric = (metricName: string, outcome: string, statistic: string, service = services.registrar) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service, Outcome: outcome },
      statistic,
      period: Duration.hours(1),
    });
  const sum = (expression: string, metrics: Record<string, cloudwatch.IMetric>) =>
    new cloudwatch.MathExpression({ expression, usingMetrics: metrics, period: Duration.hours(1) });
  return {
    services,
    who,
    metric,
    sum,
    runs: (outcome) => metric('RegistrarRuns', outcome, 'Sum'),
    doneOrPartial: (metricName) =>
      sum(
        'FILL(done, 0) + FILL(partial, 0)',
        Object.fromEntries(['done', 'partial'].map((o) => [o, metric(metricName, o, 'Sum', services.backfill)])),
      ),
    atLeastOnce: {
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    },
  };
}

/** HeyGen's registrar outcomes that need a person beyond every registrar's: a proven mismatch, a disabled endpoint, a second writer. */
function registrarAlarms(relay: RelayCore, scope: Construct, kit: AlarmKit): void {
  const { who, runs, atLeastOnce } = kit;
  relay.addAlarm(scope, 'HeyGenSecretMismatch', {
    alarmDescription: `heygen-relay: the stored ${who} signing secret was not the one HeyGen signs with (refused signatures and missed events); the registrar re-synchronized it, the backfill recovers the events: find out who wrote the secret`,
    metric: runs('secret_mismatch'),
    threshold: 1,
    ...atLeastOnce,
  });
  // Events stop flowing and only a person can fix it (issue 19): one run is enough, and an hour or two
  // whose run could not look (failed, busy) does not clear it: 1 reporting hour of the last 3.
  const keptThroughBlindRuns = {
    evaluationPeriods: 3,
    datapointsToAlarm: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  };
  relay.addAlarm(scope, 'HeyGenEndpointDisabled', {
    alarmDescription: `heygen-relay: HeyGen lists the ${who} webhook endpoint as disabled, so nothing is delivered. HeyGen's v3 API cannot enable it: enable it in HeyGen's dashboard (Webhooks), then run \`heygen-relay backfill\` for what the dedup window still covers`,
    metric: runs('endpoint_disabled'),
    threshold: 1,
    ...keptThroughBlindRuns,
  });
  relay.addAlarm(scope, 'HeyGenSecondWriter', {
    alarmDescription: `heygen-relay: another writer keeps changing the ${who} endpoint's secret (a second takeover within 24 h): a person rotating it in HeyGen's dashboard, or another stack at the same URL (a copied stack, a second region behind one domain). The registrar stopped healing instead of fighting. Find and remove the other writer (or give each stack its own URL), then run \`heygen-relay rotate\``,
    metric: runs('second_writer'),
    threshold: 1,
    ...keptThroughBlindRuns,
  });
  relay.addAlarm(scope, 'HeyGenStrayEndpoint', {
    alarmDescription: `heygen-relay: a ${who} registrar run created an endpoint at HeyGen and died before storing it, HeyGen no longer replays that create, and an endpoint made then with our events is at another URL. It may be ours (moved by a person) or another app's made at the same moment, so the registrar did not touch it and registered a new one at our URL. Find the endpoint named in the registrar's log (outcome stray_endpoint) in HeyGen's dashboard and delete it if it is not another app's`,
    metric: runs('stray_endpoint'),
    threshold: 1,
    ...atLeastOnce,
  });
}

/** The backfill's: events recovered, sweeps behind, a gap it could not cover, entries parked. */
function backfillAlarms(relay: RelayCore, scope: Construct, kit: AlarmKit): void {
  const { who, services, atLeastOnce, doneOrPartial } = kit;
  const backfillMetric = (metricName: string, period: Duration) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: services.backfill },
      statistic: 'Maximum',
      period,
    });
  relay.addAlarm(scope, 'HeyGenBackfilled', {
    alarmDescription: `heygen-relay: the backfill published events from ${who}'s history that live delivery never brought (each one means live delivery failed)`,
    metric: doneOrPartial('BackfilledEvents'),
    threshold: 1,
    ...atLeastOnce,
  });
  relay.addAlarm(scope, 'HeyGenBackfillBehind', {
    alarmDescription: `heygen-relay: no backfill sweep of ${who}'s history completed for over 26 h (or the backfill stopped reporting): events HeyGen gave up on may age past the dedup window unchecked; check the backfill's logs`,
    metric: backfillMetric('SweepAgeHours', Duration.hours(3)),
    threshold: SWEEP_AGE_ALARM_HOURS,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  relay.addAlarm(scope, 'HeyGenBackfillGap', {
    alarmDescription: `heygen-relay: the backfill could not cover a period of ${who}'s history: events of it may be lost. heygen-relay status names each period and its entries: older than the dedup window (an outage longer than it), passed over when HeyGen's listing changed its order, HeyGen's history does not reach back that far, or entries left unpublished because our endpoint's subscription then is unsure. Act on each as status says, then heygen-relay backfill --acknowledge-gap`,
    metric: backfillMetric('BackfillGap', Duration.hours(1)),
    threshold: 1,
    ...atLeastOnce,
    // An hour with no report (a run that failed, was busy, had no API key) keeps the alarm as it is: only
    // a run after `--acknowledge-gap` (BackfillGap 0) clears it.
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
  relay.addAlarm(scope, 'HeyGenBackfillParked', {
    alarmDescription: `heygen-relay: the backfill parked entries of ${who}'s history EventBridge can never take; list and re-publish them after a fix`,
    metric: doneOrPartial('ParkedEvents'),
    threshold: 1,
    ...atLeastOnce,
  });
}

/** The rotation's (a failed step, a rotation pending too long) and endpoints that keep reappearing. */
function rotationAlarms(relay: RelayCore, scope: Construct, kit: AlarmKit, registrar: HeyGenRegistrar): void {
  const { who, metric, sum, atLeastOnce } = kit;
  relay.addAlarm(scope, 'RotationErrors', {
    alarmDescription: `heygen-relay: a step of the ${who} signing-secret rotation failed (Secrets Manager retries it; check the rotation logs)`,
    metric: registrar.rotationFunction.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
    threshold: 1,
    ...atLeastOnce,
  });
  relay.addAlarm(scope, 'RotationPendingTooLong', {
    alarmDescription: `heygen-relay: a ${who} secret rotation has been between createSecret and finishSecret for over an hour (both secrets are accepted meanwhile)`,
    metric: sum('MAX([FILL(insync, 0), FILL(changed, 0), FILL(disabled, 0), FILL(second, 0)])', {
      insync: metric('RotationPendingAgeSeconds', 'in_sync', 'Maximum'),
      changed: metric('RotationPendingAgeSeconds', 'changed', 'Maximum'),
      disabled: metric('RotationPendingAgeSeconds', 'endpoint_disabled', 'Maximum'),
      second: metric('RotationPendingAgeSeconds', 'second_writer', 'Maximum'),
    }),
    threshold: 3600,
    ...atLeastOnce,
  });
  relay.addAlarm(scope, 'DuplicateEndpoints', {
    alarmDescription: `heygen-relay: endpoints at the relay URL keep reappearing at ${who} (deleted as duplicates in two hourly runs in a row); something else registers this URL`,
    metric: metric('DuplicateEndpointsDeleted', 'changed', 'Sum'),
    threshold: 1,
    ...atLeastOnce,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
  });
}
