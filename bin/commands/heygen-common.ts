/** What reconcile, rotate, event-types and backfill share: HeyGen's client, the signing secret store and its lease. */
import type { Command } from 'commander';
import { DynamoLeaseStore } from '../../functions/adapters/aws/dynamodb-lease.js';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { FileLeaseStore } from '../../functions/adapters/local/file-lease.js';
import { FileSigningSecretStore } from '../../functions/adapters/local/signing-secret-file-store.js';
import type { SigningSecretStore } from '../../functions/core/secret-store.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import type { RegistrarLease } from '../../providers/heygen/runtime/registrar.js';
import { CredentialsError, type Ctx, UsageError, withCommon, withSource } from './shared.js';

export interface SecretOptions {
  readonly signingSecretId?: string;
  readonly secretFile?: string;
  readonly stateTable?: string;
  readonly apiUrl?: string;
}

/** `--api-url URL` as the HeyGen-facing commands take it. */
export const API_URL_HELP = `HeyGen API base URL (default: $HEYGEN_API_URL or ${DEFAULT_HEYGEN_API_URL})`;

/**
 * A command that changes the signing secret (reconcile, rotate): `--stack`, `--json`, `--source`, its
 * `own` options (`[flags, help]`), then `SecretOptions`, `--api-url` and `--dry-run`.
 */
export function secretCommand(
  program: Command,
  name: string,
  text: { summary: string; description: string },
  ...own: readonly (readonly [string, string])[]
): Command {
  const base = withSource(withCommon(program.command(name).summary(text.summary).description(text.description)));
  return own
    .reduce((cmd, [flags, help]) => cmd.option(flags, help), base)
    .option('--signing-secret-id <id>', 'Secrets Manager secret that holds the signing secret (default: from --stack)')
    .option('--secret-file <path>', 'local file that holds the signing secret instead')
    .option('--state-table <name>', "the relay's state table (the one-writer lease; default: from --stack)")
    .option('--api-url <url>', API_URL_HELP)
    .option('--dry-run', 'print the plan, change nothing');
}

/** HeyGen's client from HEYGEN_API_KEY (never a flag: it stays out of shell history), or null without a key. */
export function heygenClient(ctx: Ctx, apiUrl: string | undefined): HeyGenWebhookClient | null {
  const key = ctx.io.env.HEYGEN_API_KEY?.trim() || null;
  const baseUrl = apiUrl ?? ctx.io.env.HEYGEN_API_URL ?? DEFAULT_HEYGEN_API_URL;
  return key ? new HeyGenWebhookClient({ apiKey: key, baseUrl }) : null;
}

/** HeyGen's client, or a CredentialsError (exit 2) that says what to set. */
export function requireHeyGenClient(ctx: Ctx, apiUrl: string | undefined): HeyGenWebhookClient {
  const client = heygenClient(ctx, apiUrl);
  if (!client)
    throw new CredentialsError(
      'HEYGEN_API_KEY is not set: export HEYGEN_API_KEY=<your HeyGen API key> (HeyGen, Settings, API); it is read from the environment only',
    );
  return client;
}

export interface SecretSetup {
  readonly signingSecretId: string | undefined;
  readonly stateTable: string | undefined;
  readonly store: SigningSecretStore | undefined;
  /** The one-writer lease of the signing secret, shared with the deployed registrar and rotation. */
  lease(): RegistrarLease;
}

export async function secretSetup(ctx: Ctx, o: SecretOptions): Promise<SecretSetup> {
  const outputs = await ctx.outputs();
  const signingSecretId = o.signingSecretId ?? (o.secretFile ? undefined : outputs.signingSecretArn);
  const store: SigningSecretStore | undefined = o.secretFile
    ? new FileSigningSecretStore(o.secretFile)
    : signingSecretId
      ? new SecretsManagerSigningSecretStore(ctx.sm(), signingSecretId)
      : undefined;
  const stateTable = o.stateTable ?? outputs.stateTableName;
  return {
    signingSecretId,
    stateTable,
    store,
    lease: () => {
      if (o.secretFile) return { store: new FileLeaseStore(`${o.secretFile}.lease`), name: `heygen:${o.secretFile}` };
      if (!signingSecretId) throw new UsageError('no signing secret given');
      if (!stateTable) {
        throw new UsageError(
          "changing a Secrets Manager signing secret needs the relay's state table (its one-writer lease, shared with the deployed registrar and rotation): pass --stack or --state-table",
        );
      }
      return { store: new DynamoLeaseStore(ctx.ddb(), stateTable), name: `heygen:${signingSecretId}` };
    },
  };
}
