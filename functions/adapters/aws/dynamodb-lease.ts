import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type LeaseBusy, type LeaseGrant, type LeaseIntent, LeaseLostError, type LeaseStore } from '../../core/lease.js';

/**
 * Leases in the relay's state table (partition key `pk`). Item `lease#<name>`: `owner` (absent when
 * free), `fence` (number, +1 per grant), `expiresAt` (epoch ms), `intent` (JSON, absent when none).
 * Every write is one conditional UpdateItem, so two writers can never both hold a lease; `setIntent`
 * also checks the expiry, so a holder that overran its lease learns it before calling the provider.
 */
export class DynamoLeaseStore implements LeaseStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  get name(): string {
    return this.tableName;
  }

  private key(name: string) {
    return { pk: { S: `lease#${name}` } };
  }

  async tryAcquire(name: string, owner: string, ttlMs: number, signal?: AbortSignal): Promise<LeaseGrant | LeaseBusy> {
    const t = this.now();
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(name),
          UpdateExpression: 'SET #owner = :owner, expiresAt = :exp ADD fence :one',
          ConditionExpression: 'attribute_not_exists(#owner) OR #owner = :owner OR expiresAt < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':exp': { N: String(t + ttlMs) },
            ':one': { N: '1' },
            ':now': { N: String(t) },
          },
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal: signal },
      );
      const a = out.Attributes ?? {};
      return {
        name,
        owner,
        fence: Number(a.fence?.N ?? '1'),
        expiresAt: Number(a.expiresAt?.N ?? String(t + ttlMs)),
        intent: parseIntent(a.intent?.S),
      };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const held = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key(name), ConsistentRead: true }),
        { abortSignal: signal },
      );
      return {
        busy: true,
        holder: held.Item?.owner?.S ?? 'unknown',
        expiresAt: Number(held.Item?.expiresAt?.N ?? '0'),
      };
    }
  }

  async setIntent(grant: LeaseGrant, intent: LeaseIntent | null, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(grant.name),
          UpdateExpression: intent ? 'SET intent = :intent' : 'REMOVE intent',
          ConditionExpression: '#owner = :owner AND fence = :fence AND expiresAt > :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: grant.owner },
            ':fence': { N: String(grant.fence) },
            ':now': { N: String(this.now()) },
            ...(intent ? { ':intent': { S: JSON.stringify(intent) } } : {}),
          },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new LeaseLostError(grant.name, { cause: err });
      throw err;
    }
  }

  async release(grant: LeaseGrant): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(grant.name),
          UpdateExpression: 'REMOVE #owner SET expiresAt = :zero',
          ConditionExpression: '#owner = :owner AND fence = :fence',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: grant.owner },
            ':fence': { N: String(grant.fence) },
            ':zero': { N: '0' },
          },
        }),
      );
    } catch {
      // Taken over, or DynamoDB unreachable: the lease expires by itself.
    }
  }
}

function parseIntent(raw: string | undefined): LeaseIntent | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as LeaseIntent;
    return typeof v.op === 'string' && typeof v.key === 'string' && typeof v.endpointId === 'string' ? v : null;
  } catch {
    return null;
  }
}
