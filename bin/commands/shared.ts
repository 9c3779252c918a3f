/**
 * What every CLI command shares: the injected I/O and clients, exit codes, usage errors, the stack's
 * outputs (found by their stable ids), `--json` output and a progress line on a TTY.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { ARCHIVE_FAILED_SUFFIX, ARCHIVED_SUFFIX } from '../../functions/archive/outcome-types.js';
import { HEYGEN_EVENT_TYPES } from '../../providers/heygen/runtime/events.js';
import { JOGGAI_EVENT_TYPES } from '../../providers/joggai/runtime/events.js';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is a terminal (a progress line is drawn only then). @default false */
  readonly isTTY?: boolean;
  /** Raw writes to stderr (the progress line). @default process.stderr.write */
  readonly writeErr?: (text: string) => void;
  /** Aborts long-running commands (listen) as SIGINT/SIGTERM do. @default SIGINT/SIGTERM of this process */
  readonly signal?: AbortSignal;
  /** Injected for tests. */
  readonly secretsManager?: () => SecretsManagerClient;
  readonly cloudFormation?: () => CloudFormationClient;
  readonly dynamoDb?: () => DynamoDBClient;
  readonly s3?: () => S3Client;
  readonly eventBridge?: () => EventBridgeClient;
  readonly sqs?: () => SQSClient;
  readonly cloudWatch?: () => CloudWatchClient;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** How often long waits (redrive, replay) poll, in ms. @default 2000 */
  readonly pollMs?: number;
}

/** Exit codes (documented in docs/operating.md, "The CLI"). */
export const EXIT = {
  ok: 0,
  /** The command failed, or found what it was asked to act on in a bad state (e.g. still unpublishable). */
  failed: 1,
  /** A credential is missing or refused: HeyGen's API key, AWS credentials or region. */
  credentials: 2,
  /** `status`: the relay needs a person (see the report's "needs attention" lines). */
  attention: 3,
  /** EX_USAGE: bad arguments or options, or something they name is missing. */
  usage: 64,
  /** EX_TEMPFAIL: another writer holds the lease (registrar, rotation, backfill): try again. */
  busy: 75,
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface StackOutputs {
  webhookUrl?: string;
  joggaiWebhookUrl?: string;
  signingSecretArn?: string;
  apiKeySecretArn?: string;
  stateTableName?: string;
  parkedBucketName?: string;
  dedupTableName?: string;
  dedupWindowSeconds?: string;
  eventBusName?: string;
  defaultQueueUrl?: string;
  dashboardUrl?: string;
}

/**
 * Finds the relay's outputs by their stable ids (`HeyGenWebhookUrl`, `EventBusName`, ...; see the
 * construct's outputFactory). Ids with a construct-path prefix (a second relay in the stack) and the
 * older hashed ids (`RelaySigningSecretArn8D610EE0`) are matched by suffix; JoggAI's outputs share
 * some tails (`JoggAiSigningSecretArn`) and are excluded from HeyGen's.
 */
export async function readStackOutputs(
  cf: CloudFormationClient,
  stackName: string,
  source: string = DEFAULT_SOURCE,
): Promise<StackOutputs> {
  const res = await cf.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = res.Stacks?.[0]?.Outputs ?? [];
  return resolveOutputs(
    outputs.map((o) => ({ key: o.OutputKey ?? '', value: o.OutputValue })),
    stackName,
    source,
  );
}

/** The provider's default source (its outputs carry no `Source<Id>` prefix). */
export const DEFAULT_SOURCE = 'heygen';

/** A source id as its outputs' prefix spells it (lib/source.ts `outputName`): `heygen-staging` -> `HeygenStaging`. */
export function sourcePascal(id: string): string {
  return id.replace(/(^|[-_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
}

const SOURCE_PREFIX = /Source([A-Z0-9][A-Za-z0-9]*)$/;

/** The HeyGen sources a stack's outputs name: `heygen` for un-prefixed outputs, else the ids of `Source<Id>HeyGenWebhookUrl`. */
export function stackSources(keys: readonly string[]): string[] {
  const found = new Set<string>();
  for (const raw of keys) {
    const key = raw.replace(/[0-9A-F]{8}$/, '');
    if (!key.endsWith('HeyGenWebhookUrl')) continue;
    const m = SOURCE_PREFIX.exec(key.slice(0, -'HeyGenWebhookUrl'.length));
    // The id's separators are not in the prefix: `-` is the usual one (heygen-staging).
    found.add(m ? (m[1] as string).replace(/(?<=[a-z0-9])([A-Z])/g, '-$1').toLowerCase() : DEFAULT_SOURCE);
  }
  return [...found].sort();
}

/**
 * Resolves the outputs of one source: per-source outputs (webhook URL, signing and API-key secrets)
 * carry `Source<Id>` for a non-default source; the relay's shared ones do not. An id the stack has no
 * outputs for is a usage error listing the sources it has.
 */
export function resolveOutputs(
  outputs: readonly { key: string; value?: string }[],
  stackName: string,
  source: string = DEFAULT_SOURCE,
): StackOutputs {
  const perSource = new Set(['HeyGenWebhookUrl', 'SigningSecretArn', 'ApiKeySecretArn']);
  const isDefault = source === DEFAULT_SOURCE;
  const want = isDefault ? undefined : sourcePascal(source);
  const find = (name: string) => {
    const hits = outputs.filter((o) => {
      const key = o.key.replace(/[0-9A-F]{8}$/, '');
      if (!key.endsWith(name)) return false;
      const before = key.slice(0, -name.length);
      if (/JoggAi$/i.test(before)) return false;
      const m = SOURCE_PREFIX.exec(before);
      if (!perSource.has(name)) return !m;
      return want === undefined ? !m : m?.[1] === want;
    });
    if (hits.length > 1) {
      throw new UsageError(`stack ${stackName} has several ${name} outputs; pass the value explicitly`);
    }
    return hits[0]?.value;
  };
  if (!isDefault) {
    const have = stackSources(outputs.map((o) => o.key));
    if (!have.includes(source) && find('HeyGenWebhookUrl') === undefined)
      throw new UsageError(
        `stack ${stackName} has no source "${source}"; its sources: ${have.length ? have.join(', ') : '(none)'}`,
      );
  }
  const all: StackOutputs = {
    webhookUrl: find('HeyGenWebhookUrl'),
    joggaiWebhookUrl: find('JoggAiWebhookUrl'),
    signingSecretArn: find('SigningSecretArn'),
    apiKeySecretArn: find('ApiKeySecretArn'),
    stateTableName: find('StateTableName'),
    parkedBucketName: find('ParkedBucketName'),
    dedupTableName: find('DedupTableName'),
    dedupWindowSeconds: find('DedupWindowSeconds'),
    eventBusName: find('EventBusName'),
    defaultQueueUrl: find('DefaultQueueUrl'),
    dashboardUrl: find('DashboardUrl'),
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as StackOutputs;
}

interface NamedClient {
  readonly middlewareStack: { add(...args: never[]): void };
}

/** An AWS SDK error the CLI's clients tagged with the API call that failed (`SQS StartMessageMoveTask`). */
export interface AwsCallError extends Error {
  $call?: string;
}

/**
 * Tags every error of `client` with the call that failed (`$call`), so the one error line can name the
 * API; the error itself (its class and name, which callers test) is left as it is.
 */
function nameTheApi<T extends NamedClient>(client: T, service: string): T {
  (client.middlewareStack as unknown as SQSClient['middlewareStack']).add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err instanceof Error && !(err as AwsCallError).$call)
          (err as AwsCallError).$call = `${service} ${String(context.commandName ?? '').replace(/Command$/, '')}`;
        throw err;
      }
    },
    { step: 'initialize', name: 'heygenRelayNameTheApi', override: true },
  );
  return client;
}

/** Options every AWS-facing command takes. */
export interface CommonOptions {
  readonly stack?: string;
  /** The source (provider account) whose per-source outputs and state keys to use. @default 'heygen' */
  readonly source?: string;
  readonly json?: boolean;
}

/** One command's run: the I/O, lazily created clients, the stack's outputs, output helpers. */
export class Ctx {
  private outputsPromise?: Promise<StackOutputs>;
  private readonly clients = new Map<string, unknown>();

  constructor(
    readonly io: CliIo,
    readonly options: CommonOptions,
  ) {}

  private client<T extends NamedClient>(key: string, service: string, make: () => T): T {
    if (!this.clients.has(key)) this.clients.set(key, nameTheApi(make(), service));
    return this.clients.get(key) as T;
  }
  sm = () =>
    this.client<SecretsManagerClient>('sm', 'Secrets Manager', this.io.secretsManager ?? (() => new SecretsManagerClient({})));
  cf = () =>
    this.client<CloudFormationClient>('cf', 'CloudFormation', this.io.cloudFormation ?? (() => new CloudFormationClient({})));
  ddb = () => this.client<DynamoDBClient>('ddb', 'DynamoDB', this.io.dynamoDb ?? (() => new DynamoDBClient({})));
  s3 = () => this.client<S3Client>('s3', 'S3', this.io.s3 ?? (() => new S3Client({})));
  eb = () => this.client<EventBridgeClient>('eb', 'EventBridge', this.io.eventBridge ?? (() => new EventBridgeClient({})));
  sqs = () => this.client<SQSClient>('sqs', 'SQS', this.io.sqs ?? (() => new SQSClient({})));
  cw = () => this.client<CloudWatchClient>('cw', 'CloudWatch', this.io.cloudWatch ?? (() => new CloudWatchClient({})));

  now(): number {
    return (this.io.now ?? Date.now)();
  }

  get pollMs(): number {
    return this.io.pollMs ?? 2000;
  }

  /** The stack's outputs, or `{}` without `--stack`. */
  outputs(): Promise<StackOutputs> {
    const stack = this.options.stack;
    this.outputsPromise ??= stack ? readStackOutputs(this.cf(), stack, this.sourceId) : Promise.resolve({});
    return this.outputsPromise;
  }

  /** The source served (`--source`, default `heygen`): its evidence/checkpoint keys and Powertools service suffix. */
  get sourceId(): string {
    return this.options.source ?? DEFAULT_SOURCE;
  }

  /** A per-source service name (registrar, backfill): the default source's as is, else `<service>-<id>`. */
  service(base: string): string {
    return this.sourceId === DEFAULT_SOURCE ? base : `${base}-${this.sourceId}`;
  }

  /** The relay's event bus: `--bus`, else the stack's `EventBusName`. */
  async bus(explicit: string | undefined, command: string): Promise<string> {
    const bus = explicit ?? (await this.outputs()).eventBusName;
    if (!bus) throw new UsageError(`${command} needs --stack or --bus`);
    return bus;
  }

  emit(obj: unknown, lines: readonly string[]): void {
    if (this.options.json) this.io.out(JSON.stringify(obj, null, 2));
    else for (const l of lines) this.io.out(l);
  }

  /** A one-line progress display on stderr, drawn only on a TTY and never with --json. */
  progress(): { update(text: string): void; done(): void } {
    if (!this.io.isTTY || this.options.json) return { update() {}, done() {} };
    const write = this.io.writeErr ?? ((text: string) => process.stderr.write(text));
    let drawn = false;
    return {
      update: (text) => {
        write(`\r\x1b[2K${text}`);
        drawn = true;
      },
      done: () => {
        if (drawn) write('\r\x1b[2K');
        drawn = false;
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** `--stack NAME` and `--json`, as every AWS-facing command has them, then `more` options (`[flags, help]`). */
export function withCommon(cmd: Command, ...more: readonly (readonly [string, string])[]): Command {
  const common = cmd
    .option('--stack <name>', "read the relay's resources from this CloudFormation stack's outputs")
    .option('--json', 'print the result as JSON');
  return more.reduce((c, [flags, help]) => c.option(flags, help), common);
}

/** A command whose work is in its subcommands (`archive status`, `parked list`). */
export function commandGroup(program: Command, name: string, summary: string, description: string): Command {
  return program.command(name).summary(summary).description(description);
}

/** `--source ID`, on the commands that read a source's outputs (webhook URL, signing and API-key secrets). */
export function withSource(cmd: Command): Command {
  return cmd.option('--source <id>', 'the HeyGen account (source id) whose outputs and state to use (default: heygen)');
}

/** The runner a command's action hands its work to: it maps errors to exit codes (bin/commands/program.ts). */
export type Run = (work: () => Promise<number>) => Promise<void>;

/** Parses a positive integer option. */
export function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

/** A credential (HeyGen's API key, AWS credentials or region) is missing or refused: exit 2. */
export class CredentialsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CredentialsError';
  }
}

/** Every event type the relay knows (HeyGen's and JoggAI's), for options that name types. */
export function knownEventTypes(): readonly string[] {
  const provider = [...HEYGEN_EVENT_TYPES, ...JOGGAI_EVENT_TYPES];
  // The media archive's outcome events (`<type>.archived`, `<type>.archive_failed`) are on the bus too.
  return [...provider, ...provider.flatMap((t) => [`${t}${ARCHIVED_SUFFIX}`, `${t}${ARCHIVE_FAILED_SUFFIX}`])];
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}

/** The closest of `known` to `word`, when close enough to be a typo. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  let best: { w: string; d: number } | undefined;
  for (const w of known) {
    const d = distance(word, w);
    if (!best || d < best.d) best = { w, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 4)) ? best.w : undefined;
}

/** Refuses an event type the relay does not know, before anything is changed, with the closest known one. */
export function checkEventTypes(option: string, types: readonly string[], known: readonly string[] = knownEventTypes()): void {
  for (const t of types) {
    if (known.includes(t)) continue;
    const hint = didYouMean(t, known);
    throw new UsageError(
      `${option}: unknown event type ${JSON.stringify(t)}${hint ? `; did you mean ${hint}?` : ''} (heygen-relay event-types lists HeyGen's)`,
    );
  }
}

/** Splits repeated and comma-separated `--type` values. */
export function typeList(values: readonly string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
