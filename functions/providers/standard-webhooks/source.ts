/**
 * A Standard Webhooks sender's part of the relay's infrastructure (a source, lib/source.ts): its
 * signing secret and route, an alarm set, an output. No management API, so no registrar: the
 * operator puts the sender's `whsec_...` secret into the secret (AWSCURRENT; during a rotation the
 * new one into AWSPENDING: both are accepted). CDK code: never imported by the Lambda functions.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { RelayConfigError } from '../../../lib/config.js';
import { type BoundSource, type RelayCore, RelaySource, type SourceProps } from '../../../lib/source.js';
import type { DedupMode } from '../../core/ports.js';

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
}

/**
 * A Standard Webhooks sender (Svix-powered services, Replicate, ...):
 * `new StandardWebhooksSource({ id: 'replicate' })` receives at `/replicate`.
 */
export class StandardWebhooksSource extends RelaySource<BoundSource> {
  constructor(private readonly props: StandardWebhooksSourceProps = {}) {
    super('standard-webhooks', props, 'Standard Webhooks');
    const tolerance = props.timestampTolerance?.toSeconds();
    if (tolerance !== undefined && tolerance > 3600)
      throw new RelayConfigError(`${this.id}.timestampTolerance must be at most an hour: the timestamp is the replay defence`);
  }

  protected build(relay: RelayCore, scope: Construct): BoundSource {
    const signingSecret = this.signingSecretOr(
      this.props.signingSecret,
      scope,
      'StandardWebhooksSigningSecret',
      `Standard Webhooks signing secret of source ${this.id} (put the sender's whsec_... as {"secret":"..."})`,
    );
    const route = this.route(relay, signingSecret, {
      tolerance: this.props.timestampTolerance ?? Duration.seconds(300),
      dedupMode: this.dedupMode(this.props.dedupMode),
    });
    const webhookUrl = this.webhookUrl(relay);
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
