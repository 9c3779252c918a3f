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
