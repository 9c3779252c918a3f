/**
 * heygen-relay operator CLI, on commander: one module per command under bin/commands/, `--help` on
 * each (`heygen-relay <command> --help`), one-line errors, documented exit codes (bin/commands/shared.ts EXIT).
 *
 * The HeyGen API key comes from HEYGEN_API_KEY (never from a flag, so it stays out of shell history).
 * Run from the repo with `npm run cli -- ...`; the installed package runs its compiled bin/cli.ts.
 * Kept apart from bin/cli.ts (the entry that runs main) so tests import it without side effects.
 */
import { Command, CommanderError } from 'commander';
import { LeaseBusyError, LeaseLostError } from '../functions/core/lease.js';
import { WeakSigningSecretError } from '../functions/core/secret-quality.js';
import { HeyGenError } from '../functions/providers/heygen/api/errors.js';
import * as archiveCmd from './commands/archive.js';
import * as backfill from './commands/backfill.js';
import * as eventTypes from './commands/event-types.js';
import * as listen from './commands/listen.js';
import * as parked from './commands/parked.js';
import * as reconcile from './commands/reconcile.js';
import * as redrive from './commands/redrive.js';
import * as replay from './commands/replay.js';
import * as rotate from './commands/rotate.js';
import * as send from './commands/send.js';
import { type CliIo, EXIT, type Run, UsageError } from './commands/shared.js';
import * as status from './commands/status.js';

export { type CliIo, EXIT, readStackOutputs } from './commands/shared.js';

const EXIT_HELP = `
Exit codes:
  0   done; status: healthy
  1   the command failed (an AWS or HeyGen error, a task that failed, a delivery still unpublishable)
  2   HeyGen's API key is missing or refused
  3   status: something needs a person (each reason is listed)
  64  usage: a bad argument or option, or something it needs is missing
  75  busy: another writer (registrar, rotation, backfill) holds the lease; try again

Environment: HEYGEN_API_KEY (HeyGen-facing commands), HEYGEN_API_URL, AWS_* (region, profile, credentials).`;

const COMMANDS = [status, redrive, replay, listen, send, parked, backfill, reconcile, rotate, eventTypes, archiveCmd];

/** The error's one line and its exit code. */
function exitCodeOf(err: unknown): { code: number; line: string } {
  const e = err as Error;
  if (err instanceof UsageError) return { code: EXIT.usage, line: `error: ${e.message}` };
  if (err instanceof LeaseBusyError) return { code: EXIT.busy, line: `error: ${e.message}` };
  if (err instanceof HeyGenError || err instanceof LeaseLostError || err instanceof WeakSigningSecretError)
    return { code: EXIT.failed, line: `error: ${e.message}` };
  return { code: EXIT.failed, line: `error: ${e.name}: ${e.message}`.split('\n')[0] as string };
}

export function buildProgram(io: CliIo, runner: Run): Command {
  const program = new Command('heygen-relay')
    .usage('<command> [options]')
    .description(
      'Operate a deployed heygen-relay: health, dead letters, replay, local listening, smoke tests, parked deliveries, HeyGen registration.',
    )
    .helpOption('-h, --help', 'show help')
    .addHelpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });
  for (const c of COMMANDS) c.register(program, io, runner);
  for (const cmd of program.commands) {
    cmd.exitOverride().showHelpAfterError(`(run heygen-relay ${cmd.name()} --help for usage)`);
    for (const sub of cmd.commands)
      sub.exitOverride().showHelpAfterError(`(run heygen-relay ${cmd.name()} ${sub.name()} --help)`);
  }
  return program;
}

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let code: number = EXIT.ok;
  const runner: Run = async (work) => {
    try {
      code = await work();
    } catch (err) {
      const { code: c, line } = exitCodeOf(err);
      io.err(line);
      code = c;
    }
  };
  const program = buildProgram(io, runner);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // `heygen-relay parked` alone shows the group's help as an error.
      return err.code === 'commander.help' && err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  return code;
}

function defaultIo(): CliIo {
  return {
    env: process.env,
    isTTY: process.stderr.isTTY === true,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}
