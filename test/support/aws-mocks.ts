/**
 * The ingress wired with its real AWS adapters over aws-sdk-client-mock clients: DynamoDB is a
 * small stateful fake (conditional writes evaluated for the dedup store's expressions), Secrets
 * Manager serves staged versions, EventBridge records entries.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDedupStore } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher.js';
import { type SecretsKeySourceOptions, SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import type { DedupMode, ParkedDelivery, ParkedStore } from '../../functions/core/ports.js';
import { createIngressHandler } from '../../functions/wiring/ingress-handler.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { answerBudgetMs } from '../../providers/runtime.js';
import type { ProviderIngress } from '../../providers/types.js';

type Item = Record<string, AttributeValue>;

export interface StagedSecret {
  value: string;
  createdAt?: Date;
}

export class MockAws {
  readonly ddb = mockClient(DynamoDBClient);
  readonly eb = mockClient(EventBridgeClient);
  readonly sm = mockClient(SecretsManagerClient);
  readonly items = new Map<string, Item>();
  readonly published: PutEventsRequestEntry[] = [];
  readonly stages: Record<string, StagedSecret | undefined> = {};
  secretReads = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.ddb.reset();
    this.eb.reset();
    this.sm.reset();
    this.items.clear();
    this.published.length = 0;
    for (const stage of Object.keys(this.stages)) delete this.stages[stage];
    this.secretReads = 0;
    this.ddb.on(PutItemCommand).callsFake((input) => this.putItem(input));
    this.ddb.on(UpdateItemCommand).callsFake((input) => {
      const key = input.Key.pk.S as string;
      const item = this.items.get(key);
      if (!item || item.owner?.S !== input.ExpressionAttributeValues[':o'].S)
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
      item.status = { S: 'COMPLETED' };
      item.expiresAt = input.ExpressionAttributeValues[':exp'];
      delete item.lockUntil;
      return {};
    });
    this.ddb.on(DeleteItemCommand).callsFake((input) => {
      const key = input.Key.pk.S as string;
      const item = this.items.get(key);
      if (item?.status?.S === 'IN_PROGRESS' && item.owner?.S === input.ExpressionAttributeValues[':o'].S) this.items.delete(key);
      else throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
      return {};
    });
    this.ddb.on(GetItemCommand).callsFake((input) => ({ Item: this.items.get(input.Key.pk.S as string) }));
    this.eb.on(PutEventsCommand).callsFake((input) => {
      this.published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: `ev-${this.published.length}` })) };
    });
    this.sm.on(GetSecretValueCommand).callsFake((input) => {
      this.secretReads++;
      const staged = this.stages[input.VersionStage ?? 'AWSCURRENT'];
      if (!staged)
        throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value", $metadata: {} });
      return {
        SecretString: staged.value,
        CreatedDate: staged.createdAt ?? new Date(Date.now() - 3600_000),
        VersionStages: [input.VersionStage],
      };
    });
  }

  /** Evaluates the two conditions DynamoDedupStore writes: a `claim` (IN_PROGRESS) and a `record` (COMPLETED). */
  private putItem(input: { Item: Item; ExpressionAttributeValues?: Item; ConditionExpression?: string }) {
    const key = input.Item.pk?.S as string;
    const old = this.items.get(key);
    if (input.ConditionExpression === 'attribute_not_exists(pk)') {
      // The content-key marker (dedup-meta#event-keys-since): written once.
      if (old) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', Item: old, $metadata: {} });
      this.items.set(key, structuredClone(input.Item));
      return {};
    }
    const v = input.ExpressionAttributeValues ?? {};
    const expired = !old || Number(old.expiresAt?.N) < Number(v[':nowS']?.N);
    const free =
      input.Item.status?.S === 'COMPLETED'
        ? expired || old?.status?.S !== 'COMPLETED' || old.owner?.S === v[':o']?.S
        : expired || (old?.status?.S === 'IN_PROGRESS' && Number(old.lockUntil?.N) < Number(v[':nowMs']?.N));
    if (!free) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', Item: old, $metadata: {} });
    this.items.set(key, structuredClone(input.Item));
    return {};
  }
}

/** Parked deliveries kept in memory, by id (parking one body twice overwrites, like the S3 store). */
export class MemoryParkedStore implements ParkedStore {
  readonly byId = new Map<string, ParkedDelivery>();
  fail: Error | undefined;
  async park(delivery: ParkedDelivery): Promise<void> {
    if (this.fail) throw this.fail;
    this.byId.set(delivery.id, delivery);
  }
}

export interface CapturedTelemetry extends Telemetry {
  readonly lines: { level: string; message: string; attributes?: Record<string, unknown> }[];
  readonly counts: { metric: string; dimensions?: Record<string, string> }[];
}

export function captureTelemetry(): CapturedTelemetry {
  const lines: CapturedTelemetry['lines'] = [];
  const counts: CapturedTelemetry['counts'] = [];
  return {
    lines,
    counts,
    debug: (message, attributes) => lines.push({ level: 'debug', message, attributes }),
    info: (message, attributes) => lines.push({ level: 'info', message, attributes }),
    warn: (message, attributes) => lines.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => lines.push({ level: 'error', message, attributes }),
    count: (metric, dimensions) => counts.push({ metric, dimensions }),
  };
}

export interface BuildOptions {
  readonly budgetMs?: number;
  readonly toleranceSeconds?: number;
  readonly maxBodyBytes?: number;
  readonly keyOptions?: SecretsKeySourceOptions;
  readonly windowSeconds?: number;
  /** @default the provider's `defaultDedupMode` */
  readonly dedupMode?: DedupMode;
  /** The provider plug-in routed. @default heygen */
  readonly provider?: ProviderIngress;
  /** Where unpublishable deliveries are parked. @default a `MemoryParkedStore` */
  readonly parked?: ParkedStore | null;
  /** Its route. @default `/${provider.name}` */
  readonly path?: string;
  /** Also route `<path>/<segment>` to the provider. @default false */
  readonly acceptSubpaths?: boolean;
  /** The route's source id (a further account of the provider). @default the provider's name */
  readonly source?: string;
}

/**
 * The full middy handler over the AWS adapters and mocked clients. `_aws`: the mocks, set up first
 * (aws-sdk-client-mock intercepts every client this handler makes).
 */
export function buildAwsHandler(_aws: MockAws, options: BuildOptions = {}) {
  const telemetry = captureTelemetry();
  const provider = options.provider ?? heygen;
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  const keys = new SecretsManagerKeySource(new SecretsManagerClient({ region: 'us-east-1' }), 'signing-secret', {
    minRefreshIntervalMs: 1_000,
    // As functions/entries/ingress.ts wires it: the provider's own rule for its secrets.
    ...(provider.secretProblem ? { secretProblem: provider.secretProblem } : {}),
    ...options.keyOptions,
  });
  const parked = options.parked === undefined ? new MemoryParkedStore() : options.parked;
  const pipeline = createIngress({
    maxBodyBytes,
    ...(parked ? { parked } : {}),
    publisher: new EventBridgePublisher(new EventBridgeClient({ region: 'us-east-1' }), 'relay-bus', { backoffMs: 1 }),
    telemetry,
    routes: [
      {
        provider,
        ...(options.source ? { source: options.source } : {}),
        path: options.path ?? `/${provider.name}`,
        keys,
        timestampToleranceSeconds: options.toleranceSeconds ?? provider.defaultTimestampToleranceSeconds,
        budgetMs: options.budgetMs ?? answerBudgetMs(provider),
        ...(options.acceptSubpaths ? { acceptSubpaths: true } : {}),
        dedup: new DynamoDedupStore(new DynamoDBClient({ region: 'us-east-1' }), 'dedup', {
          windowSeconds: options.windowSeconds ?? 48 * 3600,
          lockSeconds: 15,
          mode: options.dedupMode ?? provider.defaultDedupMode,
        }),
      },
    ],
  });
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  // Telemetry is recorded above; this Metrics stays empty, so its "No application metrics" warning goes to the silent logger.
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'test', logger });
  const handler = createIngressHandler({ pipeline, maxBodyBytes, logger, metrics });
  return { handler, telemetry, keys, parked: parked instanceof MemoryParkedStore ? parked : undefined };
}
