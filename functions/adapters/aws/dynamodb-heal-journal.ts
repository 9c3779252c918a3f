import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  appendTakeover,
  type CurrentSighting,
  type HealJournal,
  parseSighting,
  parseTakeovers,
  serializeSighting,
  type Takeover,
} from '../../core/heal-journal.js';

/**
 * The registrar's heal journal (core/heal-journal.ts) in the relay's state table: item
 * `heal#<lease name>` (one per signing secret, so per source) with `takeovers` (JSON array) and
 * `sighting` (JSON: where the secret's labels sat when a run saw them, since when). Written only by
 * the lease holder: one consistent GetItem to read, one UpdateItem to append; the sighting's
 * UpdateItem is conditional on the sighting read (the calls the lease grant already allows).
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

  private async item(signal?: AbortSignal) {
    const got = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key, ConsistentRead: true }), {
      abortSignal: signal,
    });
    return got.Item;
  }

  async read(signal?: AbortSignal): Promise<readonly Takeover[]> {
    return parseTakeovers((await this.item(signal))?.takeovers?.S);
  }

  async readSighting(signal?: AbortSignal): Promise<CurrentSighting | null> {
    return parseSighting((await this.item(signal))?.sighting?.S);
  }

  /**
   * Compares by meaning, sets by the text stored: the sighting stored must read as `expected` (none:
   * absent, not a string, or a text this version does not parse, e.g. a newer relay's after a
   * rollback), and the UpdateItem is conditional on that very text. A condition on `expected`'s own
   * serialization would refuse for ever a sighting this version did not write, and then no dead
   * secret would ever be proved.
   */
  async recordSighting(next: CurrentSighting, expected: CurrentSighting | null, signal?: AbortSignal): Promise<boolean> {
    const stored = (await this.item(signal))?.sighting?.S;
    const read = parseSighting(stored);
    if ((read === null ? null : serializeSighting(read)) !== (expected === null ? null : serializeSighting(expected)))
      return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: 'SET sighting = :next',
          ConditionExpression:
            stored === undefined
              ? 'attribute_not_exists(sighting) OR NOT attribute_type(sighting, :string)'
              : 'sighting = :stored',
          ExpressionAttributeValues: {
            ':next': { S: serializeSighting(next) },
            ...(stored === undefined ? { ':string': { S: 'S' } } : { ':stored': { S: stored } }),
          },
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (err) {
      // Another writer (or this write's own retry after a lost answer) changed it since the read.
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
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
