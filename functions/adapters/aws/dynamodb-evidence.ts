import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { BackfillCursor, ListingHead, UncoveredPeriod } from '../../../providers/heygen/runtime/backfill.js';
import { type BackfillState, NO_BACKFILL_STATE } from '../../../providers/heygen/runtime/backfill-plan.js';
import {
  addRefusedKey,
  type DeliveryEvidence,
  type EvidenceStore,
  NO_EVIDENCE,
  oldestRefusal,
  REFUSED_KEYS_CAPACITY,
  type RefusedKey,
  type TroubleKind,
} from '../../core/evidence.js';

/**
 * Delivery evidence in the relay's state table (partition key `pk`): item `evidence#<provider>` with
 * `lastTroubleAt`, `lastSignatureRejectionAt`, `lastFailureAt` and `lastMissedAt` (epoch ms), each only ever moved forward. One
 * UpdateItem per record (the ingress rate-limits them), one GetItem per read.
 *
 * Refused keys: map `refusedKeys` (event key -> epoch ms), at most {@link REFUSED_KEYS_CAPACITY}
 * entries, kept by core/evidence.ts `addRefusedKey`'s rule with conditional UpdateItems only (the
 * ingress may not read the item): one when the key fits, a second (the old item returned by the
 * failed condition) to create the map or to replace the oldest key once it is old enough.
 */
export class DynamoEvidenceStore implements EvidenceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async record(provider: string, kind: TroubleKind, at: number, signal?: AbortSignal): Promise<void> {
    const attrs =
      kind === 'signature'
        ? ['lastTroubleAt', 'lastSignatureRejectionAt']
        : kind === 'failure'
          ? ['lastTroubleAt', 'lastFailureAt']
          : ['lastMissedAt'];
    // Moves forward only (environments may write out of order): conditioned on the kind's own stamp.
    const own = attrs[attrs.length - 1] as string;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `evidence#${provider}` } },
          UpdateExpression: `SET ${attrs.map((a) => `${a} = :at`).join(', ')}`,
          ConditionExpression: `attribute_not_exists(${own}) OR ${own} < :at`,
          ExpressionAttributeValues: { ':at': { N: String(at) } },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if ((err as Error)?.name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async recordRefusedKey(provider: string, key: string, at: number, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = await this.tryAddKey(provider, key, at, signal);
      if (old === 'added') return;
      const next = addRefusedKey(old ?? [], key, at);
      if (!next) return; // already there as recent, or a full list of recent refusals: dropped
      if (old === null) {
        if (await this.createKeys(provider, key, at, signal)) return;
      } else if (old.length >= REFUSED_KEYS_CAPACITY && !old.some((r) => r.key === key)) {
        if (await this.replaceOldest(provider, oldestRefusal(old), key, at, signal)) return;
      } // else another writer changed the list meanwhile: try again
    }
  }

  /** Sets `key` if it is there with an older time, or absent from a list with room; else the list as it was (null: no map yet). */
  private async tryAddKey(
    provider: string,
    key: string,
    at: number,
    signal?: AbortSignal,
  ): Promise<'added' | RefusedKey[] | null> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `evidence#${provider}` } },
          UpdateExpression: 'SET refusedKeys.#k = :at',
          ConditionExpression:
            'attribute_exists(refusedKeys) AND ((attribute_exists(refusedKeys.#k) AND refusedKeys.#k < :at) OR (attribute_not_exists(refusedKeys.#k) AND size(refusedKeys) < :cap))',
          ExpressionAttributeNames: { '#k': key },
          ExpressionAttributeValues: { ':at': { N: String(at) }, ':cap': { N: String(REFUSED_KEYS_CAPACITY) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return 'added';
    } catch (err) {
      // No map yet: the condition fails (moto), or the path is refused (DynamoDB may check it first).
      if ((err as Error)?.name === 'ValidationException' && /document path/i.test((err as Error).message)) return null;
      if ((err as Error)?.name !== 'ConditionalCheckFailedException') throw err;
      const map = (err as { Item?: Record<string, AttributeValue> }).Item?.refusedKeys?.M;
      return map ? refusedKeysOf(map) : null;
    }
  }

  /** The first refused key: creates the map (false when another writer created it meanwhile). */
  private async createKeys(provider: string, key: string, at: number, signal?: AbortSignal): Promise<boolean> {
    return this.conditional(
      {
        Key: { pk: { S: `evidence#${provider}` } },
        UpdateExpression: 'SET refusedKeys = :keys',
        ConditionExpression: 'attribute_not_exists(refusedKeys)',
        ExpressionAttributeValues: { ':keys': { M: { [key]: { N: String(at) } } } },
      },
      signal,
    );
  }

  /** A full list: `key` in place of the oldest entry, if it is still there as it was (false otherwise). */
  private async replaceOldest(
    provider: string,
    oldest: RefusedKey,
    key: string,
    at: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    return this.conditional(
      {
        Key: { pk: { S: `evidence#${provider}` } },
        UpdateExpression: 'REMOVE refusedKeys.#old SET refusedKeys.#k = :at',
        ConditionExpression: 'refusedKeys.#old = :oldAt AND attribute_not_exists(refusedKeys.#k)',
        ExpressionAttributeNames: { '#old': oldest.key, '#k': key },
        ExpressionAttributeValues: { ':at': { N: String(at) }, ':oldAt': { N: String(oldest.at) } },
      },
      signal,
    );
  }

  /** One conditional UpdateItem: false when its condition failed. */
  private async conditional(
    input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>,
    signal?: AbortSignal,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...input }), { abortSignal: signal });
      return true;
    } catch (err) {
      if ((err as Error)?.name !== 'ConditionalCheckFailedException') throw err;
      return false;
    }
  }

  async read(provider: string, signal?: AbortSignal): Promise<DeliveryEvidence> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `evidence#${provider}` } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    if (!got.Item) return NO_EVIDENCE;
    const n = (v: { N?: string } | undefined) => (v?.N === undefined ? null : Number(v.N));
    return {
      lastTroubleAt: n(got.Item.lastTroubleAt),
      lastSignatureRejectionAt: n(got.Item.lastSignatureRejectionAt),
      lastMissedAt: n(got.Item.lastMissedAt),
      lastFailureAt: n(got.Item.lastFailureAt),
      refusedKeys: got.Item.refusedKeys?.M ? refusedKeysOf(got.Item.refusedKeys.M) : [],
    };
  }
}

function refusedKeysOf(map: Record<string, AttributeValue>): RefusedKey[] {
  return Object.entries(map).map(([key, v]) => ({ key, at: Number(v.N) }));
}

/**
 * The scheduled backfill's checkpoint in the state table: item `backfill#<provider>` with
 * `checkedThrough`, `lastSweepAt`, `freshThrough`, `sampleMissedAt`, `orderCheckedAt` (epoch ms), `historyKeptMs`,
 * `unsettled`, `originMs`, and the JSON of `acknowledged`, `cursor` (a sweep under way), `head`, `watch` and `uncovered` (periods not yet acknowledged). One consistent GetItem per read, one PutItem per write (the backfill's lease
 * makes it the only writer).
 */
export class DynamoBackfillCheckpoint {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly provider: string,
  ) {}

  async read(signal?: AbortSignal): Promise<BackfillState> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `backfill#${this.provider}` } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    const item = got.Item;
    if (!item) return NO_BACKFILL_STATE;
    const n = (v: { N?: string } | undefined) => (v?.N === undefined ? null : Number(v.N));
    return {
      checkedThrough: n(item.checkedThrough),
      lastSweepAt: n(item.lastSweepAt),
      freshThrough: n(item.freshThrough),
      sampleMissedAt: n(item.sampleMissedAt),
      cursor: item.cursor?.S ? (JSON.parse(item.cursor.S) as BackfillCursor) : null,
      unsettled: item.unsettled?.BOOL === true,
      orderCheckedAt: n(item.orderCheckedAt),
      historyKeptMs: n(item.historyKeptMs),
      head: item.head?.S ? (JSON.parse(item.head.S) as ListingHead) : null,
      orderBroken: item.orderBrokenSince?.N === undefined ? null : { sinceMs: Number(item.orderBrokenSince.N) },
      uncovered: item.uncovered?.S ? (JSON.parse(item.uncovered.S) as UncoveredPeriod[]) : [],
      watch: item.watch?.S ? (JSON.parse(item.watch.S) as BackfillState['watch']) : null,
      keyMissingAt: n(item.keyMissingAt),
      originMs: n(item.originMs),
      ...(item.acknowledged?.S ? { acknowledged: JSON.parse(item.acknowledged.S) as string[] } : {}),
      ...(item.subscriptions?.S ? { subscriptions: JSON.parse(item.subscriptions.S) as BackfillState['subscriptions'] } : {}),
    };
  }

  /** A run found no API key at `at` (backfill-plan.ts `firstRunOrigin`): one attribute, moved forward only, no lease. */
  async noteKeyMissing(at: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `backfill#${this.provider}` } },
          UpdateExpression: 'SET keyMissingAt = :at',
          ConditionExpression: 'attribute_not_exists(keyMissingAt) OR keyMissingAt < :at',
          ExpressionAttributeValues: { ':at': { N: String(at) } },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
    }
  }

  async write(state: BackfillState, signal?: AbortSignal): Promise<void> {
    const item: Record<string, AttributeValue> = { pk: { S: `backfill#${this.provider}` } };
    for (const k of [
      'checkedThrough',
      'lastSweepAt',
      'freshThrough',
      'sampleMissedAt',
      'orderCheckedAt',
      'historyKeptMs',
      'keyMissingAt',
      'originMs',
    ] as const) {
      const v = state[k];
      if (v !== null && v !== undefined) item[k] = { N: String(v) };
    }
    if (state.unsettled) item.unsettled = { BOOL: true };
    if (state.cursor) item.cursor = { S: JSON.stringify(state.cursor) };
    if (state.head) item.head = { S: JSON.stringify(state.head) };
    if (state.orderBroken) item.orderBrokenSince = { N: String(state.orderBroken.sinceMs) };
    if (state.uncovered?.length) item.uncovered = { S: JSON.stringify(state.uncovered) };
    if (state.watch) item.watch = { S: JSON.stringify(state.watch) };
    if (state.subscriptions?.length) item.subscriptions = { S: JSON.stringify(state.subscriptions) };
    if (state.acknowledged?.length) item.acknowledged = { S: JSON.stringify(state.acknowledged) };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }), { abortSignal: signal });
  }
}
