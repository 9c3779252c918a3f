/** `heygen-relay rotate`: rotate the signing secret (through Secrets Manager's rotation when the secret lives there). */
import { randomUUID } from 'node:crypto';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { withLease } from '../../functions/core/lease.js';
import { LEASE_TTL_MS, LEASE_WAIT_MS, normalizeUrl, SecretWriter } from '../../providers/heygen/runtime/registrar.js';
import { requireHeyGenClient, secretCommand, secretSetup } from './heygen-common.js';
import { type CliIo, Ctx, EXIT, type Run, UsageError } from './shared.js';

interface Options {
  stack?: string;
  source?: string;
  json?: boolean;
  endpointUrl?: string;
  signingSecretId?: string;
  secretFile?: string;
  stateTable?: string;
  apiUrl?: string;
  dryRun?: boolean;
}

async function run(ctx: Ctx, o: Options): Promise<number> {
  const setup = await secretSetup(ctx, o);
  const { signingSecretId, store } = setup;
  const endpointUrl = o.endpointUrl ?? (await ctx.outputs()).webhookUrl;
  if (signingSecretId && !o.secretFile) {
    // Let the deployed rotation function do it: the 4-step protocol keeps it crash-safe.
    if (o.dryRun) {
      ctx.emit({ plan: 'RotateSecret', secretId: signingSecretId }, [
        `would start a Secrets Manager rotation of ${signingSecretId}`,
      ]);
      return EXIT.ok;
    }
    const res = await ctx.sm().send(new RotateSecretCommand({ SecretId: signingSecretId, RotateImmediately: true }));
    ctx.emit({ started: true, secretId: signingSecretId, versionId: res.VersionId }, [
      `started rotation of ${signingSecretId} (version ${res.VersionId ?? '?'}); the rotation function rotates at HeyGen and stores the new secret`,
    ]);
    return EXIT.ok;
  }
  if (!store) throw new UsageError('rotate needs --stack, --signing-secret-id or --secret-file');
  const client = requireHeyGenClient(ctx, o.apiUrl);
  const l = setup.lease();
  const result = await withLease(
    l.store,
    l.name,
    { owner: `cli-${randomUUID()}`, ttlMs: LEASE_TTL_MS, waitMs: LEASE_WAIT_MS },
    async (grant) => {
      const writer = new SecretWriter(grant, l.store, client, store);
      if (writer.leftover) {
        throw new UsageError('a previous writer left a secret change unstored: run reconcile first (it replays and stores it)');
      }
      const snapshot = await store.read();
      let endpointId = snapshot.current?.endpointId ?? null;
      const url = snapshot.current?.url ?? endpointUrl ?? null;
      if (!endpointId && url) {
        const target = normalizeUrl(url);
        endpointId = (await client.listEndpoints()).find((e) => normalizeUrl(e.url) === target)?.endpoint_id ?? null;
      }
      if (!endpointId) throw new UsageError('no endpoint known: run reconcile first (or pass --endpoint-url)');
      if (o.dryRun) return { endpointId, dryRun: true };
      const id = endpointId;
      await writer.rotate(id, `cli-rotate-${randomUUID()}`, snapshot.version, async (rotated) => {
        await writer.storeIssued({ secret: rotated.secret, endpointId: id, url: url ?? '' }, snapshot.version);
      });
      return { endpointId, dryRun: false };
    },
  );
  if (result.dryRun) {
    ctx.emit({ plan: 'rotate-secret', endpointId: result.endpointId }, [
      `would rotate the secret of ${result.endpointId} and store it in ${store.name}`,
    ]);
    return EXIT.ok;
  }
  ctx.emit({ rotated: true, endpointId: result.endpointId, store: store.name }, [
    `rotated the secret of ${result.endpointId}; stored in ${store.name}`,
  ]);
  return EXIT.ok;
}

export function register(program: Command, io: CliIo, runner: Run): void {
  secretCommand(
    program,
    'rotate',
    {
      summary: 'rotate the signing secret (via Secrets Manager rotation when the secret is there)',
      description:
        "Rotate HeyGen's signing secret. With a Secrets Manager secret (--stack or --signing-secret-id) this starts the deployed rotation (its 4 steps keep it crash-safe); with --secret-file it rotates at HeyGen under the file's lease. Needs HEYGEN_API_KEY for --secret-file.",
    },
    ['--endpoint-url <url>', "the relay's HeyGen webhook URL, to find the endpoint when the secret names none"],
  ).action((o: Options) => runner(() => run(new Ctx(io, o), o)));
}
