import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type DatedSighting,
  decodeSighting,
  encodeSighting,
  type SightingInbox,
} from '../../../providers/heygen/runtime/sightings.js';

/**
 * The registrar's sightings of our endpoint for the backfill's subscription log
 * (providers/heygen/runtime/sightings.ts), in the state table: item `backfill#<provider>#sightings`,
 * a string set `sightings` of canonical JSON. The registrar ADDs one element (idempotent: a retry
 * after a lost answer adds the same string), the backfill reads the item (consistent) and DELETEs the
 * elements it merged once its checkpoint is written: both are set operations, so neither writer can
 * lose the other's sightings, whatever the interleaving. Its own item, not the checkpoint's, because
 * the backfill writes that one whole (PutItem). Grants: the registrar's and the backfill's lease grant
 * (GetItem, UpdateItem on the state table) covers both.
 */
export class DynamoSightingInbox implements SightingInbox {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly provider: string,
  ) {}

  private get key() {
    return { pk: { S: `backfill#${this.provider}#sightings` } };
  }

  async record(sighting: DatedSighting, signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'ADD sightings :one',
        ExpressionAttributeValues: { ':one': { SS: [encodeSighting(sighting)] } },
      }),
      { abortSignal: signal },
    );
  }

  async read(signal?: AbortSignal): Promise<{ raw: string; sighting: DatedSighting }[]> {
    const got = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }), {
      abortSignal: signal,
    });
    return (got.Item?.sightings?.SS ?? []).flatMap((raw) => {
      const sighting = decodeSighting(raw);
      return sighting ? [{ raw, sighting }] : [];
    });
  }

  async drop(raw: readonly string[], signal?: AbortSignal): Promise<void> {
    if (raw.length === 0) return;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'DELETE sightings :merged',
        ExpressionAttributeValues: { ':merged': { SS: [...new Set(raw)] } },
      }),
      { abortSignal: signal },
    );
  }
}
