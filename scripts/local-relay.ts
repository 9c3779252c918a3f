/**
 * `npm start`: the relay on http://127.0.0.1:${PORT:-3000}, same handler as the Lambda, with the
 * signing secret from HEYGEN_WEBHOOK_SECRET (or a generated one, printed and saved to
 * .relay/heygen-secret for `npm run send`), and every published event appended to
 * ${RELAY_SINK:-.relay/events.jsonl} and printed.
 */
import './local-env.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalRelay } from '../functions/adapters/local/relay.js';

const stateDir = '.relay';
const port = Number(process.env.PORT ?? 3000);
const sinkPath = process.env.RELAY_SINK ?? join(stateDir, 'events.jsonl');
const tolerance = process.env.HEYGEN_TIMESTAMP_TOLERANCE_SECONDS;

const generated = !process.env.HEYGEN_WEBHOOK_SECRET;
const secret = process.env.HEYGEN_WEBHOOK_SECRET || `whsec_local_${randomBytes(24).toString('base64url')}`;
if (generated) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'heygen-secret'), secret, { mode: 0o600 });
}

async function main(): Promise<void> {
  const relay = await startLocalRelay({
    providers: [
      {
        name: 'heygen',
        secrets: [secret],
        ...(tolerance === undefined ? {} : { timestampToleranceSeconds: Number(tolerance) }),
      },
    ],
    sinkPath,
    port,
    onPublish: (line) => process.stdout.write(`published ${line}\n`),
  });

  process.stdout.write(
    [
      `heygen-relay (local) listening on ${relay.url}`,
      '  route:  POST /heygen',
      `  sink:   ${sinkPath}`,
      generated
        ? `  secret: generated for this run (saved to ${join(stateDir, 'heygen-secret')}): ${secret}`
        : '  secret: from HEYGEN_WEBHOOK_SECRET',
      '  try:    npm run send -- avatar_video.success',
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
