/** `heygen-relay reconcile`: exactly one HeyGen endpoint points at the relay, with the right events, and its secret is stored. */
import type { Command } from 'commander';
import { DynamoSightingInbox } from '../../functions/adapters/aws/dynamodb-sightings.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { type ReconcileSummary, reconcile } from '../../providers/heygen/runtime/registrar.js';
import { heygenClient, secretCommand, secretSetup } from './heygen-common.js';
import { type CliIo, Ctx, EXIT, type Run, UsageError } from './shared.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  endpointUrl?: string;
  events?: string;
  signingSecretId?: string;
  secretFile?: string;
  stateTable?: string;
  apiUrl?: string;
  dryRun?: boolean;
}

export function describeSummary(summary: ReconcileSummary): string[] {
  const lines: string[] = [];
  const verb = summary.dryRun ? 'would' : 'did';
  lines.push(
    `outcome: ${summary.outcome}${summary.dryRun ? ' (dry run)' : ''}; endpoint: ${summary.endpointId ?? '-'}; ` +
      `found ${summary.found.matching.length} endpoint(s) at the URL among ${summary.found.total ?? '?'}`,
  );
  if (summary.actions.length === 0 && summary.outcome === 'in_sync') lines.push('nothing to do');
  for (const a of summary.actions) {
    switch (a.type) {
      case 'create':
        lines.push(`${verb} create an endpoint for ${a.url} (${a.reason}), events: ${a.events?.join(',') ?? 'all'}`);
        break;
      case 'update':
        lines.push(`${verb} update events of ${a.endpointId}: ${a.from?.join(',') ?? 'all'} -> ${a.to?.join(',') ?? 'all'}`);
        break;
      case 'rotate':
        lines.push(`${verb} rotate the secret of ${a.endpointId} (${a.reason})`);
        break;
      case 'delete':
        lines.push(`${verb} delete duplicate endpoint ${a.endpointId}`);
        break;
      case 'store_secret':
        lines.push(`${verb} store the signing secret of ${a.endpointId} in ${a.store}`);
        break;
      case 'recover':
        lines.push(`${verb} replay an unstored secret change (${a.op}) of ${a.endpointId} and store its answer`);
        break;
      case 'update_url':
        lines.push(`${verb} point ${a.endpointId} back at ${a.to} (it delivered to ${a.from})`);
        break;
      case 'drop_pending':
        lines.push(`${verb} drop a stale pending rotation value`);
        break;
    }
  }
  for (const w of summary.warnings) lines.push(`warning: ${w}`);
  if (summary.message) lines.push(summary.message);
  return lines;
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const outputs = await ctx.outputs();
  const endpointUrl = o.endpointUrl ?? outputs.webhookUrl;
  if (!endpointUrl) throw new UsageError('reconcile needs --endpoint-url or --stack');
  // HeyGen takes only https:// URLs; http://127.0.0.1 and http://localhost are the sandbox's (docs/sandbox.md).
  if (!/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost)[:/])/.test(endpointUrl))
    throw new UsageError('--endpoint-url must be an https:// URL');
  const setup = await secretSetup(ctx, o);
  const { store } = setup;
  if (!store && !o.dryRun) {
    throw new UsageError('reconcile needs --signing-secret-id, --secret-file or --stack to store the secret');
  }
  const events =
    o.events === undefined
      ? undefined
      : o.events === 'all'
        ? null
        : o.events
            .split(',')
            .map((e) => e.trim())
            .filter((e) => e !== '');
  const client = heygenClient(ctx, o.apiUrl);
  const summary = await reconcile(
    { url: endpointUrl, events },
    {
      client,
      secretStore: store ?? new MemorySigningSecretStore(null, '(none: dry run)'),
      dryRun: o.dryRun === true,
      apiKeyHint: 'set the HEYGEN_API_KEY environment variable to your HeyGen API key.',
      ...(store && !o.dryRun && client ? { lease: setup.lease() } : {}),
      // What it saw before and after a change, for the deployed backfill's subscription log (sightings.ts):
      // the inbox of the source it serves (test review4-reconcile-source-inbox).
      ...(store && !o.dryRun && client && setup.stateTable && !o.secretFile
        ? { sightings: new DynamoSightingInbox(ctx.ddb(), setup.stateTable, ctx.sourceId) }
        : {}),
    },
  );
  const refused = summary.outcome === 'missing_api_key' || summary.outcome === 'unauthorized';
  if (refused || summary.outcome === 'busy') {
    // Nothing was done: the reason is an error (stderr), one line that says what to do.
    if (o.json) ctx.emit(summary, []);
    const why =
      summary.outcome === 'unauthorized'
        ? `HeyGen refused the API key in HEYGEN_API_KEY: export the right key (HeyGen, Settings, API)`
        : summary.message;
    ctx.io.err(`error: ${why ?? summary.outcome}`);
    return refused ? EXIT.credentials : EXIT.busy;
  }
  ctx.emit(summary, describeSummary(summary));
  return EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  secretCommand(
    program,
    'reconcile',
    {
      summary: 'make sure exactly one HeyGen endpoint points at the relay, with the right events, and its secret is stored',
      description:
        'Make sure exactly one HeyGen endpoint points at the relay, subscribed to the right events, and that its signing secret is stored (what the deployed registrar does on its schedule). Needs HEYGEN_API_KEY.',
    },
    ['--endpoint-url <url>', "the relay's HeyGen webhook URL (default: from --stack)"],
    ['--events <list>', 'comma-separated event types, or "all" (default: keep the endpoint\'s events)'],
  ).action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
