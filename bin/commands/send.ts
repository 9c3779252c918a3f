/**
 * `heygen-relay send --stack NAME TYPE`: a smoke test after deploy. Posts a correctly signed sample
 * HeyGen delivery of TYPE to the deployed webhook URL (the `HeyGenWebhookUrl` output), signed with
 * the stored signing secret exactly as HeyGen signs (HMAC-SHA256 of the raw body, the same `sign`
 * the local `npm run send` uses), and prints the relay's answer. Each sample carries a fresh
 * video id, so it is never taken for a duplicate; it goes to your queues like a real event.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { sign } from '../../functions/core/verify.js';
import { SUBJECT_RULES } from '../../providers/heygen/runtime/events.js';
import { getProvider } from '../../providers/runtime.js';
import { type CliIo, Ctx, checkEventTypes, EXIT, type Run, UsageError, withCommon, withSource } from './shared.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  url?: string;
  signingSecretId?: string;
  file?: string;
}

/** A sample body of a HeyGen event type, with fresh ids. */
export function sampleBody(type: string): string {
  const id = `heygen-relay-send-${randomUUID()}`;
  // The id under the key the relay reads the event's subject from (providers/heygen/runtime/events.ts).
  const family = type.split('.')[0] ?? type;
  const idKey = (Object.hasOwn(SUBJECT_RULES, family) ? SUBJECT_RULES[family]?.idKeys[0] : undefined) ?? 'video_id';
  const data: Record<string, unknown> = { [idKey]: id, callback_id: 'heygen-relay-send' };
  if (type.endsWith('.fail')) data.msg = 'sample failure sent by heygen-relay send';
  else data.url = `https://example.com/${id}.mp4`;
  return JSON.stringify({ event_type: type, event_data: data });
}

async function run(ctx: Ctx, type: string, o: Options): Promise<number> {
  const known = getProvider('heygen').eventTypes ?? [];
  if (!o.file && known.length > 0) checkEventTypes('send', [type], known);
  const outputs = await ctx.outputs();
  const url = o.url ?? outputs.webhookUrl;
  if (!url) throw new UsageError('send needs --stack or --url');
  const secretId = o.signingSecretId ?? outputs.signingSecretArn;
  if (!secretId) throw new UsageError('send needs --stack or --signing-secret-id');
  const stored = await new SecretsManagerSigningSecretStore(ctx.sm(), secretId).get();
  if (!stored?.secret)
    throw new UsageError(
      `the signing secret ${secretId} holds no secret yet (the registrar stores it once HeyGen is registered)`,
    );
  const body = Buffer.from(o.file ? await readFile(o.file) : sampleBody(type));
  const eventId = randomUUID();
  const started = ctx.now();
  const res = await (ctx.io.fetch ?? fetch)(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'heygen-signature': sign(stored.secret, body),
      'heygen-timestamp': String(Math.floor(started / 1000)),
      'heygen-event-id': eventId,
    },
    body,
  }).catch((err: Error) => {
    const cause =
      (err.cause as NodeJS.ErrnoException | undefined)?.code ?? (err.cause as Error | undefined)?.message ?? err.message;
    throw new Error(
      `could not reach ${url} (${cause}): is the relay deployed there? ${o.url ? 'Check --url' : "Check the stack's HeyGenWebhookUrl output"}`,
    );
  });
  const text = await res.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  const ms = ctx.now() - started;
  ctx.emit({ url, type, status: res.status, answer, ms }, [`POST ${url} (${type}): ${res.status} in ${ms} ms ${text}`]);
  return res.ok ? EXIT.ok : EXIT.failed;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  withSource(
    withCommon(
      program
        .command('send')
        .argument('<type>', 'HeyGen event type, e.g. avatar_video.success')
        .summary('post a correctly signed sample HeyGen delivery to the deployed relay (smoke test)')
        .description(
          "Post a correctly signed sample HeyGen delivery of <type> to the deployed relay's webhook URL, signed with the stored signing secret, and print its answer. Each sample has fresh ids (no duplicate); it reaches your queues like a real event.",
        ),
    ),
  )
    .option('--url <url>', "post here instead of the stack's HeyGenWebhookUrl")
    .option('--signing-secret-id <id>', 'the signing secret (default: from --stack)')
    .option('--file <path>', 'post this body instead of a generated sample')
    .action((type: string, o: Options) => runner(() => run(new Ctx(io, o), type, o)));
}
