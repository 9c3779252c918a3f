import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ClaimResult, CompleteResult, DedupMode, DedupStore } from '../../core/ports.js';

export interface DynamoDedupOptions {
  /** How long a published delivery is remembered. */
  readonly windowSeconds: number;
  /** How long an in-progress claim blocks others (must exceed the function timeout). */
  readonly lockSeconds: number;
  /** See `DedupMode`. @default 'claim' */
  readonly mode?: DedupMode;
  /**
   * Recognise deliveries recorded under the earlier body key (`seenLegacy`) during the first dedup
   * window after content keys were first used in the table. Off: the store has no `seenLegacy`
   * and the check costs nothing (a table that never held body keys). @default false
   */
  readonly legacyBodyKeys?: boolean;
  readonly now?: () => number;
}

/**
 * Dedup in DynamoDB. Item: `pk` (dedup key), `status` (IN_PROGRESS | COMPLETED), `owner` (the
 * request that wrote it), `lockUntil` (ms; IN_PROGRESS only), `expiresAt` (seconds; the table's TTL
 * attribute; also checked in conditions because TTL deletes late).
 *
 * `claim` mode: conditional PutItem IN_PROGRESS, publish, UpdateItem COMPLETED (2 WRU); a failure
 * deletes the claim. `record` mode: consistent GetItem, publish, conditional PutItem COMPLETED
 * (1 RRU + 1 WRU); nothing is written before the event is on the bus, so nothing needs releasing.
 * The two modes read each other's items, so switching modes on a live table is safe.
 */
export class DynamoDedupStore implements DedupStore {
  private readonly now: () => number;
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDedupOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.mode = options.mode ?? 'claim';
    // Off: no `seenLegacy` at all, so callers skip even computing the earlier-scheme key.
    this.seenLegacy = options.legacyBodyKeys ? (key, signal) => this.readLegacy(key, signal) : undefined;
  }

  readonly seenLegacy: ((key: string, signal?: AbortSignal) => Promise<boolean>) | undefined;

  readonly mode: DedupMode;

  /** The attributes every item has; `expiresAt` is the dedup window from `nowS`. */
  private item(key: string, status: 'IN_PROGRESS' | 'COMPLETED', owner: string, nowS: number) {
    return {
      pk: { S: key },
      status: { S: status },
      owner: { S: owner },
      expiresAt: { N: String(nowS + this.options.windowSeconds) },
    };
  }

  async claim(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    if (this.mode === 'record') return this.check(key, owner, signal);
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.item(key, 'IN_PROGRESS', owner, nowS),
            lockUntil: { N: String(nowMs + this.options.lockSeconds * 1000) },
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
      if (!isConditionalFailure(err)) throw err;
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

  /** `record` mode: a strongly consistent read; writes nothing. */
  private async check(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    const item = got.Item;
    const nowMs = this.now();
    if (!item || Number(item.expiresAt?.N) < Math.floor(nowMs / 1000)) return 'claimed';
    if (item.status?.S === 'COMPLETED') return 'duplicate';
    // A claim written by `claim` mode (e.g. while the mode is being switched) still blocks.
    if (item.status?.S === 'IN_PROGRESS' && Number(item.lockUntil?.N) >= nowMs && item.owner?.S !== owner) return 'in_flight';
    return 'claimed';
  }

  async complete(key: string, owner: string, signal?: AbortSignal): Promise<CompleteResult> {
    if (this.mode === 'record') return this.record(key, owner, signal);
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
    return 'completed';
  }

  /** `record` mode: one conditional PutItem; `raced` if another request recorded the key first. */
  private async record(key: string, owner: string, signal?: AbortSignal): Promise<CompleteResult> {
    const nowS = Math.floor(this.now() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: this.item(key, 'COMPLETED', owner, nowS),
          // Fails only on an unexpired COMPLETED item written by someone else; not on our own put
          // retried by the SDK after a lost answer.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowS OR #s <> :c OR #o = :o',
          ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
          ExpressionAttributeValues: { ':nowS': { N: String(nowS) }, ':c': { S: 'COMPLETED' }, ':o': { S: owner } },
        }),
        { abortSignal: signal },
      );
      return 'completed';
    } catch (err) {
      if (isConditionalFailure(err)) return 'raced';
      throw err;
    }
  }

  /** Epoch ms until which items of the earlier key scheme may still be live (read once, then cached). */
  private legacyUntil: Promise<number> | undefined;
  /** `legacyUntil` once read. */
  private legacyUntilMs: number | undefined;

  /** `DedupStore.legacyWindowOpen`: false once the earlier scheme's window is known to be over. */
  legacyWindowOpen(): boolean {
    return this.legacyUntilMs === undefined || this.now() <= this.legacyUntilMs;
  }

  /**
   * `seenLegacy`: a consistent GetItem of the earlier-scheme key, but only within one dedup window of
   * the moment content keys were first used in this table. That moment is one item,
   * `dedup-meta#event-keys-since` (written once, conditionally; read once per execution environment),
   * so the extra read per delivery stops by itself when the last earlier-scheme item has expired.
   */
  private async readLegacy(key: string, signal?: AbortSignal): Promise<boolean> {
    this.legacyUntil ??= this.eventKeysSince(signal).then(
      (since) => (this.legacyUntilMs = since + this.options.windowSeconds * 1000),
      (err: unknown) => {
        this.legacyUntil = undefined; // try again next time
        throw err;
      },
    );
    if (this.now() > (await this.legacyUntil)) return false;
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    const item = got.Item;
    return item?.status?.S === 'COMPLETED' && Number(item.expiresAt?.N) >= Math.floor(this.now() / 1000);
  }

  private async eventKeysSince(signal?: AbortSignal): Promise<number> {
    const nowMs = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: LEGACY_MARKER }, since: { N: String(nowMs) } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return nowMs;
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item?.since?.N;
      return old === undefined ? nowMs : Number(old);
    }
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.mode === 'record') return; // nothing was written before the publish
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

/** The item recording when content-derived event keys were first used in a dedup table (no TTL). */
export const LEGACY_MARKER = 'dedup-meta#event-keys-since';

/** A failed ConditionExpression (by class, or by name when the error crossed a module boundary). */
function isConditionalFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
}
