import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { HeyGenRelay, type HeyGenRelayProps } from './heygen-relay.js';

export interface HeyGenRelayStackProps extends StackProps {
  /** Configuration of the relay. @default the relay's defaults */
  readonly relay?: HeyGenRelayProps;
}

/** The stack `bin/app.ts` deploys: one HeyGenRelay. */
export class HeyGenRelayStack extends Stack {
  public readonly relay: HeyGenRelay;
  constructor(scope: Construct, id: string, props: HeyGenRelayStackProps = {}) {
    super(scope, id, { description: 'heygen-relay: verified HeyGen webhook intake to EventBridge and SQS', ...props });
    this.relay = new HeyGenRelay(this, 'Relay', props.relay);
  }
}
