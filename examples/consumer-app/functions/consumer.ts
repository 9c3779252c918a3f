/**
 * A consumer of the relay's queue, in the conventions of Powertools for AWS Lambda:
 * - Batch: each SQS record is processed on its own; a failing record is reported in
 *   `batchItemFailures` and retried alone, the rest of the batch is done;
 * - Idempotency on the envelope `id`: EventBridge and SQS deliver at least once, and the relay can
 *   publish a delivery twice in rare cases (docs/behaviour.md, "Exactly once, and its limit"), so the work for
 *   one event runs once even when its message arrives twice.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseRelayEvent, type RelayEvent } from 'heygen-relay/events';

const logger = new Logger();
const processor = new BatchProcessor(EventType.SQS);
const tableName = process.env.IDEMPOTENCY_TABLE_NAME;
if (!tableName) throw new Error('IDEMPOTENCY_TABLE_NAME is not set');
const persistenceStore = new DynamoDBPersistenceLayer({ tableName });
const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 7 * 24 * 3600 });

/** Your work for one event, run once per envelope id. */
const handleEvent = makeIdempotent(
  async (event: RelayEvent): Promise<void> => {
    switch (event.type) {
      case 'avatar_video.success':
        logger.info('video ready', { videoId: event.subject.id, callbackId: event.callbackId, url: String(event.data.url) });
        break;
      case 'avatar_video.fail':
        logger.warn('video failed', { videoId: event.subject.id, callbackId: event.callbackId });
        break;
      default:
        logger.debug('ignored', { type: event.type });
    }
  },
  { persistenceStore, config: idempotencyConfig },
);

/** One record: parse (a malformed message fails just this record) and hand the envelope on. */
const recordHandler = async (record: SQSRecord): Promise<void> => {
  await handleEvent(parseRelayEvent(record));
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  idempotencyConfig.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
};
