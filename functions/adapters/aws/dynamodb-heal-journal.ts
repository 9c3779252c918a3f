import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { appendTakeover, type HealJournal, parseTakeovers, type Takeover } from '../../core/heal-journal.js';

/**
 * The registrar's heal journal (core/heal-journal.ts) in the relay's state table: item
 * `heal#<lease name>` (one per signing secret, so per source) with `takeovers` (JSON array). Written
 * only by the lease holder: one consistent GetItem to read, one UpdateItem to append (the calls the
 * lease grant already allows).
 */
export class DynamoHealJournal implements HealJournal {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly leaseName: string,
  ) {}

  private get key() {
    return { pk: { S: `heal#${this.leaseName}` } };
  }

  async read(signal?: AbortSignal): Promise<readonly Takeover[]> {
    const got = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }), {
      abortSignal: signal,
    });
    return parseTakeovers(got.Item?.takeovers?.S);
  }

  async record(takeover: Takeover, signal?: AbortSignal): Promise<void> {
    const next = appendTakeover(await this.read(signal), takeover);
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key,
        UpdateExpression: 'SET takeovers = :t',
        ExpressionAttributeValues: { ':t': { S: JSON.stringify(next) } },
      }),
      { abortSignal: signal },
    );
  }
}
