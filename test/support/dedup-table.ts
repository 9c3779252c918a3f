/** A DynamoDB table shaped as the relay's dedup table (partition key `pk`, on demand) on the shared moto server. */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { awsClientConfig } from './moto.js';

/** Creates `table` on moto; returns the client the test reads and writes it with. */
export async function createMotoDedupTable(table: string): Promise<DynamoDBClient> {
  const client = new DynamoDBClient(awsClientConfig(inject('motoEndpoint')));
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return client;
}

/** Deletes `table` (best effort) and closes the client; either may be unset if the set-up failed. */
export async function dropMotoDedupTable(client: DynamoDBClient | undefined, table: string): Promise<void> {
  await client?.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
  client?.destroy();
}
