/**
 * `npm run send -- [--provider heygen|joggai] <event_type> [--url http://127.0.0.1:3000/<provider>] [--file body.json]`
 * Posts a correctly signed sample (test/events/<provider>/<event_type>.json) to the relay.
 * Secret: HEYGEN_WEBHOOK_SECRET / JOGGAI_WEBHOOK_SECRET, else the one `npm start` generated in
 * .relay/<provider>-secret (RELAY_STATE_DIR moves .relay). JoggAI samples get their body `timestamp` set to now (it is signed).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sign } from '../functions/core/verify.js';

const USAGE = `Usage: npm run send -- [--provider heygen|joggai] [<sample>] [--file body.json] [--url URL] [--secret S]

Posts a correctly signed delivery to the local relay (\`npm start\`).
  <sample>            a file of test/events/<provider>/ without .json (default: avatar_video.success,
                      or generated_avatar_video_success for joggai)
  --provider NAME     heygen (default) or joggai
  --file PATH         post this body instead of a sample
  --url URL           default http://127.0.0.1:\${PORT:-3000}/<provider>
  --secret S          signing secret; default HEYGEN_WEBHOOK_SECRET / JOGGAI_WEBHOOK_SECRET, else the
                      one \`npm start\` saved in .relay/<provider>-secret
  -h, --help          this help`;

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        provider: { type: 'string', default: 'heygen' },
        url: { type: 'string' },
        file: { type: 'string' },
        secret: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
const { values, positionals } = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const provider = values.provider ?? 'heygen';
if (provider !== 'heygen' && provider !== 'joggai') {
  console.error(`Unknown provider "${provider}" (heygen or joggai)`);
  process.exit(2);
}
const eventsDir = join(__dirname, '..', 'test', 'events', provider);
const type = positionals[0] ?? (provider === 'heygen' ? 'avatar_video.success' : 'generated_avatar_video_success');
const file = values.file ?? join(eventsDir, `${type}.json`);
if (!existsSync(file)) {
  const known = readdirSync(eventsDir).map((f) => f.replace(/\.json$/, ''));
  console.error(`No sample for "${type}". Samples: ${known.join(', ')} (or pass --file body.json)`);
  process.exit(2);
}
const envName = provider === 'heygen' ? 'HEYGEN_WEBHOOK_SECRET' : 'JOGGAI_WEBHOOK_SECRET';
const secretFile = join(process.env.RELAY_STATE_DIR ?? '.relay', `${provider}-secret`);
const secret =
  values.secret ?? process.env[envName] ?? (existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : undefined);
if (secret === undefined) {
  console.error(`No signing secret: set ${envName}, or start the relay with \`npm start\` first.`);
  process.exit(2);
}
const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? 3000}/${provider}`;

function request(secret: string): { body: Buffer; headers: Record<string, string> } {
  const raw = readFileSync(file);
  if (provider === 'heygen') {
    return {
      body: raw,
      headers: {
        'content-type': 'application/json',
        'heygen-signature': sign(secret, raw),
        'heygen-timestamp': String(Math.floor(Date.now() / 1000)),
        'heygen-event-id': randomUUID(),
      },
    };
  }
  const parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  if (!values.file) parsed.timestamp = Math.floor(Date.now() / 1000);
  const body = values.file ? raw : Buffer.from(JSON.stringify(parsed));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'JoggAI-Webhook/2.0',
      'x-webhook-signature': sign(secret, body),
      ...(typeof parsed.event === 'string' ? { 'x-webhook-event': parsed.event } : {}),
    },
  };
}

async function main(secret: string): Promise<void> {
  const { body, headers } = request(secret);
  try {
    const res = await fetch(url, { method: 'POST', headers, body });
    console.log(`${res.status} ${await res.text()}`);
    process.exit(res.ok ? 0 : 1);
  } catch (err) {
    console.error(`Could not reach ${url}: ${(err as Error).message}. Is the relay running (npm start)?`);
    process.exit(1);
  }
}

void main(secret);
