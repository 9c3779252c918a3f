/**
 * The relay's queues as the deployed bus shows them, so redrive, replay, listen and status need
 * nothing but the bus name (the stack's `EventBusName` output): every relay queue is the target of a
 * bus rule described `heygen-relay: <name> queue` (lib/heygen-relay.ts); its dead-letter queue is
 * in the queue's RedrivePolicy, and the bus targets' own dead-letter queue in the target's
 * DeadLetterConfig. The archive is the one whose source is the bus.
 */
import {
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  ListArchivesCommand,
  ListTargetsByRuleCommand,
  type Rule,
} from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { listRules as listBusRules } from '../../functions/adapters/aws/temp-routes.js';
import type { Ctx } from './shared.js';
import { UsageError } from './shared.js';

export interface QueueRef {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

export interface RelayQueueInfo {
  /** The relay's name for it: `all` (the default queue) or a route's name. */
  readonly route: string;
  readonly queue: QueueRef;
  readonly deadLetterQueue?: QueueRef;
  readonly ruleName: string;
  readonly ruleArn: string;
  readonly eventPattern: Record<string, unknown>;
}

export interface RelayTopology {
  readonly busName: string;
  readonly busArn: string;
  readonly queues: readonly RelayQueueInfo[];
  /** Where the bus puts events it could not deliver to a queue (the rule targets' DeadLetterConfig). */
  readonly targetDeadLetterQueue?: QueueRef;
  readonly archive?: { readonly name: string; readonly arn: string };
  /** Every event source the relay's rules route (`heygen`, `joggai`). */
  readonly sources: readonly string[];
}

const RULE_DESCRIPTION = /^heygen-relay: (.+) queue$/;

/** Every rule of the bus (optionally by name prefix): the one listing the temporary routes' sweep uses too. */
export function listRules(ctx: Ctx, busName: string, namePrefix?: string): Promise<Rule[]> {
  return listBusRules(ctx.eb(), busName, namePrefix);
}

/** `arn:aws:sqs:region:account:name` to its URL and parts. */
export async function queueFromArn(ctx: Ctx, arn: string): Promise<QueueRef> {
  const parts = arn.split(':');
  const name = parts[5] ?? '';
  const account = parts[4];
  const { QueueUrl } = await ctx.sqs().send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
  if (!QueueUrl) throw new Error(`no URL for queue ${arn}`);
  return { name, url: QueueUrl, arn };
}

export async function discoverTopology(ctx: Ctx, busName: string): Promise<RelayTopology> {
  const bus = await ctx.eb().send(new DescribeEventBusCommand({ Name: busName }));
  const busArn = bus.Arn ?? '';
  const rules = (await listRules(ctx, busName)).filter((r) => RULE_DESCRIPTION.test(r.Description ?? ''));
  const queues: RelayQueueInfo[] = [];
  let targetDeadLetterQueue: QueueRef | undefined;
  const sources = new Set<string>();
  for (const rule of rules) {
    const route = RULE_DESCRIPTION.exec(rule.Description ?? '')?.[1] ?? '';
    const pattern = JSON.parse(rule.EventPattern ?? '{}') as Record<string, unknown>;
    for (const s of (pattern.source as unknown[] | undefined) ?? []) if (typeof s === 'string') sources.add(s);
    const targets = await ctx.eb().send(new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: busName }));
    for (const t of targets.Targets ?? []) {
      if (!t.Arn?.startsWith('arn:') || t.Arn.split(':')[2] !== 'sqs') continue;
      const queue = await queueFromArn(ctx, t.Arn);
      if (t.DeadLetterConfig?.Arn && !targetDeadLetterQueue)
        targetDeadLetterQueue = await queueFromArn(ctx, t.DeadLetterConfig.Arn);
      const attrs = await ctx
        .sqs()
        .send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['RedrivePolicy'] }));
      const redrive = attrs.Attributes?.RedrivePolicy
        ? (JSON.parse(attrs.Attributes.RedrivePolicy) as { deadLetterTargetArn?: string })
        : undefined;
      queues.push({
        route,
        queue,
        ...(redrive?.deadLetterTargetArn ? { deadLetterQueue: await queueFromArn(ctx, redrive.deadLetterTargetArn) } : {}),
        ruleName: rule.Name ?? '',
        ruleArn: rule.Arn ?? '',
        eventPattern: pattern,
      });
    }
  }
  const archives = await ctx.eb().send(new ListArchivesCommand({ EventSourceArn: busArn }));
  const archive = (archives.Archives ?? []).find((a) => a.EventSourceArn === busArn && a.ArchiveName);
  const archiveArn = archive?.ArchiveName
    ? (await ctx.eb().send(new DescribeArchiveCommand({ ArchiveName: archive.ArchiveName }))).ArchiveArn
    : undefined;
  queues.sort((a, b) => (a.route === 'all' ? -1 : b.route === 'all' ? 1 : a.route.localeCompare(b.route)));
  return {
    busName,
    busArn,
    queues,
    ...(targetDeadLetterQueue ? { targetDeadLetterQueue } : {}),
    ...(archive?.ArchiveName && archiveArn ? { archive: { name: archive.ArchiveName, arn: archiveArn } } : {}),
    sources: [...sources].sort(),
  };
}

/** The queues `--queue NAME` (a route name, or the SQS queue's name) or `--all` select. */
export function selectQueues(topology: RelayTopology, queue: string | undefined, all: boolean | undefined): RelayQueueInfo[] {
  if (queue && all) throw new UsageError('pass --queue NAME or --all, not both');
  if (!queue) {
    if (topology.queues.length === 0) throw new UsageError(`no relay queues on bus ${topology.busName}`);
    return [...topology.queues];
  }
  const hit = topology.queues.filter((q) => q.route === queue || q.queue.name === queue);
  if (hit.length === 0)
    throw new UsageError(
      `no relay queue named ${JSON.stringify(queue)}; known: ${topology.queues.map((q) => q.route).join(', ')}`,
    );
  return hit;
}
