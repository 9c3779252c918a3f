/**
 * The relay stack, provisioned on the moto emulator FROM ITS SYNTHESIZED TEMPLATE: nothing here is
 * a hand-written copy of the construct. We synthesize `HeyGenRelayStack` (lib/relay-stack.ts),
 * walk `Template.fromStack(stack).toJSON()`, create the resources the data path needs (event bus,
 * rules + targets, queues with their redrive policies, dedup table + TTL, secrets with their initial
 * SecretString) with the real SDK v3 clients, resolve `Ref` / `Fn::GetAtt` / `Fn::Join` between
 * them, and read the ingress function's `Environment` with every reference resolved to the real
 * names and ARNs on the emulator.
 *
 * `loadIngressEntry()` then imports the real Lambda entry (functions/entries/ingress.ts) with that
 * environment plus `AWS_ENDPOINT_URL`, so the handler under test is built by the very code Lambda
 * runs: loadIngressConfig, sdkClientConfig, the AWS adapters, the middy handler.
 *
 * Resources the emulator does not need for the data path (IAM, Lambda, log groups, alarms, the
 * archive, queue policies, outputs) are listed in `skipped`, not silently ignored.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { DedupMode } from '../../functions/core/ports.js';
import { HeyGenRelayStack, type HeyGenRelayStackProps } from '../../lib/relay-stack.js';
import { awsClientConfig, MOTO_ACCOUNT_ID, MOTO_REGION } from './moto.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface CfnResource {
  Type: string;
  Properties?: Record<string, Json>;
  DependsOn?: string | string[];
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  [k: string]: unknown;
}

/** Synthesizes the stack without bundling (no esbuild/Docker) and without cdk-nag validation. */
export function synthesizeRelayTemplate(props: HeyGenRelayStackProps = {}, stackId = 'RelayUnderTest'): CfnTemplate {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new HeyGenRelayStack(app, stackId, props);
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}

export interface ProvisionedQueue {
  readonly logicalId: string;
  readonly url: string;
  readonly arn: string;
  readonly attributes: Record<string, string>;
}

export interface ProvisionedRule {
  readonly logicalId: string;
  readonly name: string;
  readonly eventPattern: Record<string, unknown>;
  /** Logical ids of the queues this rule targets. */
  readonly targetQueues: string[];
  /** Logical ids of the DLQs of those targets (DeadLetterConfig). */
  readonly targetDeadLetterQueues: string[];
}

export interface EmulatorStack {
  readonly template: CfnTemplate;
  readonly endpoint: string;
  readonly busName: string;
  readonly tableName: string;
  /** ARN of the HeyGen signing-secret secret (what RELAY_PROVIDERS[0].secretId resolves to). */
  readonly signingSecretArn: string;
  readonly secretArns: Record<string, string>;
  readonly queues: Record<string, ProvisionedQueue>;
  readonly rules: ProvisionedRule[];
  /** The ingress function's Environment.Variables with every reference resolved. */
  readonly ingressEnv: Record<string, string>;
  /** Resource types present in the template and deliberately not provisioned. */
  readonly skipped: Record<string, number>;
  readonly clients: { ddb: DynamoDBClient; eb: EventBridgeClient; sm: SecretsManagerClient; sqs: SQSClient; s3: S3Client };
  /** The parked-deliveries bucket's name (PARKED_BUCKET_NAME). */
  readonly parkedBucket: string;
  /**
   * The Environment.Variables of the template's function whose variables satisfy `match` (e.g. the
   * backfill's, with LEASE_NAME heygen-backfill:…), every reference resolved like the ingress's.
   */
  /**
   * The environment of the first function `match` accepts. `unresolved`: variables that may reference
   * something not provisioned here (e.g. the Function URL); left out instead of ruling the function out.
   */
  functionEnv(match: (vars: Record<string, string>) => boolean, unresolved?: readonly string[]): Promise<Record<string, string>>;
  /** Resolves a template value (`Ref`, `Fn::GetAtt`, `Fn::Join`) against what was provisioned and the `externals`. */
  resolve(value: unknown): Promise<unknown>;
  destroy(): void;
}

const PROVISIONED = new Set([
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::SecretsManager::Secret',
  'AWS::S3::Bucket',
]);

/**
 * Rules are provisioned when they are bus rules whose every target is a queue of the template (the
 * fan-out); schedule rules targeting functions (registrar) are skipped like the functions.
 */
function isProvisioned(res: CfnResource, resources: Record<string, CfnResource>): boolean {
  if (!PROVISIONED.has(res.Type)) return false;
  if (res.Type !== 'AWS::Events::Rule') return true;
  const props = res.Properties ?? {};
  const targets = (props.Targets ?? []) as { Arn?: { 'Fn::GetAtt'?: [string, string] } }[];
  return (
    props.EventPattern !== undefined &&
    targets.length > 0 &&
    targets.every((t) => resources[t.Arn?.['Fn::GetAtt']?.[0] ?? '']?.Type === 'AWS::SQS::Queue')
  );
}

interface Created {
  ref: string;
  attrs: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Creates the template's data-path resources on the emulator. `prefix` makes every physical name
 * unique (test files share one server).
 */
export async function provisionFromTemplate(
  template: CfnTemplate,
  endpoint: string,
  prefix = `t${randomUUID().slice(0, 8)}`,
  /** Resources served outside the emulator (e.g. the ingress's Function URL on a local port): logical id -> ref and attributes. */
  externals: Record<string, { ref?: string; attrs?: Record<string, string> }> = {},
): Promise<EmulatorStack> {
  const config = awsClientConfig(endpoint);
  const clients = {
    ddb: new DynamoDBClient(config),
    eb: new EventBridgeClient(config),
    sm: new SecretsManagerClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
  const resources = template.Resources;
  const created = new Map<string, Promise<Created>>();
  const skipped: Record<string, number> = {};
  for (const r of Object.values(resources)) if (!isProvisioned(r, resources)) skipped[r.Type] = (skipped[r.Type] ?? 0) + 1;
  const queues: Record<string, ProvisionedQueue> = {};
  const rules: ProvisionedRule[] = [];
  const secretArns: Record<string, string> = {};
  const physical = (logicalId: string) => `${prefix}-${logicalId}`.slice(0, 80);

  function get(logicalId: string): Promise<Created> {
    let p = created.get(logicalId);
    const external = externals[logicalId];
    if (!p && external) {
      p = Promise.resolve({ ref: external.ref ?? logicalId, attrs: external.attrs ?? {} });
      created.set(logicalId, p);
    }
    if (!p) {
      const res = resources[logicalId];
      if (!res) throw new Error(`Template references unknown resource ${logicalId}`);
      if (!isProvisioned(res, resources))
        throw new Error(`Reference to ${logicalId} (${res.Type}), which the emulator stack does not provision`);
      p = create(logicalId, res);
      created.set(logicalId, p);
    }
    return p;
  }

  async function resolve(value: Json | undefined): Promise<Json | undefined> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => resolve(v) as Promise<Json>));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref') {
      const target = value.Ref as string;
      if (target === 'AWS::Region') return MOTO_REGION;
      if (target === 'AWS::AccountId') return MOTO_ACCOUNT_ID;
      if (target === 'AWS::Partition') return 'aws';
      if (target === 'AWS::URLSuffix') return 'amazonaws.com';
      return (await get(target)).ref;
    }
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const [id, attr] = value['Fn::GetAtt'] as [string, string];
      const c = await get(id);
      const v = c.attrs[attr];
      if (v === undefined) throw new Error(`Fn::GetAtt ${id}.${attr} is not known to the emulator stack`);
      return v;
    }
    if (keys.length === 1 && keys[0] === 'Fn::Join') {
      const [sep, parts] = value['Fn::Join'] as [string, Json[]];
      const resolved = await Promise.all(parts.map((p) => resolve(p)));
      return resolved.map((p) => String(p)).join(sep);
    }
    if (keys.length === 1 && keys[0]?.startsWith('Fn::'))
      throw new Error(`Intrinsic ${keys[0]} is not supported by the emulator stack`);
    const out: Record<string, Json> = {};
    for (const k of keys) out[k] = (await resolve(value[k])) as Json;
    return out;
  }

  async function create(logicalId: string, res: CfnResource): Promise<Created> {
    const props = (await resolve(res.Properties ?? {})) as Record<string, Json>;
    switch (res.Type) {
      case 'AWS::SecretsManager::Secret': {
        const out = await clients.sm.send(
          new CreateSecretCommand({
            Name: physical(logicalId),
            Description: props.Description as string | undefined,
            ...(props.SecretString !== undefined ? { SecretString: props.SecretString as string } : {}),
          }),
        );
        if (!out.ARN) throw new Error('CreateSecret returned no ARN');
        secretArns[logicalId] = out.ARN;
        return { ref: out.ARN, attrs: { Id: out.ARN } };
      }
      case 'AWS::Events::EventBus': {
        const name = physical(String(props.Name ?? logicalId));
        const out = await clients.eb.send(new CreateEventBusCommand({ Name: name }));
        const arn = out.EventBusArn ?? `arn:aws:events:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:event-bus/${name}`;
        return { ref: name, attrs: { Arn: arn, Name: name } };
      }
      case 'AWS::SQS::Queue': {
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries(props)) {
          if (k === 'QueueName' || k === 'Tags') continue;
          attributes[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
        }
        const name = String(props.QueueName ?? physical(logicalId));
        const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
        if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
        const got = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
        const all = got.Attributes ?? {};
        if (!all.QueueArn) throw new Error('GetQueueAttributes returned no QueueArn');
        queues[logicalId] = { logicalId, url: QueueUrl, arn: all.QueueArn, attributes: all };
        return { ref: QueueUrl, attrs: { Arn: all.QueueArn, QueueUrl, QueueName: name } };
      }
      case 'AWS::DynamoDB::Table': {
        const name = String(props.TableName ?? physical(logicalId));
        await clients.ddb.send(
          new CreateTableCommand({
            TableName: name,
            KeySchema: props.KeySchema as never,
            AttributeDefinitions: props.AttributeDefinitions as never,
            BillingMode: (props.BillingMode as 'PAY_PER_REQUEST' | undefined) ?? 'PAY_PER_REQUEST',
            ...(props.SSESpecification
              ? { SSESpecification: { Enabled: Boolean((props.SSESpecification as Record<string, Json>).SSEEnabled) } }
              : {}),
          }),
        );
        const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
        if (ttl?.AttributeName)
          await clients.ddb.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true },
            }),
          );
        return { ref: name, attrs: { Arn: `arn:aws:dynamodb:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:table/${name}` } };
      }
      case 'AWS::Events::Rule': {
        const name = physical(String(props.Name ?? logicalId)).slice(0, 64);
        const busName = props.EventBusName as string | undefined;
        const eventPattern = props.EventPattern as Record<string, unknown>;
        const out = await clients.eb.send(
          new PutRuleCommand({
            Name: name,
            EventBusName: busName,
            EventPattern: JSON.stringify(eventPattern),
            State: (props.State as 'ENABLED' | undefined) ?? 'ENABLED',
            Description: props.Description as string | undefined,
          }),
        );
        const targets = (props.Targets ?? []) as unknown as Target[];
        if (targets.length > 0) {
          const put = await clients.eb.send(new PutTargetsCommand({ Rule: name, EventBusName: busName, Targets: targets }));
          if ((put.FailedEntryCount ?? 0) > 0)
            throw new Error(`PutTargets failed for ${logicalId}: ${JSON.stringify(put.FailedEntries)}`);
        }
        const byArn = (arn: string | undefined) => Object.values(queues).find((q) => q.arn === arn)?.logicalId;
        rules.push({
          logicalId,
          name,
          eventPattern,
          targetQueues: targets.map((t) => byArn(t.Arn)).filter((x): x is string => x !== undefined),
          targetDeadLetterQueues: targets.map((t) => byArn(t.DeadLetterConfig?.Arn)).filter((x): x is string => x !== undefined),
        });
        return { ref: name, attrs: { Arn: out.RuleArn ?? name } };
      }
      case 'AWS::S3::Bucket': {
        const name = physical(logicalId).toLowerCase().slice(0, 63);
        await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
        return { ref: name, attrs: { Arn: `arn:aws:s3:::${name}` } };
      }
      default:
        throw new Error(`unreachable: ${res.Type}`);
    }
  }

  // Everything on the data path, in an order the references resolve themselves (get() recurses).
  for (const [id, r] of Object.entries(resources)) if (isProvisioned(r, resources)) await get(id);

  const fn = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties?.Environment ?? {}).includes('"RELAY_PROVIDERS"'),
  );
  if (!fn) throw new Error('The template has no ingress function (no Lambda::Function with RELAY_PROVIDERS)');
  const vars = (fn[1].Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
  const ingressEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) ingressEnv[k] = String(await resolve(v));

  const providers = JSON.parse(ingressEnv.RELAY_PROVIDERS ?? '[]') as { name: string; secretId: string }[];
  const signingSecretArn = providers.find((p) => p.name === 'heygen')?.secretId;
  if (!signingSecretArn) throw new Error('RELAY_PROVIDERS names no heygen secret');
  return {
    template,
    endpoint,
    busName: ingressEnv.EVENT_BUS_NAME ?? '',
    tableName: ingressEnv.DEDUP_TABLE_NAME ?? '',
    parkedBucket: ingressEnv.PARKED_BUCKET_NAME ?? '',
    signingSecretArn,
    secretArns,
    queues,
    rules,
    ingressEnv,
    skipped,
    clients,
    async functionEnv(match, unresolved = []) {
      for (const r of Object.values(resources)) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        const raw = (r.Properties?.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {};
        const out: Record<string, string> = {};
        try {
          for (const [k, v] of Object.entries(raw)) {
            if (unresolved.includes(k)) {
              const value = await resolve(v).catch(() => undefined);
              if (value !== undefined) out[k] = String(value);
            } else out[k] = String(await resolve(v));
          }
        } catch {
          continue; // references something off the data path (not this function)
        }
        if (match(out)) return out;
      }
      throw new Error('No function of the template has such an environment');
    },
    resolve: (value) => resolve(value as Json),
    destroy() {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}

export type IngressHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Imports the real Lambda entry (functions/entries/ingress.ts) with the stack's resolved environment and
 * the SDK's standard emulator variables. A fresh module graph each call (vi.resetModules), so
 * every call is a cold start with empty caches, exactly like a new execution environment.
 * `awsEndpoint` may be a fault-injecting proxy in front of moto.
 */
export async function loadIngressEntry(
  stack: EmulatorStack,
  options: { awsEndpoint?: string; env?: Record<string, string> } = {},
): Promise<IngressHandler> {
  const { vi } = await import('vitest');
  Object.assign(process.env, stack.ingressEnv, {
    AWS_ENDPOINT_URL: options.awsEndpoint ?? stack.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    ...options.env,
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  vi.resetModules();
  const mod = (await import('../../functions/entries/ingress.js')) as { handler: IngressHandler };
  return mod.handler;
}

/** Environment overrides that switch every provider of the template's ingress to dedup `mode`. */
export function dedupModeEnv(stack: EmulatorStack, mode: DedupMode): Record<string, string> {
  const providers = (JSON.parse(stack.ingressEnv.RELAY_PROVIDERS ?? '[]') as object[]).map((p) => ({ ...p, dedupMode: mode }));
  return { RELAY_PROVIDERS: JSON.stringify(providers) };
}

let invocation = 0;
/** A Lambda context good enough for the Powertools middlewares. */
export function lambdaContext(): Context {
  invocation++;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'RelayIngress',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:function:RelayIngress`,
    memoryLimitInMB: '256',
    awsRequestId: `inv-${invocation}-${randomUUID()}`,
    logGroupName: '/aws/lambda/RelayIngress',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Receives (and deletes) every message in a queue until it stays empty for `quietPolls` polls. */
export async function drainQueue(sqs: SQSClient, queueUrl: string, quietPolls = 3): Promise<Message[]> {
  const out: Message[] = [];
  let quiet = 0;
  while (quiet < quietPolls) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      quiet++;
      await new Promise((res) => setTimeout(res, 50));
      continue;
    }
    quiet = 0;
    out.push(...msgs);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
  return out;
}

/**
 * Consumes queues while a test runs (receive + delete, like a real consumer), so moto's queues stay
 * short: its ReceiveMessage scans every message in the queue.
 */
export class QueueCollector {
  readonly messages = new Map<string, Message[]>();
  private stopping = false;
  private loops: Promise<void>[] = [];
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrls: Record<string, string>,
  ) {
    for (const id of Object.keys(queueUrls)) this.messages.set(id, []);
  }
  start(): this {
    this.loops = Object.entries(this.queueUrls).map(([id, url]) => this.loop(id, url));
    return this;
  }
  private async loop(id: string, url: string): Promise<void> {
    const sink = this.messages.get(id) as Message[];
    while (!this.stopping) {
      const got = await drainQueue(this.sqs, url, 1);
      sink.push(...got);
      if (got.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    sink.push(...(await drainQueue(this.sqs, url, 3)));
  }
  /** Stops after a final drain that finds every queue empty several times in a row. */
  async stop(): Promise<Map<string, Message[]>> {
    this.stopping = true;
    await Promise.all(this.loops);
    return this.messages;
  }
}

/** The relay envelope (`detail`) of each EventBridge message in the queue. */
export function envelopes(messages: Message[]): { id: string; type: string; provider: string; detailType: string }[] {
  return messages.map((m) => {
    const ev = JSON.parse(m.Body ?? '{}') as { 'detail-type': string; detail: { id: string; type: string; provider: string } };
    return { id: ev.detail.id, type: ev.detail.type, provider: ev.detail.provider, detailType: ev['detail-type'] };
  });
}

/** Does an EventBridge pattern of the shapes the construct emits (source / detail-type lists) match? */
export function patternMatches(pattern: Record<string, unknown>, source: string, detailType: string): boolean {
  const src = pattern.source as string[] | undefined;
  const dt = pattern['detail-type'] as string[] | undefined;
  for (const k of Object.keys(pattern))
    if (k !== 'source' && k !== 'detail-type') throw new Error(`pattern key ${k} is not understood by patternMatches`);
  return (!src || src.includes(source)) && (!dt || dt.includes(detailType));
}

/** What sending deliveries like a provider produced. */
export interface ProviderSendStats {
  /** Outcome of each delivery's first attempt: `published`, `duplicate`, or `<status>:<code>`. */
  readonly firstAttempt: Record<string, number>;
  /** Outcome of every attempt. */
  readonly statuses: Record<string, number>;
  /** Envelope id -> number of 200 "published" answers for it. */
  readonly published: Map<string, number>;
  readonly retries: number;
  /** Per attempt, ms. */
  readonly latencies: number[];
  /** Every attempt: which body, and when it was sent and answered (ms since the epoch). */
  readonly attempts: { body: string; start: number; end: number }[];
  readonly elapsedMs: number;
}

/**
 * Sends every body the way HeyGen and JoggAI do: `workers` senders in parallel, each retrying a
 * non-2xx answer with a growing pause. Only 409 (in flight) and 5xx may be retried; any other
 * answer, or more than `maxAttempts` attempts, fails the run.
 */
export async function sendLikeProvider(
  bodies: readonly string[],
  workers: number,
  maxAttempts: number,
  deliver: (body: string, worker: number) => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<ProviderSendStats> {
  const firstAttempt: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const published = new Map<string, number>();
  const latencies: number[] = [];
  const attempts: ProviderSendStats['attempts'] = [];
  let retries = 0;
  let next = 0;
  const started = Date.now();
  async function worker(index: number) {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      for (let attempt = 1; ; attempt++) {
        const t0 = Date.now();
        const res = await deliver(body, index);
        const t1 = Date.now();
        latencies.push(t1 - t0);
        attempts.push({ body, start: t0, end: t1 });
        const parsed = JSON.parse(res.body ?? '{}') as { status?: string; id?: string; error?: { code: string } };
        const outcome = res.statusCode === 200 ? (parsed.status ?? '200') : `${res.statusCode}:${parsed.error?.code}`;
        statuses[outcome] = (statuses[outcome] ?? 0) + 1;
        if (attempt === 1) firstAttempt[outcome] = (firstAttempt[outcome] ?? 0) + 1;
        if (res.statusCode === 200) {
          if (parsed.status === 'published' && parsed.id) published.set(parsed.id, (published.get(parsed.id) ?? 0) + 1);
          break;
        }
        if (![409, 500, 502, 503, 504].includes(res.statusCode ?? 0))
          throw new Error(`A provider would not retry ${outcome}, and a valid delivery must not get it`);
        if (attempt >= maxAttempts) throw new Error(`Still ${outcome} after ${attempt} attempts`);
        retries++;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
  return { firstAttempt, statuses, published, retries, latencies, attempts, elapsedMs: Date.now() - started };
}
