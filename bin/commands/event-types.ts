/** `heygen-relay event-types`: HeyGen's webhook event types. */
import type { Command } from 'commander';
import { API_URL_HELP, requireHeyGenClient } from './heygen-common.js';
import { type CliIo, Ctx, EXIT, type Run } from './shared.js';

interface Options {
  json?: boolean;
  apiUrl?: string;
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const client = requireHeyGenClient(ctx, o.apiUrl);
  const types = await client.listEventTypes();
  ctx.emit(
    types,
    types.map((t) => `${t.event_type}\t${t.description}`),
  );
  return EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  program
    .command('event-types')
    .summary("list HeyGen's webhook event types")
    .description("List HeyGen's webhook event types (needs HEYGEN_API_KEY).")
    .option('--api-url <url>', API_URL_HELP)
    .option('--json', 'print the result as JSON')
    .action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
