/**
 * `heygen-relay backfill`: wiring only. The command's logic is in bin/backfill-command.ts, shared
 * with the scheduled backfill's path.
 */
import type { Command } from 'commander';
import { backfillCommand, describeBackfill } from '../backfill-command.js';
import { API_URL_HELP, heygenClient, secretSetup } from './heygen-common.js';
import { type CliIo, Ctx, EXIT, type Run, UsageError, withCommon, withSource } from './shared.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  since?: string;
  dryRun?: boolean;
  dedupTable?: string;
  bus?: string;
  stateTable?: string;
  parkedBucket?: string;
  signingSecretId?: string;
  apiUrl?: string;
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const client = heygenClient(ctx, o.apiUrl);
  if (!client) throw new UsageError('HEYGEN_API_KEY is not set');
  const outputs = await ctx.outputs();
  const { signingSecretId, stateTable } = await secretSetup(ctx, o);
  const dedupTable = o.dedupTable ?? outputs.dedupTableName;
  const eventBus = o.bus ?? outputs.eventBusName;
  // Entries EventBridge can never take are parked with their reason (as the scheduled run does); without a
  // bucket they are counted and reported, and stay in HeyGen's history for a later run.
  const parkedBucket = o.parkedBucket ?? outputs.parkedBucketName;
  if (!dedupTable || !eventBus || !stateTable || !signingSecretId)
    throw new UsageError('backfill needs --stack, or --dedup-table, --bus, --state-table and --signing-secret-id');
  let summary: Awaited<ReturnType<typeof backfillCommand>>;
  try {
    summary = await backfillCommand({
      since: o.since,
      dryRun: o.dryRun === true,
      client,
      dedupTable,
      eventBus,
      stateTable,
      signingSecretId,
      ...(parkedBucket ? { parkedBucket } : {}),
      source: ctx.sourceId,
      ...(ctx.io.dynamoDb ? { dynamoDb: ctx.io.dynamoDb } : {}),
      ...(ctx.io.eventBridge ? { eventBridge: ctx.io.eventBridge } : {}),
    });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  ctx.emit(summary, describeBackfill(summary));
  return summary.outcome === 'busy' ? EXIT.busy : summary.failed > 0 ? EXIT.failed : EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withSource(
    withCommon(
      program
        .command('backfill')
        .summary("publish what HeyGen's event history delivered and the relay never published")
        .description(
          "Publish what HeyGen's event history lists as delivered and the relay never published, through the same path as the scheduled backfill and under its lease. Needs HEYGEN_API_KEY.",
        ),
    ),
  )
    .option('--since <duration>', 'how far back, e.g. 48h, 3d, 90m (default: 48h)')
    .option('--dedup-table <name>', "the relay's dedup table (default: from --stack)")
    .option('--bus <name>', "the relay's event bus (default: from --stack)")
    .option('--state-table <name>', "the relay's state table (default: from --stack)")
    .option('--signing-secret-id <id>', 'the signing secret (names the lease; default: from --stack)')
    .option('--parked-bucket <name>', 'where entries EventBridge can never take are parked (default: from --stack)')
    .option('--api-url <url>', API_URL_HELP)
    .option('--dry-run', 'list the missing events, publish nothing')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
