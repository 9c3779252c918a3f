/**
 * A Standard Webhooks sender's part of the relay's infrastructure (a source, lib/source.ts): its
 * signing secret and route, an alarm set, an output. No management API, so no registrar: the
 * operator puts the sender's `whsec_...` secret into the secret (AWSCURRENT; during a rotation the
 * new one into AWSPENDING: both are accepted). CDK code: never imported by the Lambda functions.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DedupMode } from '../../../functions/core/ports.js';
import { RelayConfigError } from '../../../lib/config.js';
import { type BoundSource, type RelayCore, RelaySource, type SourceProps } from '../../../lib/source.js';
import { type StandardWebhooksBodyRule, standardWebhooksBodyRule } from '../runtime/index.js';

export interface StandardWebhooksSourceProps extends SourceProps {
  /**
   * The secret holding the sender's `whsec_...` signing secret (plain string, or JSON `{"secret": "..."}`).
   * @default a new secret, created empty (`{"secret":null}`): the relay answers 503 until you put it
   */
  readonly signingSecret?: secretsmanager.ISecret;
  /**
   * Reject deliveries whose signed `webhook-timestamp` is further than this from now (the replay
   * defence). `Duration.seconds(0)` turns the check off. @default Duration.seconds(300), the spec library's
   */
  readonly timestampTolerance?: Duration;
  /** @default 'claim' */
  readonly dedupMode?: DedupMode;
  /**
   * The body's top-level field holding the event type, for senders that sign per the spec but do not
   * post its `{ "type", "timestamp", "data" }` (Replicate: `'status'`). A body without it (a
   * non-empty string) is answered 400 `missing_event_type`. @default 'type'
   */
  readonly typeField?: string;
  /** Put before the type field's value with a dot (Replicate: `'prediction'`, giving `prediction.succeeded`). @default none */
  readonly typePrefix?: string;
  /** The body's top-level field holding the event data; `null`: the whole body is the data (Replicate). @default 'data' */
  readonly dataField?: string | null;
  /** The data's field holding the subject's id. @default 'id', then `<subjectKind>_id` */
  readonly subjectIdField?: string;
  /** The subject's kind. @default the event type up to its first dot */
  readonly subjectKind?: string;
  /**
   * How long the sender retries a failed delivery (Svix's schedule: 27 h 35 min); the relay warns when
   * its `dedupWindow` does not outlive it. @default the spec's example schedule, last attempt at 75:35:05
   */
  readonly retryHorizon?: Duration;
}

/**
 * A Standard Webhooks sender (Svix-powered services, Replicate, ...):
 * `new StandardWebhooksSource({ id: 'replicate' })` receives at `/replicate`; a sender posting its
 * own body shape says where the type, data and subject are, e.g. Replicate's prediction object:
 * `{ typeField: 'status', typePrefix: 'prediction', dataField: null }`.
 */
export class StandardWebhooksSource extends RelaySource<BoundSource> {
  /** How the ingress reads this sender's bodies (RELAY_PROVIDERS `options`); undefined: the spec's shape. */
  private readonly bodyRule?: StandardWebhooksBodyRule;
  public readonly retryHorizon: Duration;

  constructor(private readonly props: StandardWebhooksSourceProps = {}) {
    super('standard-webhooks', props, 'Standard Webhooks');
    this.retryHorizon = props.retryHorizon ?? Duration.seconds(75 * 3600 + 35 * 60 + 5);
    const tolerance = props.timestampTolerance?.toSeconds();
    if (tolerance !== undefined && tolerance > 3600)
      throw new RelayConfigError(`${this.id}.timestampTolerance must be at most an hour: the timestamp is the replay defence`);
    const rule = Object.fromEntries(
      (['typeField', 'typePrefix', 'dataField', 'subjectIdField', 'subjectKind'] as const)
        .filter((key) => props[key] !== undefined)
        .map((key) => [key, props[key]]),
    );
    if (Object.keys(rule).length > 0) {
      try {
        this.bodyRule = standardWebhooksBodyRule(rule);
      } catch (err) {
        throw new RelayConfigError(`${this.id}.${(err as Error).message}`);
      }
    }
  }

  protected build(relay: RelayCore, scope: Construct): BoundSource {
    const intake = this.intake(relay, scope, this.props, {
      secretId: 'StandardWebhooksSigningSecret',
      description: `Standard Webhooks signing secret of source ${this.id} (put the sender's whsec_... as {"secret":"..."})`,
    });
    const { signingSecret, webhookUrl } = intake;
    const route = { ...intake.route, ...(this.bodyRule ? { options: { ...this.bodyRule } } : {}) };
    this.sourceAlarms(relay);
    relay.addOutput(this.outputName('StandardWebhooksWebhookUrl'), {
      value: webhookUrl,
      description: `Give this URL to the sender (${this.id})`,
    });
    relay.addOutput(this.outputName('StandardWebhooksSigningSecretArn'), {
      value: signingSecret.secretArn,
      description: `Put the sender's whsec_ secret here ({"secret":"..."}); AWSPENDING for a rotation`,
    });
    Validations.of(signingSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The Standard Webhooks secret is issued by the sender; Secrets Manager cannot rotate it there. Put the new one into AWSPENDING (both are accepted), then promote it.',
    });
    return { route, webhookUrl, signingSecret };
  }
}
