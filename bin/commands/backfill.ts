/**
 * `heygen-relay backfill`: wiring only. The command's logic is in bin/commands/backfill-run.ts, shared
 * with the scheduled backfill's path.
 */
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import {
  acknowledgeGaps,
  backfillCommand,
  backfillSince,
  describeBackfill,
  describeUncovered,
  parseDuration,
} from './backfill-run.js';
import { API_URL_HELP, requireHeyGenClient, secretSetup } from './heygen-common.js';
import { type CliIo, Ctx, EXIT, type Run, type StackOutputs, UsageError, withCommon, withSource } from './shared.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  since?: string;
  dryRun?: boolean;
  dedupTable?: string;
  dedupWindow?: string;
  allowDuplicates?: boolean;
  acknowledgeGap?: boolean;
  publishUnsure?: string[];
  endpointUrl?: string;
  bus?: string;
  stateTable?: string;
  parkedBucket?: string;
  signingSecretId?: string;
  apiUrl?: string;
}

/** RangeError (a bad duration, a --since past the window) as a usage error: one line, exit 64. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

/** The relay's dedup window: --dedup-window, else the stack's DedupWindowSeconds output. */
function dedupWindowMs(o: Options, outputs: StackOutputs): number {
  if (o.dedupWindow) return usage(() => parseDuration(o.dedupWindow as string, '--dedup-window'));
  const seconds = Number(outputs.dedupWindowSeconds);
  if (outputs.dedupWindowSeconds && Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  throw new UsageError(
    "cannot tell the relay's dedup window (the stack has no DedupWindowSeconds output: deployed by an older version); pass --dedup-window, e.g. --dedup-window 48h",
  );
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  if (o.acknowledgeGap && o.publishUnsure)
    throw new UsageError('--publish-unsure and --acknowledge-gap are two steps: publish first, then acknowledge');
  // The key first: a missing one is exit 2 (README's table) before anything is looked up.
  const client = o.acknowledgeGap ? undefined : requireHeyGenClient(ctx, o.apiUrl);
  const outputs = await ctx.outputs();
  const { signingSecretId, stateTable } = await secretSetup(ctx, o);
  if (!client) return acknowledge(ctx, stateTable, signingSecretId);
  const dedupTable = o.dedupTable ?? outputs.dedupTableName;
  const eventBus = o.bus ?? outputs.eventBusName;
  const endpointUrl = o.endpointUrl ?? outputs.webhookUrl;
  // Entries EventBridge can never take are parked with their reason (as the scheduled run does); without a
  // bucket they are counted and reported, and stay in HeyGen's history for a later run.
  const parkedBucket = o.parkedBucket ?? outputs.parkedBucketName;
  if (!dedupTable || !eventBus || !stateTable || !signingSecretId || !endpointUrl)
    throw new UsageError(
      'backfill needs --stack, or --dedup-table, --bus, --state-table, --signing-secret-id and --endpoint-url',
    );
  const windowMs = dedupWindowMs(o, outputs);
  const allowDuplicates = o.allowDuplicates === true;
  // Named entries a person decided on may be older than the window: a second copy of those alone is accepted.
  const reach = { allowDuplicates: allowDuplicates || o.publishUnsure !== undefined };
  usage(() => backfillSince({ since: o.since, windowMs, ...reach, now: ctx.now() })); // refuse before any call
  // The CLI does not know the stack's configured types (EVENTS): left out, not `null` (every type), so
  // an entry before the subscription log is judged by the log's first set alone (subscription-log.ts).
  const { configured: _unknown, ...endpoint } = await ourEndpoint(client, endpointUrl, null);
  if (!endpoint.found)
    throw new UsageError(
      `HeyGen lists no endpoint at ${endpointUrl}: nothing in its history can be shown to be addressed to the relay; register it first (heygen-relay reconcile)`,
    );
  const bornAtMs = await stackBirth(ctx, signingSecretId);
  const summary = await usage(() =>
    backfillCommand({
      since: o.since,
      dryRun: o.dryRun === true,
      allowDuplicates,
      windowMs,
      endpoint,
      client,
      dedupTable,
      eventBus,
      stateTable,
      signingSecretId,
      ...(parkedBucket ? { parkedBucket } : {}),
      source: ctx.sourceId,
      bornAtMs,
      ...(o.publishUnsure ? { publishUnsure: o.publishUnsure } : {}),
      now: () => ctx.now(),
      ...(ctx.io.dynamoDb ? { dynamoDb: ctx.io.dynamoDb } : {}),
      ...(ctx.io.eventBridge ? { eventBridge: ctx.io.eventBridge } : {}),
    }),
  );
  ctx.emit(summary, describeBackfill(summary));
  if (summary.outcome === 'busy') return EXIT.busy;
  if (summary.failed > 0 || summary.notPublished.length > 0) return EXIT.failed;
  // Entries it could not cover (unsure: maybe a neighbour's) need a person, as `status` says it.
  return summary.uncovered.length > 0 ? EXIT.attention : EXIT.ok;
}

/**
 * The stack's birth, its signing secret's CreatedDate (DescribeSecret, as the scheduled backfill reads
 * it): with our oldest endpoint, where a run before the scheduled runs' first starts. Null when it
 * cannot be read (our oldest endpoint alone then).
 */
async function stackBirth(ctx: Ctx, signingSecretId: string): Promise<number | null> {
  try {
    return (await ctx.sm().send(new DescribeSecretCommand({ SecretId: signingSecretId }))).CreatedDate?.getTime() ?? null;
  } catch {
    return null;
  }
}

/** `--acknowledge-gap`: clears the periods the backfill could not cover (its alarm), printing them. */
async function acknowledge(ctx: Ctx, stateTable: string | undefined, signingSecretId: string | undefined): Promise<number> {
  if (!stateTable || !signingSecretId)
    throw new UsageError('backfill --acknowledge-gap needs --stack, or --state-table and --signing-secret-id');
  const periods = await acknowledgeGaps({
    stateTable,
    signingSecretId,
    source: ctx.sourceId,
    ...(ctx.io.dynamoDb ? { dynamoDb: ctx.io.dynamoDb } : {}),
  });
  if (periods === null) {
    ctx.emit({ outcome: 'busy' }, ['another backfill holds the lease; try again later']);
    return EXIT.busy;
  }
  ctx.emit(
    { outcome: 'acknowledged', periods },
    periods.length ? ['acknowledged:', ...describeUncovered(periods)] : ['nothing to acknowledge: every period was covered'],
  );
  return EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withSource(
    withCommon(
      program
        .command('backfill')
        .summary("publish what HeyGen's event history delivered to our endpoint and the relay never published")
        .description(
          "Publish what HeyGen's event history lists as delivered to our endpoint and the relay never published, through the same path as the scheduled backfill and under its lease. Needs HEYGEN_API_KEY. Reaches back no further than the relay's dedup window (older entries cannot be told from ones already published) unless --allow-duplicates, and never before the stack's origin (its birth or our oldest endpoint: nothing before it was addressed to us). Entries it cannot cover are recorded for a person (alarm BackfillGap) and the command exits 3.",
        ),
    ),
  )
    .option('--since <duration>', "how far back, e.g. 12h, 3d, 90m (default: the relay's dedup window less 15 min)")
    .option('--dedup-window <duration>', "the relay's dedup window (default: from --stack, output DedupWindowSeconds)")
    .option('--allow-duplicates', 'reach past the dedup window: entries there may be published a second time (same envelope id)')
    .option('--acknowledge-gap', 'a person has seen the periods the backfill could not cover: clear them (and their alarm)')
    .option(
      '--publish-unsure <event-id...>',
      "unsure entries (status: subscription_unsure) a person checked in HeyGen's history and found addressed to us, by HeyGen event_id: published as ours (same envelope id); exits 1 if one is not",
    )
    .option('--endpoint-url <url>', 'our endpoint at HeyGen; its event types say which entries are ours (default: from --stack)')
    .option('--dedup-table <name>', "the relay's dedup table (default: from --stack)")
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .option('--state-table <name>', "the relay's state table (default: from --stack)")
    .option('--signing-secret-id <id>', 'the signing secret (names the lease; default: from --stack)')
    .option('--parked-bucket <name>', 'where entries EventBridge can never take are parked (default: from --stack)')
    .option('--api-url <url>', API_URL_HELP)
    .option('--dry-run', 'list the missing events, publish nothing')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
