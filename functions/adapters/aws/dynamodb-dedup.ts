import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ClaimResult, DedupStore } from '../../core/ports.js';

export interface DynamoDedupOptions {
  /** How long a published delivery is remembered. */
  readonly windowSeconds: number;
  /** How long an in-progress claim blocks others (must exceed the function timeout). */
  readonly lockSeconds: number;
  readonly now?: () => number;
}

/**
 * Dedup as one conditional write in DynamoDB. Item: `pk` (dedup key), `status`
 * (IN_PROGRESS | COMPLETED), `owner` (the claiming request), `lockUntil` (ms), `expiresAt`
 * (seconds; the table's TTL attribute; also checked in the condition because TTL deletes late).
 */
export class DynamoDedupStore implements DedupStore {
  private readonly now: () => number;
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDedupOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async claim(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: key },
            status: { S: 'IN_PROGRESS' },
            owner: { S: owner },
            lockUntil: { N: String(nowMs + this.options.lockSeconds * 1000) },
            expiresAt: { N: String(nowS + this.options.windowSeconds) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowS OR (#s = :ip AND lockUntil < :nowMs)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':nowS': { N: String(nowS) },
            ':nowMs': { N: String(nowMs) },
            ':ip': { S: 'IN_PROGRESS' },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return 'claimed';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException) && (err as Error)?.name !== 'ConditionalCheckFailedException')
        throw err;
      let old = (err as ConditionalCheckFailedException).Item;
      if (old === undefined) {
        const got = await this.client.send(
          new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
          { abortSignal: signal },
        );
        old = got.Item;
      }
      if (old?.status?.S === 'COMPLETED') return 'duplicate';
      // Our own put landed but its answer was lost, and the SDK's retry hit our own item.
      if (old?.status?.S === 'IN_PROGRESS' && old.owner?.S === owner) return 'claimed';
      return 'in_flight';
    }
  }

  async complete(key: string, owner: string, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET #s = :c, expiresAt = :exp REMOVE lockUntil',
        ConditionExpression: '#o = :o',
        ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
        ExpressionAttributeValues: {
          ':c': { S: 'COMPLETED' },
          ':o': { S: owner },
          ':exp': { N: String(Math.floor(this.now() / 1000) + this.options.windowSeconds) },
        },
      }),
      { abortSignal: signal },
    );
  }

  async release(key: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: key } },
          ConditionExpression: '#s = :ip AND #o = :o',
          ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
          ExpressionAttributeValues: { ':ip': { S: 'IN_PROGRESS' }, ':o': { S: owner } },
        }),
        { abortSignal: AbortSignal.timeout(1_500) },
      );
    } catch {
      // Nothing to release, or DynamoDB is down: the claim then expires at lockUntil.
    }
  }
}
