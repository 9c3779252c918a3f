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

const stateDir = '.relay';
const port = Number(process.env.PORT ?? 3000);
const sinkPath = process.env.RELAY_SINK ?? join(stateDir, 'events.jsonl');

interface LocalSecret {
  readonly secret: string;
  readonly generated: boolean;
  readonly file: string;
}

/** The provider's secret from `envName`, or a generated one saved to .relay/<name>-secret. */
function localSecret(name: string, envName: string): LocalSecret {
  const file = join(stateDir, `${name}-secret`);
  const fromEnv = process.env[envName];
  if (fromEnv) return { secret: fromEnv, generated: false, file };
  const secret = `whsec_local_${randomBytes(24).toString('base64url')}`;
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return { secret, generated: true, file };
}

function tolerance(envName: string): { timestampToleranceSeconds: number } | Record<string, never> {
  const raw = process.env[envName];
  return raw === undefined ? {} : { timestampToleranceSeconds: Number(raw) };
}

const heygen = localSecret('heygen', 'HEYGEN_WEBHOOK_SECRET');
const joggai = localSecret('joggai', 'JOGGAI_WEBHOOK_SECRET');

async function main(): Promise<void> {
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
    void relay.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`heygen-relay (local) could not start: ${(err as Error).message}`);
  process.exit(1);
});
