import { BatchGetItemCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DedupIndex } from '../../providers/heygen/backfill.js';

/**
 * The backfill's cheap view of the dedup table (items of functions/adapters/aws/dynamodb-dedup.ts):
 * which keys are recorded as published (`status` COMPLETED, `expiresAt` not passed). Eventually
 * consistent reads only: a Scan costs 0.5 RRU per 4 KB scanned (an item is ~160 bytes, ~25 a unit),
 * a BatchGetItem 0.5 RRU per item, 100 keys a call. The backfill uses it as a filter: a key missing
 * here goes through the consistent lookup.
 */
export class DynamoDedupIndex implements DedupIndex {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  private live(item: Record<string, { S?: string; N?: string }> | undefined): string | null {
    if (!item?.pk?.S || item.status?.S !== 'COMPLETED') return null;
    return Number(item.expiresAt?.N) >= Math.floor(this.now() / 1000) ? item.pk.S : null;
  }

  async publishedKeys(signal?: AbortSignal): Promise<ReadonlySet<string>> {
    const keys = new Set<string>();
    let start: Record<string, never> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: 'pk, #s, expiresAt',
          ExpressionAttributeNames: { '#s': 'status' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
        { abortSignal: signal },
      );
      for (const item of page.Items ?? []) {
        const k = this.live(item as never);
        if (k) keys.add(k);
      }
      start = page.LastEvaluatedKey as never;
    } while (start);
    return keys;
  }

  async published(keys: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<string>> {
    const found = new Set<string>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 100) {
      let request: Record<string, { Keys: { pk: { S: string } }[] }> | undefined = {
        [this.tableName]: { Keys: unique.slice(i, i + 100).map((k) => ({ pk: { S: k } })) },
      };
      for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
        if (attempt > 6) break; // what is left goes through the consistent lookup
        const got = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: Object.fromEntries(
              Object.entries(request).map(([t, r]) => [
                t,
                { ...r, ProjectionExpression: 'pk, #s, expiresAt', ExpressionAttributeNames: { '#s': 'status' } },
              ]),
            ),
          }),
          { abortSignal: signal },
        );
        for (const item of got.Responses?.[this.tableName] ?? []) {
          const k = this.live(item as never);
          if (k) found.add(k);
        }
        request = got.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }
}
