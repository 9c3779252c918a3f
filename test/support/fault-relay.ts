/**
 * The relay's stack in moto as the on-the-wire tests set it up: provisioned from the synthesized
 * template with the HeyGen signing secret stored, the fault proxy (test/integration/fault-proxy.ts)
 * between the ingress and moto, and a collector draining every queue with the default queue (the
 * one whose rule matches every detail-type) named.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { inject } from 'vitest';
import { FaultProxy } from '../integration/fault-proxy.js';
import { type EmulatorStack, provisionFromTemplate, QueueCollector, synthesizeRelayTemplate } from './emulator-stack.js';

/** The default relay template in moto, its HeyGen signing secret set to `secret` for endpoint `endpointId`. */
export async function relayStackWithSecret(secret: string, endpointId: string): Promise<EmulatorStack> {
  const stack = await provisionFromTemplate(synthesizeRelayTemplate(), inject('motoEndpoint'));
  await stack.clients.sm.send(
    new PutSecretValueCommand({
      SecretId: stack.signingSecretArn,
      SecretString: JSON.stringify({ secret, endpointId, url: 'https://x/heygen' }),
    }),
  );
  return stack;
}

export interface FaultedRelay {
  readonly proxy: FaultProxy;
  readonly collector: QueueCollector;
  /** The logical id of the queue whose rule has no detail-type filter (it receives every event). */
  readonly defaultQueueId: string;
}

/** Starts the fault proxy in front of the stack's moto and a collector on all its queues. */
export async function behindFaultProxy(stack: EmulatorStack): Promise<FaultedRelay> {
  const dq = Object.values(stack.queues).find((q) =>
    stack.rules.some((r) => r.targetQueues.includes(q.logicalId) && !r.eventPattern['detail-type']),
  );
  if (!dq) throw new Error('no default queue in the template');
  const proxy = await new FaultProxy(stack.endpoint).start();
  const collector = new QueueCollector(
    stack.clients.sqs,
    Object.fromEntries(Object.values(stack.queues).map((q) => [q.logicalId, q.url])),
  ).start();
  return { proxy, collector, defaultQueueId: dq.logicalId };
}

/** Stops what behindFaultProxy / relayStackWithSecret started (either may be unset if setup failed). */
export async function stopFaultedRelay(proxy: { stop(): Promise<void> } | undefined, stack: EmulatorStack | undefined) {
  await proxy?.stop();
  stack?.destroy();
}
