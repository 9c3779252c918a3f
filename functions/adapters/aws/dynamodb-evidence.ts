import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type DeliveryEvidence, type EvidenceStore, NO_EVIDENCE, type TroubleKind } from '../../core/evidence.js';
import { type BackfillState, NO_BACKFILL_STATE } from '../../../providers/heygen/runtime/backfill-plan.js';
import type { BackfillCursor, ListingHead, UncoveredPeriod } from '../../../providers/heygen/runtime/backfill.js';

/**
 * Delivery evidence in the relay's state table (partition key `pk`): item `evidence#<provider>` with
 * `lastTroubleAt`, `lastSignatureRejectionAt`, `lastFailureAt` and `lastMissedAt` (epoch ms), each only ever moved forward. One
 * UpdateItem per record (the ingress rate-limits them), one GetItem per read.
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
    };
  }
}

/**
 * The scheduled backfill's checkpoint in the state table: item `backfill#<provider>` with
 * `checkedThrough`, `lastSweepAt`, `freshThrough`, `sampleMissedAt`, `orderCheckedAt` (epoch ms), `historyKeptMs`,
 * `unsettled`, and the JSON of `cursor` (a sweep under way), `head` and `uncovered` (periods not yet acknowledged). One consistent GetItem per read, one PutItem per write (the backfill's lease
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
    };
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
    ] as const) {
      const v = state[k];
      if (v !== null && v !== undefined) item[k] = { N: String(v) };
    }
    if (state.unsettled) item.unsettled = { BOOL: true };
    if (state.cursor) item.cursor = { S: JSON.stringify(state.cursor) };
    if (state.head) item.head = { S: JSON.stringify(state.head) };
    if (state.orderBroken) item.orderBrokenSince = { N: String(state.orderBroken.sinceMs) };
    if (state.uncovered?.length) item.uncovered = { S: JSON.stringify(state.uncovered) };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }), { abortSignal: signal });
  }
}
