/**
 * heygen-relay operator CLI, on commander: one module per command under bin/commands/, `--help` on
 * each (`heygen-relay <command> --help`), one-line errors, documented exit codes (bin/commands/shared.ts EXIT).
 *
 * The HeyGen API key comes from HEYGEN_API_KEY (never from a flag, so it stays out of shell history).
 * Run from the repo with `npm run cli -- ...`; the installed package runs its compiled bin/cli.ts.
 * Kept apart from bin/cli.ts (the entry that runs main) so tests import it without side effects.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { LeaseBusyError, LeaseLostError } from '../../functions/core/lease.js';
import { WeakSigningSecretError } from '../../functions/core/secret-quality.js';
import { HeyGenAuthError, HeyGenError } from '../../providers/heygen/runtime/api/errors.js';
import * as archiveCmd from './archive.js';
import * as backfill from './backfill.js';
import * as eventTypes from './event-types.js';
import * as listen from './listen.js';
import * as parked from './parked.js';
import * as reconcile from './reconcile.js';
import * as redrive from './redrive.js';
import * as replay from './replay.js';
import * as rotate from './rotate.js';
import * as send from './send.js';
import { type AwsCallError, type CliIo, CredentialsError, EXIT, type Run, UsageError } from './shared.js';
import * as status from './status.js';

export { type CliIo, EXIT, readStackOutputs } from './shared.js';

const EXIT_HELP = `
Exit codes:
  0   done; status: healthy
  1   the command failed (an AWS or HeyGen error, a task that failed, a delivery still unpublishable)
  2   a credential is missing or refused: HEYGEN_API_KEY, or AWS credentials or region
  3   status: something needs a person (each reason is listed)
  64  usage: a bad argument or option, or something it needs is missing
  75  busy: another writer (registrar, rotation, backfill) holds the lease; try again

Environment: HEYGEN_API_KEY (HeyGen-facing commands), HEYGEN_API_URL, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_REGION.`;

const COMMANDS = [status, redrive, replay, listen, send, parked, backfill, reconcile, rotate, eventTypes, archiveCmd];

const AWS_CREDENTIALS_HINT =
  'set AWS_PROFILE (after aws configure or aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
/** What AWS answers when it does not take the credentials. */
const REFUSED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
]);

/** An AWS SDK error as one line that names the call and says what to do; undefined for other errors. */
function awsLine(err: AwsCallError): { code: number; line: string } | undefined {
  const call = err.$call;
  if (err.name === 'CredentialsProviderError' || /Could not load credentials/i.test(err.message))
    return { code: EXIT.credentials, line: `error: no AWS credentials found: ${AWS_CREDENTIALS_HINT}` };
  if (/^Region is missing/.test(err.message))
    return {
      code: EXIT.credentials,
      line: 'error: no AWS region: set AWS_REGION (e.g. export AWS_REGION=us-east-1) or a region in your AWS profile',
    };
  if (!call) return undefined;
  if (REFUSED_CREDENTIALS.has(err.name))
    return {
      code: EXIT.credentials,
      line: `error: ${call}: AWS refused the credentials (${err.name}): ${AWS_CREDENTIALS_HINT}, or refresh them`,
    };
  if (/AccessDenied/.test(err.name))
    return {
      code: EXIT.failed,
      line: `error: ${call} was refused (${err.name}): the CLI needs this permission in IAM (docs/operating.md, "The CLI")`,
    };
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (err.name === 'SyntaxError' || /Deserialization error|UnknownOperation|InvalidAction/.test(`${err.name} ${err.message}`))
    return {
      code: EXIT.failed,
      line: `error: ${call}: the endpoint${status ? ` answered HTTP ${status} and` : ''} does not offer this API (an emulator without it, or AWS_ENDPOINT_URL pointing elsewhere?)`,
    };
  return { code: EXIT.failed, line: `error: ${call}: ${err.name}: ${err.message}`.split('\n')[0] as string };
}

/** The error's one line (on stderr, with what to do) and its exit code. */
function exitCodeOf(err: unknown): { code: number; line: string } {
  const e = err as Error;
  if (err instanceof UsageError) return { code: EXIT.usage, line: `error: ${e.message}` };
  if (err instanceof CredentialsError) return { code: EXIT.credentials, line: `error: ${e.message}` };
  if (err instanceof LeaseBusyError) return { code: EXIT.busy, line: `error: ${e.message} (try again in a minute)` };
  if (err instanceof HeyGenAuthError)
    return {
      code: EXIT.credentials,
      line: `error: HeyGen refused the API key in HEYGEN_API_KEY (HTTP ${err.status} ${err.code} on ${err.method} ${err.path}): export the right key (HeyGen, Settings, API)`,
    };
  if (err instanceof HeyGenError || err instanceof LeaseLostError || err instanceof WeakSigningSecretError)
    return { code: EXIT.failed, line: `error: ${e.message}` };
  const named = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return awsLine(e) ?? { code: EXIT.failed, line: `error: ${named}${e.message}`.split('\n')[0] as string };
}

/** The package's version, from the package.json above this file (bin/ in the sources, dist/bin/ when installed). */
export function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'heygen-relay' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: go up
    }
  }
  return 'unknown';
}

/** A usage error as one line that says where the usage is: `error: unknown option '--x' (see heygen-relay send --help)`. */
function oneLine(help: string): (text: string, write: (text: string) => void) => void {
  return (text, write) => write(`${text.trimEnd()} (see ${help})\n`);
}

export function buildProgram(io: CliIo, runner: Run): Command {
  const program = new Command('heygen-relay')
    .usage('<command> [options]')
    .description(
      'Operate a deployed heygen-relay: health, dead letters, replay, local listening, smoke tests, parked deliveries, HeyGen registration.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpCommand('help [command]', 'show help for a command')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      outputError: oneLine('heygen-relay --help'),
    });
  for (const c of COMMANDS) c.register(program, io, runner);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ outputError: oneLine(`heygen-relay ${cmd.name()} --help`) });
    for (const sub of cmd.commands)
      sub.exitOverride().configureOutput({ outputError: oneLine(`heygen-relay ${cmd.name()} ${sub.name()} --help`) });
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
