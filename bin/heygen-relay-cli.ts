/**
 * heygen-relay operator CLI.
 *
 *   heygen-relay reconcile [--endpoint-url URL | --stack NAME] [--events a,b | --events all]
 *                          [--signing-secret-id ARN | --secret-file PATH] [--api-url URL] [--dry-run] [--json]
 *   heygen-relay rotate    [--stack NAME | --signing-secret-id ARN | --secret-file PATH] [--dry-run] [--json]
 *   heygen-relay event-types [--api-url URL] [--json]
 *
 * The HeyGen API key comes from HEYGEN_API_KEY (never from a flag, so it stays out of shell history).
 * Run from the repo with `npm run cli -- ...`; the installed package runs its compiled bin/cli.ts.
 * Kept apart from bin/cli.ts (the entry that runs main) so tests import it without side effects.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoLeaseStore } from '../functions/adapters/aws/dynamodb-lease.js';
import { EventBridgePublisher } from '../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedArchive } from '../functions/adapters/aws/parked-store.js';
import { SecretsManagerSigningSecretStore } from '../functions/adapters/aws/signing-secret-store.js';
import { FileLeaseStore } from '../functions/adapters/local/file-lease.js';
import { FileSinkPublisher } from '../functions/adapters/local/file-sink.js';
import { DirectoryParkedStore } from '../functions/adapters/local/parked-dir.js';
import { FileSigningSecretStore } from '../functions/adapters/local/signing-secret-file-store.js';
import { LeaseBusyError, LeaseLostError, withLease } from '../functions/core/lease.js';
import { WeakSigningSecretError } from '../functions/core/secret-quality.js';
import { MemorySigningSecretStore, type SigningSecretStore } from '../functions/core/secret-store.js';
import { listParked, republishParked } from '../functions/parked-ops.js';
import { DEFAULT_HEYGEN_API_URL, HeyGenWebhookClient } from '../functions/providers/heygen/api/client.js';
import { HeyGenError } from '../functions/providers/heygen/api/errors.js';
import {
  LEASE_TTL_MS,
  LEASE_WAIT_MS,
  normalizeUrl,
  type ReconcileSummary,
  type RegistrarLease,
  reconcile,
  SecretWriter,
} from '../functions/providers/heygen/registrar.js';
import { backfillCommand, describeBackfill } from './backfill-command.js';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** Injected for tests. */
  readonly secretsManager?: () => SecretsManagerClient;
  readonly cloudFormation?: () => CloudFormationClient;
  readonly dynamoDb?: () => DynamoDBClient;
  readonly s3?: () => S3Client;
  readonly eventBridge?: () => EventBridgeClient;
}

const USAGE = `Usage: heygen-relay <command> [options]

Commands:
  reconcile     make sure exactly one HeyGen endpoint points at the relay, with the right events,
                and that its signing secret is stored
  rotate        rotate the signing secret (via Secrets Manager rotation when the secret is there)
  event-types   list HeyGen's webhook event types
  parked list [--provider NAME] [--limit N]
                deliveries the intake parked (signed, but EventBridge could not take them as they were)
  parked republish KEY [--accept-lossy] [--dry-run]
                re-check a parked delivery with the current code and publish it (same envelope id);
                the record is deleted once EventBridge accepted it
  backfill      publish what HeyGen's event history delivered and the relay never published
                (--since DURATION, default 48h; needs --stack, or --dedup-table, --bus and --state-table)

Options:
  --endpoint-url URL        the relay's HeyGen webhook URL
  --stack NAME              read the URL and secret ARNs from a deployed stack's outputs
  --events LIST             comma-separated event types, or "all" (default: keep the endpoint's events)
  --signing-secret-id ID    Secrets Manager secret that holds the signing secret
  --secret-file PATH        local file that holds the signing secret instead
  --state-table NAME        the relay's state table (the one-writer lease); read from --stack when given
  --parked-bucket NAME      parked deliveries' bucket (default: from --stack); --parked-dir DIR for npm start's
  --bus NAME                the relay's event bus for republish and backfill (default: from --stack; locally the sink file)
  --provider NAME, --limit N, --accept-lossy    options of parked list / republish
  --api-url URL             HeyGen API base URL (default: $HEYGEN_API_URL or ${DEFAULT_HEYGEN_API_URL})
  --since DURATION          backfill: how far back (e.g. 48h, 3d, 90m)
  --dedup-table NAME        backfill: the relay's dedup table (read from --stack when given)
  --dry-run                 print the plan, change nothing
  --json                    print the result as JSON
  -h, --help                show this help

Environment: HEYGEN_API_KEY (required except for a plan without HeyGen), HEYGEN_API_URL, AWS_* for AWS access.`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface StackOutputs {
  webhookUrl?: string;
  signingSecretArn?: string;
  apiKeySecretArn?: string;
  stateTableName?: string;
  parkedBucketName?: string;
  dedupTableName?: string;
  eventBusName?: string;
}

/** Finds the relay's outputs by key suffix (construct paths prefix CloudFormation output ids). */
export async function readStackOutputs(cf: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  const res = await cf.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = res.Stacks?.[0]?.Outputs ?? [];
  // Output ids carry the construct path and a hash suffix (e.g. RelaySigningSecretArn8D610EE0). Other
  // providers' outputs share the tail (RelayJoggAiSigningSecretArn...), so those are excluded.
  const find = (name: string) => {
    const hits = outputs.filter((o) => {
      const key = (o.OutputKey ?? '').replace(/[0-9A-F]{8}$/, '');
      return key.endsWith(name) && !/JoggAi$/i.test(key.slice(0, -name.length));
    });
    if (hits.length > 1) {
      throw new UsageError(`stack ${stackName} has several ${name} outputs; pass the value explicitly`);
    }
    return hits[0]?.OutputValue;
  };
  return {
    webhookUrl: find('HeyGenWebhookUrl'),
    signingSecretArn: find('SigningSecretArn'),
    apiKeySecretArn: find('ApiKeySecretArn'),
    stateTableName: find('StateTableName'),
    parkedBucketName: find('ParkedBucketName'),
    dedupTableName: find('DedupTableName'),
    eventBusName: find('EventBusName'),
  };
}

function describeSummary(summary: ReconcileSummary): string[] {
  const lines: string[] = [];
  const verb = summary.dryRun ? 'would' : 'did';
  lines.push(
    `outcome: ${summary.outcome}${summary.dryRun ? ' (dry run)' : ''}; endpoint: ${summary.endpointId ?? '-'}; ` +
      `found ${summary.found.matching.length} endpoint(s) at the URL among ${summary.found.total ?? '?'}`,
  );
  if (summary.actions.length === 0 && summary.outcome === 'in_sync') lines.push('nothing to do');
  for (const a of summary.actions) {
    switch (a.type) {
      case 'create':
        lines.push(`${verb} create an endpoint for ${a.url} (${a.reason}), events: ${a.events?.join(',') ?? 'all'}`);
        break;
      case 'update':
        lines.push(`${verb} update events of ${a.endpointId}: ${a.from?.join(',') ?? 'all'} -> ${a.to?.join(',') ?? 'all'}`);
        break;
      case 'rotate':
        lines.push(`${verb} rotate the secret of ${a.endpointId} (${a.reason})`);
        break;
      case 'delete':
        lines.push(`${verb} delete duplicate endpoint ${a.endpointId}`);
        break;
      case 'store_secret':
        lines.push(`${verb} store the signing secret of ${a.endpointId} in ${a.store}`);
        break;
      case 'recover':
        lines.push(`${verb} replay an unstored secret change (${a.op}) of ${a.endpointId} and store its answer`);
        break;
      case 'update_url':
        lines.push(`${verb} point ${a.endpointId} back at ${a.to} (it delivered to ${a.from})`);
        break;
      case 'drop_pending':
        lines.push(`${verb} drop a stale pending rotation value`);
        break;
    }
  }
  for (const w of summary.warnings) lines.push(`warning: ${w}`);
  if (summary.message) lines.push(summary.message);
  return lines;
}

export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 64;
  }
  const { command, values } = parsed;
  if (values.help || command === undefined || command === 'help') {
    io.out(USAGE);
    return command === undefined && !values.help ? 64 : 0;
  }
  const sm = io.secretsManager ?? (() => new SecretsManagerClient({}));
  const cf = io.cloudFormation ?? (() => new CloudFormationClient({}));
  const apiUrl = values['api-url'] ?? io.env.HEYGEN_API_URL ?? DEFAULT_HEYGEN_API_URL;
  const apiKey = io.env.HEYGEN_API_KEY?.trim() || null;
  const client = apiKey ? new HeyGenWebhookClient({ apiKey, baseUrl: apiUrl }) : null;
  const emit = (obj: unknown, lines: string[]) => {
    if (values.json) io.out(JSON.stringify(obj, null, 2));
    else for (const l of lines) io.out(l);
  };

  try {
    const outputs = values.stack ? await readStackOutputs(cf(), values.stack) : {};
    const endpointUrl = values['endpoint-url'] ?? outputs.webhookUrl;
    const signingSecretId = values['signing-secret-id'] ?? (values['secret-file'] ? undefined : outputs.signingSecretArn);
    const store: SigningSecretStore | undefined = values['secret-file']
      ? new FileSigningSecretStore(values['secret-file'])
      : signingSecretId
        ? new SecretsManagerSigningSecretStore(sm(), signingSecretId)
        : undefined;

    const stateTable = values['state-table'] ?? outputs.stateTableName;
    /** The one-writer lease of the signing secret, shared with the deployed registrar and rotation. */
    const lease = (): RegistrarLease => {
      if (values['secret-file'])
        return { store: new FileLeaseStore(`${values['secret-file']}.lease`), name: `heygen:${values['secret-file']}` };
      if (!signingSecretId) throw new UsageError('no signing secret given');
      if (!stateTable) {
        throw new UsageError(
          "changing a Secrets Manager signing secret needs the relay's state table (its one-writer lease, shared with the deployed registrar and rotation): pass --stack or --state-table",
        );
      }
      return {
        store: new DynamoLeaseStore((io.dynamoDb ?? (() => new DynamoDBClient({})))(), stateTable),
        name: `heygen:${signingSecretId}`,
      };
    };

    switch (command) {
      case 'event-types': {
        if (!client) throw new UsageError('HEYGEN_API_KEY is not set');
        const types = await client.listEventTypes();
        emit(
          types,
          types.map((t) => `${t.event_type}\t${t.description}`),
        );
        return 0;
      }
      case 'reconcile': {
        if (!endpointUrl) throw new UsageError('reconcile needs --endpoint-url or --stack');
        if (!/^https:\/\//.test(endpointUrl)) throw new UsageError('--endpoint-url must be an https:// URL');
        if (!store && !values['dry-run']) {
          throw new UsageError('reconcile needs --signing-secret-id, --secret-file or --stack to store the secret');
        }
        const events =
          values.events === undefined
            ? undefined
            : values.events === 'all'
              ? null
              : values.events
                  .split(',')
                  .map((e) => e.trim())
                  .filter((e) => e !== '');
        const summary = await reconcile(
          { url: endpointUrl, events },
          {
            client,
            secretStore: store ?? new MemorySigningSecretStore(null, '(none: dry run)'),
            dryRun: values['dry-run'] === true,
            apiKeyHint: 'set the HEYGEN_API_KEY environment variable to your HeyGen API key.',
            ...(store && !values['dry-run'] && client ? { lease: lease() } : {}),
          },
        );
        emit(summary, describeSummary(summary));
        if (summary.outcome === 'busy') return 75; // EX_TEMPFAIL: try again
        return summary.outcome === 'missing_api_key' || summary.outcome === 'unauthorized' ? 2 : 0;
      }
      case 'rotate': {
        if (signingSecretId && !values['secret-file']) {
          // Let the deployed rotation function do it: the 4-step protocol keeps it crash-safe.
          if (values['dry-run']) {
            emit({ plan: 'RotateSecret', secretId: signingSecretId }, [
              `would start a Secrets Manager rotation of ${signingSecretId}`,
            ]);
            return 0;
          }
          const res = await sm().send(new RotateSecretCommand({ SecretId: signingSecretId, RotateImmediately: true }));
          emit({ started: true, secretId: signingSecretId, versionId: res.VersionId }, [
            `started rotation of ${signingSecretId} (version ${res.VersionId ?? '?'}); the rotation function rotates at HeyGen and stores the new secret`,
          ]);
          return 0;
        }
        if (!store) throw new UsageError('rotate needs --stack, --signing-secret-id or --secret-file');
        if (!client) throw new UsageError('HEYGEN_API_KEY is not set');
        const fileStore = store;
        const l = lease();
        const result = await withLease(
          l.store,
          l.name,
          { owner: `cli-${randomUUID()}`, ttlMs: LEASE_TTL_MS, waitMs: LEASE_WAIT_MS },
          async (grant) => {
            const writer = new SecretWriter(grant, l.store, client, fileStore);
            if (writer.leftover) {
              throw new UsageError(
                'a previous writer left a secret change unstored: run reconcile first (it replays and stores it)',
              );
            }
            const snapshot = await fileStore.read();
            let endpointId = snapshot.current?.endpointId ?? null;
            const url = snapshot.current?.url ?? endpointUrl ?? null;
            if (!endpointId && url) {
              const target = normalizeUrl(url);
              endpointId = (await client.listEndpoints()).find((e) => normalizeUrl(e.url) === target)?.endpoint_id ?? null;
            }
            if (!endpointId) throw new UsageError('no endpoint known: run reconcile first (or pass --endpoint-url)');
            if (values['dry-run']) return { endpointId, dryRun: true };
            const id = endpointId;
            await writer.rotate(id, `cli-rotate-${randomUUID()}`, snapshot.version, async (rotated) => {
              await writer.storeIssued({ secret: rotated.secret, endpointId: id, url: url ?? '' }, snapshot.version);
            });
            return { endpointId, dryRun: false };
          },
        );
        if (result.dryRun) {
          emit({ plan: 'rotate-secret', endpointId: result.endpointId }, [
            `would rotate the secret of ${result.endpointId} and store it in ${store.name}`,
          ]);
          return 0;
        }
        emit({ rotated: true, endpointId: result.endpointId, store: store.name }, [
          `rotated the secret of ${result.endpointId}; stored in ${store.name}`,
        ]);
        return 0;
      }
      case 'parked': {
        const [sub, key] = parsed.args;
        const dir = values['parked-dir'];
        const bucket = values['parked-bucket'] ?? outputs.parkedBucketName;
        if (!dir && !bucket) throw new UsageError('parked needs --stack, --parked-bucket or --parked-dir');
        const local = dir ? new DirectoryParkedStore(dir) : undefined;
        const archive = local ?? new S3ParkedArchive((io.s3 ?? (() => new S3Client({})))(), bucket as string);
        if (sub === 'list') {
          const limit = values.limit === undefined ? undefined : Number(values.limit);
          if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
            throw new UsageError('--limit must be a positive integer');
          const items = await listParked(archive, {
            ...(values.provider ? { provider: values.provider } : {}),
            ...(limit ? { limit } : {}),
          });
          emit(
            items,
            items.length === 0
              ? ['no parked deliveries']
              : items.map((p) => `${p.parkedAt}\t${p.provider}\t${p.reason}\t${p.bytes} B\t${p.key}`),
          );
          return 0;
        }
        if (sub === 'republish') {
          if (!key) throw new UsageError('parked republish needs the KEY shown by parked list');
          const bus = values.bus ?? outputs.eventBusName;
          const publisher = local
            ? new FileSinkPublisher(values.bus ?? '.relay/events.jsonl')
            : bus
              ? new EventBridgePublisher((io.eventBridge ?? (() => new EventBridgeClient({})))(), bus)
              : undefined;
          if (!publisher) throw new UsageError('parked republish needs --stack or --bus');
          const result = await republishParked({ archive, publisher }, key, {
            acceptLossy: values['accept-lossy'] === true,
            dryRun: values['dry-run'] === true,
          });
          if (values['accept-lossy'] && !values.json)
            io.err(
              'warning: --accept-lossy publishes what JSON.parse makes of the body, which differs from what the provider sent',
            );
          const line =
            result.outcome === 'still_unpublishable'
              ? `${key}: still unpublishable (${result.reason}): ${result.message}`
              : `${key}: ${result.outcome.replace('_', ' ')}`;
          emit(result, [line]);
          return result.outcome === 'published' || result.outcome === 'would_publish' ? 0 : 1;
        }
        throw new UsageError('parked needs list or republish');
      }
      case 'backfill': {
        if (!client) throw new UsageError('HEYGEN_API_KEY is not set');
        const dedupTable = values['dedup-table'] ?? outputs.dedupTableName;
        const eventBus = values.bus ?? outputs.eventBusName;
        if (!dedupTable || !eventBus || !stateTable || !signingSecretId)
          throw new UsageError('backfill needs --stack, or --dedup-table, --bus, --state-table and --signing-secret-id');
        let summary: Awaited<ReturnType<typeof backfillCommand>>;
        try {
          summary = await backfillCommand({
            since: values.since,
            dryRun: values['dry-run'] === true,
            client,
            dedupTable,
            eventBus,
            stateTable,
            signingSecretId,
            ...(io.dynamoDb ? { dynamoDb: io.dynamoDb } : {}),
          });
        } catch (err) {
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        }
        emit(summary, describeBackfill(summary));
        return summary.outcome === 'busy' ? 75 : summary.failed > 0 ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      return 64;
    }
    if (err instanceof LeaseBusyError) {
      io.err(`error: ${err.message}`);
      return 75;
    }
    if (err instanceof HeyGenError || err instanceof LeaseLostError || err instanceof WeakSigningSecretError) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    io.err(`error: ${(err as Error).name}: ${(err as Error).message}`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'endpoint-url': { type: 'string' },
      stack: { type: 'string' },
      events: { type: 'string' },
      'signing-secret-id': { type: 'string' },
      'secret-file': { type: 'string' },
      'state-table': { type: 'string' },
      'parked-bucket': { type: 'string' },
      'parked-dir': { type: 'string' },
      bus: { type: 'string' },
      provider: { type: 'string' },
      limit: { type: 'string' },
      'accept-lossy': { type: 'boolean' },
      'api-url': { type: 'string' },
      since: { type: 'string' },
      'dedup-table': { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const max = positionals[0] === 'parked' ? 3 : 1;
  if (positionals.length > max) throw new UsageError(`unexpected arguments: ${positionals.slice(max).join(' ')}`);
  return { command: positionals[0], args: positionals.slice(1), values };
}

function defaultIo(): CliIo {
  return {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}
