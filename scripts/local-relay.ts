/**
 * `npm start`: the relay on http://127.0.0.1:${PORT:-3000}, same handler as the Lambda.
 * `npm start -- --config relay.sources.json`: any set of HeyGen, JoggAI and Standard Webhooks
 * sources, each on its own path with its own secret (functions/adapters/local/sources-config.ts,
 * docs/local-relay.md). Without a config file:
 * - POST /heygen with the secret from HEYGEN_WEBHOOK_SECRET (or a generated one, printed and saved
 *   to .relay/heygen-secret for `npm run send`);
 * - POST /joggai (and /joggai/<segment>) with JOGGAI_WEBHOOK_SECRET (or one generated and saved to
 *   .relay/joggai-secret);
 * every published event appended to ${RELAY_SINK:-.relay/events.jsonl} and printed.
 */
import './local-env.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { type LocalProvider, startLocalRelay } from '../functions/adapters/local/relay.js';
import { type LocalSourceSecret, localSources } from '../functions/adapters/local/sources-config.js';
import { ConfigError } from '../functions/wiring/ingress-config.js';

const stateDir = process.env.RELAY_STATE_DIR ?? '.relay';

/** A configuration mistake: printed as one line (no stack), exit code 2. */
class LocalConfigError extends Error {}

function portFrom(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new LocalConfigError(`PORT must be a port number (0-65535), got "${raw}"`);
  return port;
}

interface LocalSecret {
  readonly secret: string;
  readonly generated: boolean;
  readonly file: string;
}

/**
 * The provider's secret from `envName`, or a generated one. A generated secret is only saved to
 * .relay/<name>-secret once the relay listens (saveGenerated): a start that fails (port in use)
 * leaves the secret of the relay that is still running in place, so `npm run send` keeps working.
 */
function localSecret(name: string, envName: string): LocalSecret {
  const file = join(stateDir, `${name}-secret`);
  const fromEnv = process.env[envName];
  if (fromEnv) return { secret: fromEnv, generated: false, file };
  return { secret: `whsec_local_${randomBytes(24).toString('base64url')}`, generated: true, file };
}

function saveGenerated(s: LocalSecret): void {
  if (!s.generated) return;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(s.file, s.secret, { mode: 0o600 });
}

function tolerance(envName: string): { timestampToleranceSeconds: number } | Record<string, never> {
  const raw = process.env[envName];
  if (raw === undefined || raw === '') return {};
  if (!/^\d+$/.test(raw))
    throw new LocalConfigError(`${envName} must be a whole number of seconds (0 turns the check off), got "${raw}"`);
  return { timestampToleranceSeconds: Number(raw) };
}

/** The command line: `--config <file>` (and `--help`). Commander prints usage errors itself; exit code 2. */
function options(argv: readonly string[]): { config?: string } {
  const program = new Command('npm start --')
    .description('The relay on http://127.0.0.1 (port: PORT, default 3000), the Lambda handler with local adapters.')
    .option('--config <file>', 'serve the sources this JSON file lists (docs/local-relay.md)')
    .exitOverride()
    .configureOutput({ writeErr: (str) => process.stderr.write(str) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' ? 0 : 2);
    throw err;
  }
  return program.opts<{ config?: string }>();
}

/** The sources of a config file, or LocalConfigError (one line) when it cannot be read or is wrong. */
function sourcesFromFile(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LocalConfigError(`cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // The parser's message can quote the text around the mistake (a secret's tail): its position only.
    const at = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new LocalConfigError(
      `the config file ${file} is not JSON${at ? ` (at character ${at})` : ''}; check its syntax (e.g. a trailing comma)`,
    );
  }
  try {
    return localSources(json, process.env, stateDir);
  } catch (err) {
    if (err instanceof ConfigError) throw new LocalConfigError(`${file}: ${err.message}`);
    throw err;
  }
}

/** The default sources: /heygen and /joggai, secrets from the environment or generated. */
function defaultSources(): { providers: LocalProvider[]; secrets: LocalSourceSecret[] } {
  const heygen = localSecret('heygen', 'HEYGEN_WEBHOOK_SECRET');
  const joggai = localSecret('joggai', 'JOGGAI_WEBHOOK_SECRET');
  return {
    providers: [
      { name: 'heygen', secrets: [heygen.secret], ...tolerance('HEYGEN_TIMESTAMP_TOLERANCE_SECONDS') },
      { name: 'joggai', secrets: [joggai.secret], acceptSubpaths: true, ...tolerance('JOGGAI_TIMESTAMP_TOLERANCE_SECONDS') },
    ],
    secrets: [
      {
        source: 'heygen',
        secret: heygen.secret,
        from: heygen.generated ? 'generated' : '$HEYGEN_WEBHOOK_SECRET',
        file: heygen.file,
      },
      {
        source: 'joggai',
        secret: joggai.secret,
        from: joggai.generated ? 'generated' : '$JOGGAI_WEBHOOK_SECRET',
        file: joggai.file,
      },
    ],
  };
}

/** What the start prints: the routes, the sink, and each source's secret (its value only when generated for this run). */
function banner(
  url: string,
  sinkPath: string,
  providers: readonly LocalProvider[],
  secrets: readonly LocalSourceSecret[],
  config?: string,
): string {
  const lines = [`heygen-relay (local) listening on ${url}`];
  if (config === undefined) lines.push('  routes: POST /heygen, POST /joggai');
  else
    for (const p of providers)
      lines.push(`  route:  POST ${p.path ?? `/${p.source ?? p.name}`} -> ${p.source ?? p.name} (${p.name})`);
  lines.push(`  sink:   ${sinkPath}`);
  for (const s of secrets)
    lines.push(
      s.from === 'generated'
        ? `  ${s.source} secret: generated for this run (saved to ${s.file}): ${s.secret}`
        : `  ${s.source} secret: from ${s.from}`,
    );
  if (config === undefined)
    lines.push(
      '  try:    npm run send -- avatar_video.success',
      '          npm run send -- --provider joggai generated_avatar_video_success',
    );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { config } = options(process.argv.slice(2));
  const port = portFrom(process.env.PORT);
  const sinkPath = process.env.RELAY_SINK ?? join(stateDir, 'events.jsonl');
  const { providers, secrets } = config === undefined ? defaultSources() : sourcesFromFile(config);
  const relay = await startLocalRelay({
    providers,
    sinkPath,
    port,
    onPublish: (line) => process.stdout.write(`published ${line}\n`),
  });
  for (const s of secrets) if (s.from === 'generated') saveGenerated({ secret: s.secret, generated: true, file: s.file });
  process.stdout.write(banner(relay.url, sinkPath, providers, secrets, config));

  const stop = () => {
    // Exit even if a client holds a keep-alive connection open.
    setTimeout(() => process.exit(0), 1000).unref();
    void relay.close().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  const reason =
    e.code === 'EADDRINUSE'
      ? `port ${process.env.PORT ?? 3000} is in use (is another \`npm start\` running? PORT=<n> picks another)`
      : e.message;
  process.stderr.write(`heygen-relay (local) could not start: ${reason}\n`);
  process.exit(err instanceof LocalConfigError ? 2 : 1);
});
