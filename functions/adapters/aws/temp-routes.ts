/**
 * Temporary routes on the relay's bus: a rule and the SQS queue it feeds, created by the CLI's
 * `listen` (to print live events) and `replay` (to catch a replay's events before they go into a
 * relay queue). One implementation for the CLI (bin/commands/listen.ts, replay.ts, status.ts) and
 * the construct's scheduled sweeper (functions/entries/temp-route-sweeper.ts).
 *
 * Nothing outlives its owner for long, even a process killed with SIGKILL:
 * - both are named `heygen-relay-<kind>-<id>` and tagged `heygen-relay:expires` = an ISO time a
 *   short lease ahead (`ttlSeconds`), which the owner renews every third of it while it runs, and
 *   `heygen-relay:bus` = the bus they belong to (both tags are set in the creating call itself);
 * - the owner removes both on exit (and on SIGINT/SIGTERM, see bin/commands/listen.ts);
 * - every `listen`, `replay` and `status`, and the relay's sweeper Lambda every 15 minutes, sweep
 *   the bus: a temporary rule or queue whose lease ran out (its owner is gone) is removed (targets,
 *   rule, queue);
 * - the queue keeps a message at most an hour (MessageRetentionPeriod), so a leftover holds
 *   nothing for long and costs nothing at rest.
 *
 * Only what is temporary is ever removed: the name has a temporary prefix AND the resource carries
 * both tags, with `heygen-relay:bus` naming this bus and a parsable `heygen-relay:expires` in the
 * past (by more than `graceMs`). A rule or queue that merely shares the prefix is left alone.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteRuleCommand,
  type EventBridgeClient,
  ListRulesCommand,
  ListTagsForResourceCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type Rule,
  TagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';

import { BUS_TAG, EXPIRES_TAG, TEMP_KINDS, type TempKind, tempRoutePrefix } from '../../core/temp-route-names.js';

export { BUS_TAG, EXPIRES_TAG, TEMP_KINDS, type TempKind, tempRoutePrefix };

const TARGET_ID = 'heygen-relay-temp';

/** The clients and clock the routes are handled with (the CLI's Ctx is one). */
export interface TempRouteDeps {
  eb(): EventBridgeClient;
  sqs(): SQSClient;
  now(): number;
}

export interface TempRoute {
  readonly name: string;
  readonly busName: string;
  readonly ruleArn: string;
  readonly queueUrl: string;
  readonly queueArn: string;
}

const expiry = (deps: TempRouteDeps, ttlSeconds: number) => new Date(deps.now() + ttlSeconds * 1000).toISOString();

/** Every rule of the bus, optionally only those whose name starts with `namePrefix`. */
export async function listRules(eb: EventBridgeClient, busName: string, namePrefix?: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let next: string | undefined;
  do {
    const page = await eb.send(
      new ListRulesCommand({ EventBusName: busName, NextToken: next, ...(namePrefix ? { NamePrefix: namePrefix } : {}) }),
    );
    rules.push(...(page.Rules ?? []));
    next = page.NextToken;
  } while (next);
  return rules;
}

export async function createTempRoute(
  deps: TempRouteDeps,
  input: { busName: string; kind: TempKind; pattern: Record<string, unknown>; ttlSeconds: number; suffix?: string },
): Promise<TempRoute> {
  const name = `${tempRoutePrefix(input.kind)}${randomBytes(5).toString('hex')}${input.suffix ?? ''}`.slice(0, 64);
  const tags = { [EXPIRES_TAG]: expiry(deps, input.ttlSeconds), [BUS_TAG]: input.busName };
  // The rule first (its ARN goes into the queue policy), with no target yet: a crash right here
  // leaves a rule that delivers nowhere, tagged to expire.
  const rule = await deps.eb().send(
    new PutRuleCommand({
      Name: name,
      EventBusName: input.busName,
      EventPattern: JSON.stringify(input.pattern),
      State: 'ENABLED',
      Description: `heygen-relay temporary ${input.kind} route (removed on exit, or by the next sweep once ${EXPIRES_TAG} has passed)`,
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
  const { QueueUrl } = await deps.sqs().send(
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
  const attrs = await deps.sqs().send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attrs.Attributes?.QueueArn ?? '';
  await deps
    .eb()
    .send(new PutTargetsCommand({ Rule: name, EventBusName: input.busName, Targets: [{ Id: TARGET_ID, Arn: queueArn }] }));
  return { name, busName: input.busName, ruleArn, queueUrl: QueueUrl, queueArn };
}

/** Pushes the route's expiry `ttlSeconds` ahead (the owner is alive). */
export async function renewTempRoute(deps: TempRouteDeps, route: TempRoute, ttlSeconds: number): Promise<void> {
  const value = expiry(deps, ttlSeconds);
  await Promise.all([
    deps.eb().send(new TagResourceCommand({ ResourceARN: route.ruleArn, Tags: [{ Key: EXPIRES_TAG, Value: value }] })),
    deps.sqs().send(new TagQueueCommand({ QueueUrl: route.queueUrl, Tags: { [EXPIRES_TAG]: value } })),
  ]);
}

const isMissing = (err: unknown) =>
  /NonExistentQueue|QueueDoesNotExist|ResourceNotFound/.test(`${(err as Error).name} ${(err as Error).message}`);

/** The call's answer, or undefined when what it names no longer exists. */
async function tolerateMissing<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function removeRule(deps: TempRouteDeps, busName: string, name: string): Promise<void> {
  try {
    await deps.eb().send(new RemoveTargetsCommand({ Rule: name, EventBusName: busName, Ids: [TARGET_ID], Force: true }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  try {
    await deps.eb().send(new DeleteRuleCommand({ Name: name, EventBusName: busName, Force: true }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

async function removeQueue(deps: TempRouteDeps, url: string): Promise<void> {
  try {
    await deps.sqs().send(new DeleteQueueCommand({ QueueUrl: url }));
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

/** Removes the route: the rule's target, the rule, the queue. Idempotent. */
export async function removeTempRoute(deps: TempRouteDeps, route: TempRoute): Promise<void> {
  await removeRule(deps, route.busName, route.name);
  await removeQueue(deps, route.queueUrl);
}

export interface SweepResult {
  /** Temporary routes removed because their owner is gone (lease expired). */
  readonly removed: string[];
  /** Temporary routes whose owner is still alive (a listen or replay running now). */
  readonly live: string[];
}

export interface SweepOptions {
  /**
   * How long past its `heygen-relay:expires` a route is still left alone: room for the clock of
   * the machine that renews it (an operator's laptop) running behind the sweeper's. @default 0
   */
  readonly graceMs?: number;
}

type Tags = Record<string, string | undefined>;

/**
 * What a route's tags say: `foreign` (not a temporary route of this bus: never touched), `live`
 * (its lease has not run out) or `expired`.
 */
function leaseOf(tags: Tags, busName: string, now: number, graceMs: number): 'foreign' | 'live' | 'expired' {
  const at = Date.parse(tags[EXPIRES_TAG] ?? '');
  if (tags[BUS_TAG] !== busName || Number.isNaN(at)) return 'foreign';
  return at + graceMs < now ? 'expired' : 'live';
}

/** Removes every temporary route of the bus whose lease has run out (and nothing else). */
export async function sweepTempRoutes(deps: TempRouteDeps, busName: string, options: SweepOptions = {}): Promise<SweepResult> {
  const removed: string[] = [];
  const live: string[] = [];
  const now = deps.now();
  const graceMs = options.graceMs ?? 0;
  const seen = new Set<string>();
  for (const kind of TEMP_KINDS) {
    for (const rule of await listRules(deps.eb(), busName, tempRoutePrefix(kind))) {
      if (!rule.Name || !rule.Arn) continue;
      // Someone else (its owner exiting, another sweep) may remove it at any point from here on.
      const tags = await tolerateMissing(deps.eb().send(new ListTagsForResourceCommand({ ResourceARN: rule.Arn })));
      if (tags === undefined) continue; // gone already: its queue, if left, is found by name below
      seen.add(rule.Name);
      const lease = leaseOf(Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key ?? '', t.Value])), busName, now, graceMs);
      if (lease === 'foreign') continue;
      if (lease === 'live') {
        live.push(rule.Name);
        continue;
      }
      await removeRule(deps, busName, rule.Name);
      try {
        const { QueueUrl } = await deps.sqs().send(new GetQueueUrlCommand({ QueueName: rule.Name }));
        // The queue of the same name is removed only if it is this bus's temporary queue too.
        if (QueueUrl) {
          const queueTags = (await deps.sqs().send(new ListQueueTagsCommand({ QueueUrl }))).Tags ?? {};
          if (leaseOf(queueTags, busName, now, graceMs) !== 'foreign') await removeQueue(deps, QueueUrl);
        }
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      removed.push(rule.Name);
    }
    // A queue whose rule is already gone (its owner died while removing them).
    let next: string | undefined;
    do {
      const page = await deps.sqs().send(new ListQueuesCommand({ QueueNamePrefix: tempRoutePrefix(kind), NextToken: next }));
      for (const url of page.QueueUrls ?? []) {
        const name = url.split('/').pop() ?? '';
        if (seen.has(name)) continue;
        // ListQueues may still list a queue deleted in the last minute (or just now, concurrently).
        const listed = await tolerateMissing(deps.sqs().send(new ListQueueTagsCommand({ QueueUrl: url })));
        if (listed === undefined || leaseOf(listed.Tags ?? {}, busName, now, graceMs) !== 'expired') continue;
        await removeQueue(deps, url);
        removed.push(name);
      }
      next = page.NextToken;
    } while (next);
  }
  return { removed, live };
}
