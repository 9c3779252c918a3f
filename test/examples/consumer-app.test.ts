/**
 * examples/consumer-app, the consumer kit the README shows: it type-checks (strict, against the
 * package's sources through test/examples/consumer-app.tsconfig.json's paths; test/package/install.test.ts
 * builds it as a project of its own, on the packed tarball), and its consumer Lambda, run here against moto's
 * DynamoDB, reports exactly the malformed record as a batch item failure and does the work for an
 * envelope id once even when the message comes twice. It is never deployed.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { awsClientConfig } from '../support/moto.js';

const ROOT = join(__dirname, '..', '..');

describe('examples/consumer-app', () => {
  it('type-checks', async () => {
    await expect(
      promisify(execFile)(
        process.execPath,
        [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'test/examples/consumer-app.tsconfig.json'],
        {
          cwd: ROOT,
        },
      ),
    ).resolves.toBeDefined();
  }, 120_000);

  describe('its consumer Lambda (Powertools Batch + Idempotency on the envelope id) on moto', () => {
    const table = `idempotency-${randomUUID().slice(0, 8)}`;
    const saved = { ...process.env };
    let ddb: DynamoDBClient;
    beforeAll(async () => {
      const endpoint = inject('motoEndpoint');
      ddb = new DynamoDBClient(awsClientConfig(endpoint));
      await ddb.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      Object.assign(process.env, {
        IDEMPOTENCY_TABLE_NAME: table,
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      });
    });
    afterAll(() => {
      process.env = saved;
      ddb?.destroy();
    });

    it('fails only the malformed record, and acts once per envelope id', async () => {
      // A project of its own (its package.json): the repository's tsc does not follow it (the 'type-checks'
      // test above does, with test/examples/consumer-app.tsconfig.json); vitest aliases heygen-relay here.
      const entry = '../../examples/consumer-app/functions/consumer.js';
      const { handler } = (await import(entry)) as {
        handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
      };
      const { Logger } = await import('@aws-lambda-powertools/logger');
      const info = vi.spyOn(Logger.prototype, 'info');
      const envelope = {
        version: '1',
        id: `heygen:evt:${createHash('sha256').update(randomUUID()).digest('hex')}`, // as the schema has it
        provider: 'heygen',
        type: 'avatar_video.success',
        subject: { kind: 'video', id: 'v1' },
        callbackId: 'order-1',
        deliveryId: null,
        receivedAt: new Date().toISOString(),
        data: { video_id: 'v1', url: 'https://example.com/v1.mp4' },
      };
      const message = (messageId: string, detail: unknown) =>
        ({ messageId, body: JSON.stringify({ 'detail-type': 'avatar_video.success', source: 'heygen', detail }) }) as never;
      const context = { getRemainingTimeInMillis: () => 20_000, awsRequestId: 'r', functionName: 'consumer' } as Context;
      const event = (records: unknown[]) => ({ Records: records }) as SQSEvent;

      const first = await handler(event([message('m1', envelope), message('m2', { ...envelope, version: '9' })]), context);
      expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
      const again = await handler(event([message('m3', envelope)]), context);
      expect(again).toEqual({ batchItemFailures: [] });
      expect(info.mock.calls.filter(([msg]) => msg === 'video ready')).toHaveLength(1);
    });
  });
});
