/** Tables shaped as the relay's dedup and state tables (partition key `pk`, on demand) on the shared moto server. */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { awsClientConfig } from './moto.js';

/** Creates `table` on moto; returns the client the test reads and writes it with. */
export async function createMotoDedupTable(table: string): Promise<DynamoDBClient> {
  const client = new DynamoDBClient(awsClientConfig(inject('motoEndpoint')));
  await createPkTable(client, table);
  return client;
}

/** Creates `table` with the relay's table shape (string partition key `pk`, on demand): dedup and state tables alike. */
export async function createPkTable(client: DynamoDBClient, table: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** Deletes `table` (best effort) and closes the client; either may be unset if the set-up failed. */
export async function dropMotoDedupTable(client: DynamoDBClient | undefined, table: string): Promise<void> {
  await client?.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
  client?.destroy();
}
