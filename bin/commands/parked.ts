/** `heygen-relay parked list|republish`: deliveries the intake parked (signed, but EventBridge could not take them as they were). */
import type { Command } from 'commander';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedArchive } from '../../functions/adapters/aws/parked-store.js';
import { FileSinkPublisher } from '../../functions/adapters/local/file-sink.js';
import { DirectoryParkedStore } from '../../functions/adapters/local/parked-dir.js';
import { listParked, republishParked } from '../../functions/wiring/parked-ops.js';
import { type CliIo, Ctx, commandGroup, EXIT, positiveInt, type Run, UsageError, withCommon } from './shared.js';

interface Where {
  stack?: string;
  json?: boolean;
  parkedBucket?: string;
  parkedDir?: string;
}
interface ListOptions extends Where {
  provider?: string;
  limit?: string;
}
interface RepublishOptions extends Where {
  bus?: string;
  acceptLossy?: boolean;
  dryRun?: boolean;
}

async function archiveOf(ctx: Ctx, o: Where) {
  const bucket = o.parkedBucket ?? (await ctx.outputs()).parkedBucketName;
  if (!o.parkedDir && !bucket) throw new UsageError('parked needs --stack, --parked-bucket or --parked-dir');
  const local = o.parkedDir ? new DirectoryParkedStore(o.parkedDir) : undefined;
  return { local, archive: local ?? new S3ParkedArchive(ctx.s3(), bucket as string) };
}

async function list(ctx: Ctx, o: ListOptions): Promise<number> {
  const { archive } = await archiveOf(ctx, o);
  const limit = positiveInt('--limit', o.limit);
  const items = await listParked(archive, { ...(o.provider ? { provider: o.provider } : {}), ...(limit ? { limit } : {}) });
  ctx.emit(
    items,
    items.length === 0
      ? ['no parked deliveries']
      : items.map((p) => `${p.parkedAt}\t${p.provider}\t${p.reason}\t${p.bytes} B\t${p.key}`),
  );
  return EXIT.ok;
}

async function republish(ctx: Ctx, key: string, o: RepublishOptions): Promise<number> {
  const { local, archive } = await archiveOf(ctx, o);
  const bus = o.bus ?? (await ctx.outputs()).eventBusName;
  const publisher = local
    ? new FileSinkPublisher(o.bus ?? '.relay/events.jsonl')
    : bus
      ? new EventBridgePublisher(ctx.eb(), bus)
      : undefined;
  if (!publisher) throw new UsageError('parked republish needs --stack or --bus');
  const result = await republishParked({ archive, publisher }, key, {
    acceptLossy: o.acceptLossy === true,
    dryRun: o.dryRun === true,
  });
  if (o.acceptLossy && !o.json)
    ctx.io.err('warning: --accept-lossy publishes what JSON.parse makes of the body, which differs from what the provider sent');
  if (result.outcome === 'still_unpublishable') {
    // A failure: the result stays on stdout for --json; the message is an error line on stderr.
    if (o.json) ctx.emit(result, []);
    ctx.io.err(
      `error: ${key}: still unpublishable (${result.reason}): ${result.message}; it stays parked (--accept-lossy publishes it as JSON.parse reads it)`,
    );
    return EXIT.failed;
  }
  ctx.emit(result, [`${key}: ${result.outcome.replace('_', ' ')}`]);
  return result.outcome === 'published' || result.outcome === 'would_publish' ? EXIT.ok : EXIT.failed;
}

const where = (cmd: Command) =>
  withCommon(
    cmd,
    ['--parked-bucket <name>', "the parked deliveries' bucket (default: from --stack)"],
    ['--parked-dir <dir>', "a local relay's parked directory (npm start's) instead"],
  );

export function register(program: Command, io: CliIo, runner: Run): void {
  const parked = commandGroup(
    program,
    'parked',
    'deliveries the intake parked: list, republish',
    'Deliveries the intake parked: signed, but EventBridge could not take them as they were (too large, a lossy number, ...). They are kept with their reason in the parked bucket.',
  );
  where(parked.command('list').description('list parked deliveries, newest first'))
    .option(
      '--provider <name>',
      'only this source: its id (heygen, heygen-staging, joggai, ...; records parked before per-source keys: the provider)',
    )
    .option('--limit <n>', 'at most N')
    .action((o: ListOptions) => runner(() => list(new Ctx(io, o), o)));
  where(
    parked
      .command('republish')
      .argument('<key>', 'the KEY shown by parked list')
      .description(
        're-check a parked delivery with the current code and publish it (same envelope id); its record is deleted once EventBridge accepted it',
      ),
  )
    .option('--bus <name>', "the relay's event bus (default: from --stack; with --parked-dir, the sink file)")
    .option('--accept-lossy', 'publish what JSON.parse makes of a body a double cannot hold exactly')
    .option('--dry-run', 'say what would happen, change nothing')
    .action((key: string, o: RepublishOptions) => runner(() => republish(new Ctx(io, o), key, o)));
}
