/** The relay's state table (leases) on the shared moto server, as the construct defines it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { DynamoLeaseStore } from '../../functions/adapters/aws/dynamodb-lease.js';
import { createPkTable } from './dedup-table.js';
import { awsClientConfig } from './moto.js';

let tables = 0;

/** Creates a fresh state table (partition key `pk`) on moto; returns its name, a client and a lease store. */
export async function motoStateTable(
  prefix = 'state',
): Promise<{ name: string; client: DynamoDBClient; leases: DynamoLeaseStore; endpoint: string }> {
  const endpoint = inject('motoEndpoint');
  const client = new DynamoDBClient(awsClientConfig(endpoint));
  const name = `${prefix}-${process.pid}-${++tables}-${Date.now()}`;
  await createPkTable(client, name);
  return { name, client, leases: new DynamoLeaseStore(client, name), endpoint };
}
