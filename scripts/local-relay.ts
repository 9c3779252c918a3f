/**
 * `npm start`: the relay on http://127.0.0.1:${PORT:-3000}, same handler as the Lambda:
 * - POST /heygen with the secret from HEYGEN_WEBHOOK_SECRET (or a generated one, printed and saved
 *   to .relay/heygen-secret for `npm run send`);
 * - POST /joggai (and /joggai/<segment>) with JOGGAI_WEBHOOK_SECRET (or one generated and saved to
 *   .relay/joggai-secret);
 * every published event appended to ${RELAY_SINK:-.relay/events.jsonl} and printed.
 */
import './local-env.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalProvider, startLocalRelay } from '../functions/adapters/local/relay.js';

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

async function main(): Promise<void> {
  const port = portFrom(process.env.PORT);
  const sinkPath = process.env.RELAY_SINK ?? join(stateDir, 'events.jsonl');
  const heygen = localSecret('heygen', 'HEYGEN_WEBHOOK_SECRET');
  const joggai = localSecret('joggai', 'JOGGAI_WEBHOOK_SECRET');
  const providers: LocalProvider[] = [
    { name: 'heygen', secrets: [heygen.secret], ...tolerance('HEYGEN_TIMESTAMP_TOLERANCE_SECONDS') },
    { name: 'joggai', secrets: [joggai.secret], acceptSubpaths: true, ...tolerance('JOGGAI_TIMESTAMP_TOLERANCE_SECONDS') },
  ];
  const relay = await startLocalRelay({
    providers,
    sinkPath,
    port,
    onPublish: (line) => process.stdout.write(`published ${line}\n`),
  });
  saveGenerated(heygen);
  saveGenerated(joggai);

  const describe = (label: string, s: LocalSecret, env: string) =>
    s.generated
      ? `  ${label} secret: generated for this run (saved to ${s.file}): ${s.secret}`
      : `  ${label} secret: from ${env}`;
  process.stdout.write(
    [
      `heygen-relay (local) listening on ${relay.url}`,
      '  routes: POST /heygen, POST /joggai',
      `  sink:   ${sinkPath}`,
      describe('heygen', heygen, 'HEYGEN_WEBHOOK_SECRET'),
      describe('joggai', joggai, 'JOGGAI_WEBHOOK_SECRET'),
      '  try:    npm run send -- avatar_video.success',
      '          npm run send -- --provider joggai generated_avatar_video_success',
      '',
    ].join('\n'),
  );

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
