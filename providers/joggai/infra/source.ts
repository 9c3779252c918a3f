/**
 * JoggAI's part of the relay's infrastructure (a source, lib/source.ts): its signing secret, its
 * route (with `<path>/<segment>` for rotation endpoints), the registrar with its API-key secret
 * (providers/joggai/infra/registrar.ts), their alarms and outputs. CDK code: never imported by the Lambda functions.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { JOGGAI_REGISTRAR_SERVICE, METRICS_NAMESPACE } from '../../../functions/core/observability-names.js';
import type { DedupMode } from '../../../functions/core/ports.js';
import { EMPTY_API_KEY } from '../../../lib/config.js';
import { type BoundSource, type RegistrationProps, type RelayCore, RelaySource, type SourceProps } from '../../../lib/source.js';
import { JoggAiRegistrar } from './registrar.js';

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
   * @default '/joggai' (a source with an id: `/<id>`)
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

export interface JoggAiSourceProps extends JoggAiProviderProps, SourceProps {}

export interface BoundJoggAiSource extends BoundSource {
  /** The registrar (registration and rotation by overlap), unless `registration` is false. */
  readonly registrar?: JoggAiRegistrar;
  /** The secret holding the API key the registrar reads: set with the registrar. */
  readonly apiKeySecret?: secretsmanager.ISecret;
}

/** A JoggAI account feeding the relay (several: give each further one an `id`). */
export class JoggAiSource extends RelaySource<BoundJoggAiSource> {
  /** "Maximum 3 retry attempts", "5 second delay between retries" (JoggAI's v1 guide; v2's gives no schedule), each attempt up to 5 s. */
  public readonly retryHorizon = Duration.minutes(1);

  constructor(private readonly props: JoggAiSourceProps = {}) {
    super('joggai', props, 'JoggAI');
  }

  protected build(relay: RelayCore, scope: Construct): BoundJoggAiSource {
    const { signingSecret, route, webhookUrl } = this.intake(relay, scope, this.props, {
      secretId: 'JoggAiSigningSecret',
      description: 'JoggAI webhook signing secret (the endpoint secret JoggAI shows once registered)',
      acceptSubpaths: true,
    });
    const registration = this.props.registration;
    const { apiKeySecret, registrar } =
      registration === false ? {} : this.registration(relay, scope, registration ?? {}, { signingSecret, webhookUrl });
    const bound = {
      route,
      webhookUrl,
      signingSecret,
      ...(apiKeySecret ? { apiKeySecret } : {}),
      ...(registrar ? { registrar } : {}),
      dashboard: {
        registrars: registrar ? [{ label: this.label, service: this.registrarService() }] : [],
      },
    };
    this.sourceAlarms(relay);
    if (registrar) this.registrarAlarms(relay, scope);
    relay.addOutput(this.outputName('JoggAiWebhookUrl'), { value: webhookUrl, description: 'Register this URL with JoggAI' });
    if (apiKeySecret)
      relay.addOutput(this.outputName('JoggAiApiKeySecretArn'), {
        value: apiKeySecret.secretArn,
        description: 'Put the JoggAI API key here',
      });
    relay.addOutput(this.outputName('JoggAiSigningSecretArn'), {
      value: signingSecret.secretArn,
      description: 'Put the JoggAI endpoint secret here ({"secret":"..."})',
    });
    this.acknowledge(bound);
    return bound;
  }

  /** The registrar, and the API-key secret it reads (the one given, or one created empty). */
  private registration(
    relay: RelayCore,
    scope: Construct,
    registration: JoggAiRegistrationProps,
    secrets: { signingSecret: secretsmanager.ISecret; webhookUrl: string },
  ): { apiKeySecret: secretsmanager.ISecret; registrar: JoggAiRegistrar } {
    const apiKeySecret =
      this.props.apiKeySecret ??
      this.emptySecret(
        scope,
        'JoggAiApiKey',
        'JoggAI API key for the registrar (put-secret-value with {"apiKey":"..."})',
        EMPTY_API_KEY,
      );
    const props = this.registrarProps(relay, registration, { ...secrets, apiKeySecret }, this.registrarService());
    return { apiKeySecret, registrar: new JoggAiRegistrar(scope, 'JoggAiRegistrar', props) };
  }

  private registrarService(): string {
    return this.serviceName(JOGGAI_REGISTRAR_SERVICE);
  }

  /** A registrar that keeps failing (JoggAI down, the API key refused), and outcomes no retry fixes. */
  private registrarAlarms(relay: RelayCore, scope: Construct): void {
    const runs = (outcome: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'RegistrarRuns',
        dimensionsMap: { service: this.registrarService(), provider: 'joggai', Outcome: outcome },
        statistic: 'Sum',
        period: Duration.hours(1),
      });
    this.registrarRunAlarms(relay, scope, 'JoggAi', runs);
  }

  /** cdk-nag acknowledgements of this source's secrets, each with its reason. */
  private acknowledge(bound: BoundJoggAiSource): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    if (bound.signingSecret instanceof secretsmanager.Secret)
      ack(
        bound.signingSecret,
        'AwsSolutions::AwsSolutions-SMG4',
        bound.registrar
          ? 'JoggAI cannot change an endpoint secret, so Secrets Manager rotation does not apply: the JoggAI registrar rotates on its own schedule by overlapping a second endpoint.'
          : 'JoggAI registration is disabled: the endpoint and its secret are managed by the operator (JoggAI cannot change a secret in place).',
      );
    if (bound.apiKeySecret instanceof secretsmanager.Secret)
      ack(
        bound.apiKeySecret,
        'AwsSolutions::AwsSolutions-SMG4',
        "The JoggAI API key is issued in JoggAI's dashboard; Secrets Manager cannot rotate it. Replace it with put-secret-value.",
      );
  }
}
