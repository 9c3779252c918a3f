import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HeyGenRelayStack, type HeyGenRelayStackProps } from '../../lib/relay-stack.js';

/** Synthesizes the relay stack without bundling (fast); `bundle: true` runs esbuild like `cdk synth`. */
export function synthRelay(props: HeyGenRelayStackProps = {}, options: { bundle?: boolean } = {}) {
  const app = new App({ context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new HeyGenRelayStack(app, 'TestRelay', {
    env: { account: '123456789012', region: 'us-east-1' },
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The ingress's RELAY_PROVIDERS as the template sets it (token references stand in as `REF`). */
export function relayProviders(template: Template): {
  name: string;
  path: string;
  timestampToleranceSeconds: number;
  acceptSubpaths?: boolean;
  dedupMode?: string;
  secretId: unknown;
}[] {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find(
    (f) => f.Properties.Environment?.Variables?.RELAY_PROVIDERS,
  );
  const raw = fn?.Properties.Environment.Variables.RELAY_PROVIDERS;
  // toJsonString renders tokens as Fn::Join; join the literal parts and stand in for the references.
  const text =
    typeof raw === 'string' ? raw : (raw['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  return JSON.parse(text);
}
