/**
 * `npm run send -- <event_type> [--url http://127.0.0.1:3000/heygen] [--file body.json]`
 * Posts a correctly signed HeyGen sample (test/events/heygen/<event_type>.json) to the relay.
 * Secret: HEYGEN_WEBHOOK_SECRET, else the one `npm start` generated in .relay/heygen-secret.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sign } from '../functions/core/verify.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    file: { type: 'string' },
    secret: { type: 'string' },
  },
});
const eventsDir = join(__dirname, '..', 'test', 'events', 'heygen');
const type = positionals[0] ?? 'avatar_video.success';
const file = values.file ?? join(eventsDir, `${type}.json`);
if (!existsSync(file)) {
  const known = readdirSync(eventsDir).map((f) => f.replace(/\.json$/, ''));
  console.error(`No sample for "${type}". Samples: ${known.join(', ')} (or pass --file body.json)`);
  process.exit(2);
}
const secretFile = join('.relay', 'heygen-secret');
const secret =
  values.secret ??
  process.env.HEYGEN_WEBHOOK_SECRET ??
  (existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : undefined);
if (secret === undefined) {
  console.error('No signing secret: set HEYGEN_WEBHOOK_SECRET, or start the relay with `npm start` first.');
  process.exit(2);
}
const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? 3000}/heygen`;
const body = readFileSync(file);
async function main(secret: string): Promise<void> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'heygen-signature': sign(secret, body),
        'heygen-timestamp': String(Math.floor(Date.now() / 1000)),
        'heygen-event-id': randomUUID(),
      },
      body,
    });
    console.log(`${res.status} ${await res.text()}`);
    process.exit(res.ok ? 0 : 1);
  } catch (err) {
    console.error(`Could not reach ${url}: ${(err as Error).message}. Is the relay running (npm start)?`);
    process.exit(1);
  }
}

void main(secret);
