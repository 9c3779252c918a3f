/**
 * Temporary routes on the relay's bus: a rule and the SQS queue it feeds, created by `listen` (to
 * print live events) and `replay` (to catch a replay's events before they go into a relay queue).
 *
 * Nothing outlives its owner for long, even a process killed with SIGKILL:
 * - both are named `heygen-relay-<kind>-<id>` and tagged `heygen-relay:expires` = an ISO time a
 *   short lease ahead (`ttlSeconds`), which the owner renews every third of it while it runs;
 * - the owner removes both on exit (and on SIGINT/SIGTERM, see listen.ts);
 * - every `listen`, `replay` and `status` first sweeps the bus: a temporary rule or queue whose
 *   lease ran out (its owner is gone) is removed (targets, rule, queue);
 * - the queue keeps a message at most an hour (MessageRetentionPeriod), so a leftover holds
 *   nothing for long and costs nothing at rest.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteRuleCommand,
  ListTagsForResourceCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import type { Ctx } from './shared.js';
import { listRules } from './topology.js';

export type TempKind = 'listen' | 'replay';
export const EXPIRES_TAG = 'heygen-relay:expires';
const KINDS: readonly TempKind[] = ['listen', 'replay'];
const TARGET_ID = 'heygen-relay-temp';

export interface TempRoute {
  readonly name: string;
  readonly busName: string;
  readonly ruleArn: string;
  readonly queueUrl: string;
  readonly queueArn: string;
}

const expiry = (ctx: Ctx, ttlSeconds: number) => new Date(ctx.now() + ttlSeconds * 1000).toISOString();

export async function createTempRoute(
  ctx: Ctx,
  input: { busName: string; kind: TempKind; pattern: Record<string, unknown>; ttlSeconds: number; suffix?: string },
): Promise<TempRoute> {
  const name = `heygen-relay-${input.kind}-${randomBytes(5).toString('hex')}${input.suffix ?? ''}`.slice(0, 64);
  const tags = { [EXPIRES_TAG]: expiry(ctx, input.ttlSeconds), 'heygen-relay:bus': input.busName };
  // The rule first (its ARN goes into the queue policy), with no target yet: a crash right here
  // leaves a rule that delivers nowhere, tagged to expire.
  const rule = await ctx.eb().send(
    new PutRuleCommand({
      Name: name,
      EventBusName: input.busName,
      EventPattern: JSON.stringify(input.pattern),
      State: 'ENABLED',
      Description: `heygen-relay temporary ${input.kind} route (removed on exit, or by the next listen/replay/status once ${EXPIRES_TAG} has passed)`,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const ruleArn = rule.RuleArn ?? '';
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FromItsRule',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: '*',
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      },
    ],
  };
  const { QueueUrl } = await ctx.sqs().send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        MessageRetentionPeriod: '3600',
        SqsManagedSseEnabled: 'true',
        VisibilityTimeout: '30',
        Policy: JSON.stringify(policy),
      },
      tags,
    }),
  );
  if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  const attrs = await ctx.sqs().send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attrs.Attributes?.QueueArn ?? '';
  await ctx
    .eb()
    .send(new PutTargetsCommand({ Rule: name, EventBusName: input.busName, Targets: [{ Id: TARGET_ID, Arn: queueArn }] }));
  return { name, busName: input.busName, ruleArn, queueUrl: QueueUrl, queueArn };
}

/** Pushes the route's expiry `ttlSeconds` ahead (the owner is alive). */
export async function renewTempRoute(ctx: Ctx, route: TempRoute, ttlSeconds: number): Promise<void> {
  const value = expiry(ctx, ttlSeconds);
  await Promise.all([
    ctx.eb().send(new TagResourceCommand({ ResourceARN: route.ruleArn, Tags: [{ Key: EXPIRES_TAG, Value: value }] })),
    ctx.sqs().send(new TagQueueCommand({ QueueUrl: route.queueUrl, Tags: { [EXPIRES_TAG]: value } })),
  ]);
}

const isMissing = (err: unknown) =>
  /NonExistentQueue|QueueDoesNotExist|ResourceNotFound/.test(`${(err as Error).name} ${(err as Error).message}`);

async function removeRule(ctx: Ctx, busName: string, name: string): Promise<void> {
  try {
    await ctx.eb().send(new RemoveTargetsCommand({ Rule: name, EventBusName: busName, Ids: [TARGET_ID], Force: true }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  try {
    await ctx.eb().send(new DeleteRuleCommand({ Name: name, EventBusName: busName, Force: true }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

async function removeQueue(ctx: Ctx, url: string): Promise<void> {
  try {
    await ctx.sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Removes the route: the rule's target, the rule, the queue. Idempotent. */
export async function removeTempRoute(ctx: Ctx, route: TempRoute): Promise<void> {
  await removeRule(ctx, route.busName, route.name);
  await removeQueue(ctx, route.queueUrl);
}

export interface SweepResult {
  /** Temporary routes removed because their owner is gone (lease expired). */
  readonly removed: string[];
  /** Temporary routes whose owner is still alive (a listen or replay running now). */
  readonly live: string[];
}

/** Removes every temporary route of the bus whose lease has run out. */
export async function sweepTempRoutes(ctx: Ctx, busName: string): Promise<SweepResult> {
  const removed: string[] = [];
  const live: string[] = [];
  const now = ctx.now();
  const expired = (tags: Record<string, string | undefined>) => {
    const at = Date.parse(tags[EXPIRES_TAG] ?? '');
    return Number.isNaN(at) || at < now;
  };
  const seen = new Set<string>();
  for (const kind of KINDS) {
    for (const rule of await listRules(ctx, busName, `heygen-relay-${kind}-`)) {
      if (!rule.Name || !rule.Arn) continue;
      seen.add(rule.Name);
      const tags = await ctx.eb().send(new ListTagsForResourceCommand({ ResourceARN: rule.Arn }));
      const map = Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key ?? '', t.Value]));
      if (!expired(map)) {
        live.push(rule.Name);
        continue;
      }
      await removeRule(ctx, busName, rule.Name);
      try {
        const { QueueUrl } = await ctx.sqs().send(new GetQueueUrlCommand({ QueueName: rule.Name }));
        if (QueueUrl) await removeQueue(ctx, QueueUrl);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      removed.push(rule.Name);
    }
    // A queue whose rule is already gone (its owner died while removing them).
    let next: string | undefined;
    do {
      const page = await ctx.sqs().send(new ListQueuesCommand({ QueueNamePrefix: `heygen-relay-${kind}-`, NextToken: next }));
      for (const url of page.QueueUrls ?? []) {
        const name = url.split('/').pop() ?? '';
        if (seen.has(name)) continue;
        const tags = (await ctx.sqs().send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
        if (tags['heygen-relay:bus'] !== busName || !expired(tags)) continue;
        await removeQueue(ctx, url);
        removed.push(name);
      }
      next = page.NextToken;
    } while (next);
  }
  return { removed, live };
}
