#!/usr/bin/env node
/**
 * A CDK app that deploys the relay and a consumer of its default queue: what a team that installs
 * heygen-relay writes. A project of its own: copy this folder, `npm install`, `npm run deploy`
 * (`npm run build` compiles it to dist/, which cdk.json runs; esbuild bundles the consumer Lambda).
 */
import { App, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { HeyGenRelay } from 'heygen-relay';

export class RelayWithConsumerStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const relay = new HeyGenRelay(this, 'Relay');
    const queue = relay.defaultQueue?.queue;
    if (!queue) throw new Error('the default queue is on by default');

    // Powertools Idempotency's table: one record per envelope id, expired by TTL.
    const idempotency = new dynamodb.Table(this, 'Idempotency', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiration',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const consumer = new nodejs.NodejsFunction(this, 'Consumer', {
      // functions/consumer.ts next to this file, or its compiled consumer.js when run from dist/bin/ (esbuild bundles either).
      entry: `${__dirname}/../functions/consumer.${__filename.endsWith('.ts') ? 'ts' : 'js'}`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(25),
      environment: { IDEMPOTENCY_TABLE_NAME: idempotency.tableName, POWERTOOLS_SERVICE_NAME: 'video-consumer' },
      bundling: { minify: true },
    });
    idempotency.grantReadWriteData(consumer);
    // Partial batch failures: only the records the handler reports go back to the queue (and to its DLQ after maxReceiveCount).
    consumer.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));
  }
}

const app = new App();
new RelayWithConsumerStack(app, 'RelayWithConsumer');
