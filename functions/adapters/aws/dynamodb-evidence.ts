import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type DeliveryEvidence, type EvidenceStore, NO_EVIDENCE, type TroubleKind } from '../../core/evidence.js';

/**
 * Delivery evidence in the relay's state table (partition key `pk`): item `evidence#<provider>` with
 * `lastTroubleAt` and `lastSignatureRejectionAt` (epoch ms), each only ever moved forward. One
 * UpdateItem per record (the ingress rate-limits them), one GetItem per read.
 */
export class DynamoEvidenceStore implements EvidenceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async record(provider: string, kind: TroubleKind, at: number, signal?: AbortSignal): Promise<void> {
    const sig = kind === 'signature';
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: `evidence#${provider}` } },
        // Both stamps move forward only (two environments may write out of order).
        UpdateExpression: sig ? 'SET lastTroubleAt = :at, lastSignatureRejectionAt = :at' : 'SET lastTroubleAt = :at',
        ConditionExpression: 'attribute_not_exists(lastTroubleAt) OR lastTroubleAt < :at',
        ExpressionAttributeValues: { ':at': { N: String(at) } },
      }),
      { abortSignal: signal },
    ).catch((err: unknown) => {
      if ((err as Error)?.name !== 'ConditionalCheckFailedException') throw err;
    });
  }

  async read(provider: string, signal?: AbortSignal): Promise<DeliveryEvidence> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `evidence#${provider}` } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    if (!got.Item) return NO_EVIDENCE;
    const n = (v: { N?: string } | undefined) => (v?.N === undefined ? null : Number(v.N));
    return { lastTroubleAt: n(got.Item.lastTroubleAt), lastSignatureRejectionAt: n(got.Item.lastSignatureRejectionAt) };
  }
}
