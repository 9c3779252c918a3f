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
  type DeliveryEvidence,
  type EvidenceStore,
  NO_EVIDENCE,
  REFUSED_KEY_TTL_MS,
  type RefusedKey,
  staleKeyTtlMs,
  type TroubleKind,
} from '../../core/evidence.js';

/**
 * Delivery evidence in the relay's state table (partition key `pk`): item `evidence#<provider>` with
 * `lastTroubleAt`, `lastSignatureRejectionAt`, `lastFailureAt` and `lastMissedAt` (epoch ms), each only ever moved forward. One
 * UpdateItem per record (the ingress rate-limits them), one GetItem per read.
 *
 * Refused keys: one item per key ({@link DynamoEvidenceStore.recordRefusedKey}, read by key with
 * `refusedAt`). Items written before that kept a bounded map `refusedKeys` (event key -> epoch ms) in
 * the evidence item; `read` still returns it.
 */
export class DynamoEvidenceStore implements EvidenceStore {
  /** `staleKeyTtlMs`: how long stale keys are kept (core/evidence.ts `staleKeyTtlMs`; default the 48 h dedup window). */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: { readonly staleKeyTtlMs?: number } = {},
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

  /**
   * One item per refused key, `evidence#<provider>#refused#<key>`: `at` (epoch ms, moved forward only)
   * and `purgeAt` (epoch s, the table's TTL attribute: REFUSED_KEY_TTL_MS after `at`). One conditional
   * UpdateItem of a ~150-byte item (1 WCU); a key refused again with an older time is a failed
   * condition, ignored. No stranger's key can push another one out: nothing is shared.
   */
  async recordRefusedKey(provider: string, key: string, at: number, signal?: AbortSignal): Promise<void> {
    await this.recordKey(refusedKeyItem(provider, key), at, signal);
  }

  /** The key's refusal record (one consistent GetItem), or null. */
  async refusedAt(provider: string, key: string, signal?: AbortSignal): Promise<number | null> {
    return this.keyRecord(refusedKeyItem(provider, key), signal);
  }

  /** As {@link recordRefusedKey}, item `evidence#<provider>#refused#stale#<key>`: signed with a live key, refused as stale. */
  async recordStaleKey(provider: string, key: string, at: number, signal?: AbortSignal): Promise<void> {
    await this.recordKey(staleKeyItem(provider, key), at, signal, this.options.staleKeyTtlMs ?? staleKeyTtlMs(48 * 3_600_000));
  }

  /** The key's stale record (one consistent GetItem), or null. */
  async staleAt(provider: string, key: string, signal?: AbortSignal): Promise<number | null> {
    return this.keyRecord(staleKeyItem(provider, key), signal);
  }

  private async recordKey(item: string, at: number, signal?: AbortSignal, ttlMs = REFUSED_KEY_TTL_MS): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: item } },
          UpdateExpression: 'SET refusedAt = :at, purgeAt = :purge',
          ConditionExpression: 'attribute_not_exists(refusedAt) OR refusedAt < :at',
          ExpressionAttributeValues: {
            ':at': { N: String(at) },
            ':purge': { N: String(Math.ceil((at + ttlMs) / 1000)) },
          },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if ((err as Error)?.name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  private async keyRecord(item: string, signal?: AbortSignal): Promise<number | null> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: item } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    const at = got.Item?.refusedAt?.N;
    return at === undefined ? null : Number(at);
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

/** The partition key of `key`'s refusal record (the ingress's grant: `evidence#<source>#refused#*`). */
export function refusedKeyItem(provider: string, key: string): string {
  return `evidence#${provider}#refused#${key}`;
}

/**
 * The partition key of `key`'s stale record (inside the same grant; no event key starts with `stale#`:
 * every key starts with its source, core/event-key.ts).
 */
export function staleKeyItem(provider: string, key: string): string {
  return refusedKeyItem(provider, `stale#${key}`);
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
