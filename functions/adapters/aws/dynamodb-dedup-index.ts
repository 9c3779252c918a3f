import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DedupIndex, IndexLookup } from '../../../providers/heygen/runtime/backfill.js';

type Item = Record<string, { S?: string; N?: string }>;

/**
 * The backfill's cheap view of the dedup table (items of functions/adapters/aws/dynamodb-dedup.ts),
 * key by key: BatchGetItem, eventually consistent, 100 keys a call, 0.5 RRU a key (items < 4 KB). What
 * it reads grows with the entries the backfill examines, never with the table (which may hold other
 * sources' items and expired ones TTL has not deleted yet). The backfill uses it as a filter: a key
 * missing here goes through the consistent lookup. It also names unfinished claims whose lock has
 * passed (`status` IN_PROGRESS, `lockUntil` gone by): their writer may have published before it died.
 */
export class DynamoDedupIndex implements DedupIndex {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls made and keys asked for (the backfill's reads; tests and the cost model count them). */
  readonly stats = { calls: 0, keys: 0 };

  async published(keys: readonly string[], signal?: AbortSignal): Promise<ReadonlySet<string>> {
    return (await this.lookup(keys, signal)).published;
  }

  async lookup(keys: readonly string[], signal?: AbortSignal): Promise<IndexLookup> {
    const published = new Set<string>();
    const unfinished = new Set<string>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += 100) {
      for (const item of await this.batch(unique.slice(i, i + 100), signal)) {
        const key = item.pk?.S;
        if (!key || !(Number(item.expiresAt?.N) >= Math.floor(this.now() / 1000))) continue;
        if (item.status?.S === 'COMPLETED') published.add(key);
        else if (item.status?.S === 'IN_PROGRESS' && Number(item.lockUntil?.N) < this.now()) unfinished.add(key);
      }
    }
    return { published, unfinished };
  }

  /** One BatchGetItem of up to 100 keys, its unprocessed keys asked again with backoff (what is left takes the consistent read). */
  private async batch(keys: readonly string[], signal?: AbortSignal): Promise<Item[]> {
    const items: Item[] = [];
    let request: Record<string, { Keys: { pk: { S: string } }[] }> | undefined = {
      [this.tableName]: { Keys: keys.map((k) => ({ pk: { S: k } })) },
    };
    for (let attempt = 0; request && Object.keys(request).length > 0 && attempt <= 6; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
      this.stats.calls++;
      this.stats.keys += request[this.tableName]?.Keys.length ?? 0;
      const got = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: Object.fromEntries(
            Object.entries(request).map(([t, r]) => [
              t,
              { ...r, ProjectionExpression: 'pk, #s, expiresAt, lockUntil', ExpressionAttributeNames: { '#s': 'status' } },
            ]),
          ),
        }),
        { abortSignal: signal },
      );
      items.push(...((got.Responses?.[this.tableName] ?? []) as Item[]));
      request = got.UnprocessedKeys as typeof request;
    }
    return items;
  }
}
