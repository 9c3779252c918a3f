/**
 * What the relay relies on from AWS, proven against the moto emulator with the real SDK v3 clients,
 * plus the places where moto is known to differ from AWS.
 *
 * Tests named "GAP: ..." pin a moto deviation from real AWS. They assert moto's (wrong) behaviour on
 * purpose, so integration tests elsewhere don't rely on it by accident; if one starts failing after
 * a moto upgrade, moto fixed the gap: update this file and the tests that worked around it.
 *
 * Uses the run-wide server from test/support/moto-global-setup.ts when it is configured, else starts
 * its own. Either way every resource name is unique to this run, and the server is never reset here.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  DescribeArchiveCommand,
  DescribeReplayCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  StartReplayCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awsClientConfig, MOTO_ACCOUNT_ID, type MotoServer, startMoto } from '../support/moto.js';

const RUN = randomUUID().slice(0, 8);
const name = (base: string) => `${base}-${RUN}`;

let ownServer: MotoServer | undefined;
let ddb: DynamoDBClient;
let eb: EventBridgeClient;
let sm: SecretsManagerClient;
let sqs: SQSClient;
let cw: CloudWatchClient;

beforeAll(async () => {
  let endpoint = inject('motoEndpoint') as string | undefined;
  if (!endpoint) {
    ownServer = await startMoto();
    endpoint = ownServer.endpoint;
  }
  const config = awsClientConfig(endpoint);
  ddb = new DynamoDBClient(config);
  eb = new EventBridgeClient(config);
  sm = new SecretsManagerClient(config);
  sqs = new SQSClient(config);
  cw = new CloudWatchClient(config);
});

afterAll(async () => {
  for (const c of [ddb, eb, sm, sqs, cw]) c?.destroy();
  await ownServer?.stop();
});

async function createQueue(
  base: string,
  attributes: Record<string, string> = {},
): Promise<{ url: string; arn: string; attributes: Record<string, string> }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name(base), Attributes: attributes }));
  if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  const all = attrs.Attributes ?? {};
  if (!all.QueueArn) throw new Error('GetQueueAttributes returned no QueueArn');
  return { url: QueueUrl, arn: all.QueueArn, attributes: all };
}

/** Receives everything currently in the queue (short bounded polling). */
async function drain(queueUrl: string, expectAtLeast = 0): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }),
    );
    out.push(...(r.Messages ?? []));
    if ((r.Messages ?? []).length === 0 && out.length >= expectAtLeast) break;
    if ((r.Messages ?? []).length === 0) await new Promise((res) => setTimeout(res, 200));
  }
  return out;
}

const bodies = (messages: Message[]) => messages.map((m) => JSON.parse(m.Body ?? 'null') as Record<string, unknown>);

// ------------------------------------------------------------------------------------------------
describe('DynamoDB: idempotency put', () => {
  const table = name('dedup');
  const put = (eventId: string, now: number, expiresAt: number, seenBy: string) =>
    ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: eventId }, expiresAt: { N: String(expiresAt) }, seenBy: { S: seenBy } },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': { N: String(now) } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );

  beforeAll(async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  });

  it('second put of the same key fails with ConditionalCheckFailedException carrying the old Item', async () => {
    await put('evt-1', 1_000, 2_000, 'first');
    const err = await put('evt-1', 1_500, 2_500, 'second').then(
      () => {
        throw new Error('duplicate put unexpectedly succeeded');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConditionalCheckFailedException);
    expect((err as ConditionalCheckFailedException).Item).toEqual({
      pk: { S: 'evt-1' },
      expiresAt: { N: '2000' },
      seenBy: { S: 'first' },
    });
    const stored = await ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'evt-1' } } }));
    expect(stored.Item?.seenBy).toEqual({ S: 'first' });
  });

  it('a put after the old record expired (expiresAt < :now) succeeds and overwrites', async () => {
    await put('evt-2', 1_000, 2_000, 'first');
    await expect(put('evt-2', 3_000, 4_000, 'after-expiry')).resolves.toBeDefined();
    const stored = await ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'evt-2' } } }));
    expect(stored.Item).toEqual({ pk: { S: 'evt-2' }, expiresAt: { N: '4000' }, seenBy: { S: 'after-expiry' } });
  });
});

// ------------------------------------------------------------------------------------------------
describe('EventBridge: custom bus -> rule -> SQS target', () => {
  const busName = name('relay-bus');
  let busArn: string;
  let allHeygen: { url: string; arn: string };
  let avatarOnly: { url: string; arn: string };
  let targetDlq: { url: string; arn: string };

  beforeAll(async () => {
    const bus = await eb.send(new CreateEventBusCommand({ Name: busName }));
    busArn = bus.EventBusArn ?? '';
    allHeygen = await createQueue('eb-all-heygen');
    avatarOnly = await createQueue('eb-avatar-only');
    targetDlq = await createQueue('eb-target-dlq');

    await eb.send(
      new PutRuleCommand({ Name: name('heygen'), EventBusName: busName, EventPattern: JSON.stringify({ source: ['heygen'] }) }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: name('heygen'),
        EventBusName: busName,
        Targets: [
          {
            Id: 'sqs',
            Arn: allHeygen.arn,
            DeadLetterConfig: { Arn: targetDlq.arn },
            RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3_600 },
          },
        ],
      }),
    );
    await eb.send(
      new PutRuleCommand({
        Name: name('avatar'),
        EventBusName: busName,
        EventPattern: JSON.stringify({ source: ['heygen'], 'detail-type': [{ prefix: 'avatar_video.' }] }),
      }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: name('avatar'), EventBusName: busName, Targets: [{ Id: 'sqs', Arn: avatarOnly.arn }] }),
    );
  });

  it('creates the custom bus and stores the target with its DeadLetterConfig and RetryPolicy', async () => {
    expect(busArn).toBe(`arn:aws:events:us-east-1:${MOTO_ACCOUNT_ID}:event-bus/${busName}`);
    const { Targets } = await eb.send(new ListTargetsByRuleCommand({ Rule: name('heygen'), EventBusName: busName }));
    expect(Targets).toEqual([
      {
        Id: 'sqs',
        Arn: allHeygen.arn,
        DeadLetterConfig: { Arn: targetDlq.arn },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3_600 },
      },
    ]);
  });

  it('PutEvents delivers matching events to the SQS target, honouring source and detail-type prefix patterns', async () => {
    const res = await eb.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: busName, Source: 'heygen', DetailType: 'avatar_video.success', Detail: '{"video_id":"v1"}' },
          { EventBusName: busName, Source: 'heygen', DetailType: 'video_translate.success', Detail: '{"video_id":"v2"}' },
          { EventBusName: busName, Source: 'not-heygen', DetailType: 'avatar_video.success', Detail: '{"video_id":"v3"}' },
        ],
      }),
    );
    expect(res.FailedEntryCount).toBe(0);
    const [id1, id2] = (res.Entries ?? []).map((e) => e.EventId);

    const all = bodies(await drain(allHeygen.url, 2));
    expect(all.map((b) => b.detail).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { video_id: 'v1' },
      { video_id: 'v2' },
    ]);
    expect(all.find((b) => (b.detail as { video_id: string }).video_id === 'v1')).toMatchObject({
      version: '0',
      id: id1,
      source: 'heygen',
      'detail-type': 'avatar_video.success',
      region: 'us-east-1',
      resources: [],
    });
    expect(all.find((b) => (b.detail as { video_id: string }).video_id === 'v2')?.id).toBe(id2);

    const avatar = bodies(await drain(avatarOnly.url, 1));
    expect(avatar.map((b) => b['detail-type'])).toEqual(['avatar_video.success']);
  });

  it('supports archives (CreateArchive with a pattern counts only matching events) and replays them to the bus', async () => {
    const replayQueue = await createQueue('eb-replay');
    const replayBus = name('replay-bus');
    const bus = await eb.send(new CreateEventBusCommand({ Name: replayBus }));
    await eb.send(
      new PutRuleCommand({ Name: name('replay'), EventBusName: replayBus, EventPattern: JSON.stringify({ source: ['heygen'] }) }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: name('replay'), EventBusName: replayBus, Targets: [{ Id: 'sqs', Arn: replayQueue.arn }] }),
    );
    const archive = await eb.send(
      new CreateArchiveCommand({
        ArchiveName: name('archive'),
        EventSourceArn: bus.EventBusArn,
        RetentionDays: 7,
        EventPattern: JSON.stringify({ source: ['heygen'] }),
      }),
    );
    expect(archive.State).toBe('ENABLED');

    const from = new Date(Date.now() - 60_000);
    await eb.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: replayBus, Source: 'heygen', DetailType: 'avatar_video.success', Detail: '{"n":1}' },
          { EventBusName: replayBus, Source: 'other', DetailType: 'avatar_video.success', Detail: '{"n":2}' },
        ],
      }),
    );
    const described = await eb.send(new DescribeArchiveCommand({ ArchiveName: name('archive') }));
    expect(described).toMatchObject({ State: 'ENABLED', EventCount: 1, RetentionDays: 7, EventSourceArn: bus.EventBusArn });
    expect(bodies(await drain(replayQueue.url, 1)).map((b) => b.detail)).toEqual([{ n: 1 }]);

    await eb.send(
      new StartReplayCommand({
        ReplayName: name('replay'),
        EventSourceArn: archive.ArchiveArn,
        EventStartTime: from,
        EventEndTime: new Date(Date.now() + 60_000),
        Destination: { Arn: bus.EventBusArn },
      }),
    );
    const replayed = bodies(await drain(replayQueue.url, 1));
    expect(replayed).toHaveLength(1);
    expect(replayed[0]).toMatchObject({ source: 'heygen', detail: { n: 1 }, 'replay-name': name('replay') });
    const replay = await eb.send(new DescribeReplayCommand({ ReplayName: name('replay') }));
    expect(replay.State).toBe('COMPLETED');
  });

  it('GAP: the event envelope delivered to SQS has no "account" field (real AWS always sets it)', async () => {
    await eb.send(
      new PutEventsCommand({ Entries: [{ EventBusName: busName, Source: 'heygen', DetailType: 'gap.account', Detail: '{}' }] }),
    );
    const [body] = bodies(await drain(allHeygen.url, 1));
    expect(body?.['detail-type']).toBe('gap.account');
    expect(body).not.toHaveProperty('account');
  });

  it('GAP: TestEventPattern returns an empty response (no Result) even for a matching pattern', async () => {
    const res = await eb.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ source: ['heygen'] }),
        Event: JSON.stringify({
          id: '1',
          account: MOTO_ACCOUNT_ID,
          source: 'heygen',
          time: '2024-01-01T00:00:00Z',
          region: 'us-east-1',
          resources: [],
          'detail-type': 'avatar_video.success',
          detail: {},
        }),
      }),
    );
    expect(res.Result).toBeUndefined(); // real AWS: true
  });

  it('GAP: a failing SQS target makes PutEvents itself throw; the target DeadLetterConfig is never used', async () => {
    const gapBus = name('gap-bus');
    await eb.send(new CreateEventBusCommand({ Name: gapBus }));
    const doomed = await createQueue('eb-doomed');
    const dlq = await createQueue('eb-doomed-dlq');
    await eb.send(
      new PutRuleCommand({ Name: name('doomed'), EventBusName: gapBus, EventPattern: JSON.stringify({ source: ['heygen'] }) }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: name('doomed'),
        EventBusName: gapBus,
        Targets: [{ Id: 'sqs', Arn: doomed.arn, DeadLetterConfig: { Arn: dlq.arn } }],
      }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: doomed.url }));
    // Real AWS: PutEvents succeeds (delivery is asynchronous) and the event lands in the target DLQ.
    await expect(
      eb.send(new PutEventsCommand({ Entries: [{ EventBusName: gapBus, Source: 'heygen', DetailType: 'x', Detail: '{}' }] })),
    ).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    expect(await drain(dlq.url, 0)).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
describe('Secrets Manager: rotation-style version staging', () => {
  const secretName = name('heygen/webhook-secret');
  const pendingToken = randomUUID();
  let firstVersion: string;

  const get = (VersionStage: string) => sm.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage }));

  beforeAll(async () => {
    const created = await sm.send(new CreateSecretCommand({ Name: secretName, SecretString: 'secret-v1' }));
    firstVersion = created.VersionId ?? '';
    expect(firstVersion).not.toBe('');
  });

  it('PutSecretValue with VersionStages [AWSPENDING] + ClientRequestToken stages a pending version', async () => {
    const put = await sm.send(
      new PutSecretValueCommand({
        SecretId: secretName,
        SecretString: 'secret-v2',
        VersionStages: ['AWSPENDING'],
        ClientRequestToken: pendingToken,
      }),
    );
    expect(put).toMatchObject({ VersionId: pendingToken, VersionStages: ['AWSPENDING'] });

    expect(await get('AWSCURRENT')).toMatchObject({ VersionId: firstVersion, SecretString: 'secret-v1' });
    expect(await get('AWSPENDING')).toMatchObject({ VersionId: pendingToken, SecretString: 'secret-v2' });
    await expect(get('AWSPREVIOUS')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    const d = await sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(d.VersionIdsToStages).toEqual({ [firstVersion]: ['AWSCURRENT'], [pendingToken]: ['AWSPENDING'] });
  });

  it('retrying PutSecretValue with the same token and value is idempotent', async () => {
    const again = await sm.send(
      new PutSecretValueCommand({
        SecretId: secretName,
        SecretString: 'secret-v2',
        VersionStages: ['AWSPENDING'],
        ClientRequestToken: pendingToken,
      }),
    );
    expect(again.VersionId).toBe(pendingToken);
  });

  it('moving AWSCURRENT requires RemoveFromVersionId (InvalidParameterException without it)', async () => {
    await expect(
      sm.send(
        new UpdateSecretVersionStageCommand({ SecretId: secretName, VersionStage: 'AWSCURRENT', MoveToVersionId: pendingToken }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });

  it('UpdateSecretVersionStage moves AWSCURRENT and labels the old version AWSPREVIOUS automatically', async () => {
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretName,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pendingToken,
        RemoveFromVersionId: firstVersion,
      }),
    );
    expect(await get('AWSCURRENT')).toMatchObject({ VersionId: pendingToken, SecretString: 'secret-v2' });
    expect(await get('AWSPREVIOUS')).toMatchObject({ VersionId: firstVersion, SecretString: 'secret-v1' });
    // As in AWS for a manual (non-rotation-service) stage move, AWSPENDING stays until removed explicitly.
    expect(await get('AWSPENDING')).toMatchObject({ VersionId: pendingToken });

    const d = await sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(d.VersionIdsToStages?.[firstVersion]).toEqual(['AWSPREVIOUS']);
    expect([...(d.VersionIdsToStages?.[pendingToken] ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);

    const list = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretName }));
    const stages = Object.fromEntries((list.Versions ?? []).map((v) => [v.VersionId, [...(v.VersionStages ?? [])].sort()]));
    expect(stages).toEqual({ [firstVersion]: ['AWSPREVIOUS'], [pendingToken]: ['AWSCURRENT', 'AWSPENDING'] });
    expect(list.Name).toBe(secretName);
  });

  it('GAP: ListSecretVersionIds returns the secret NAME in its ARN field', async () => {
    const list = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretName }));
    expect(list.ARN).toBe(secretName); // real AWS: arn:aws:secretsmanager:...:secret:<name>-XXXXXX
  });

  it('GAP: PutSecretValue reusing a ClientRequestToken with a DIFFERENT value silently overwrites that version', async () => {
    const s = name('gap-token-reuse');
    await sm.send(new CreateSecretCommand({ Name: s, SecretString: 'one' }));
    const token = randomUUID();
    await sm.send(
      new PutSecretValueCommand({ SecretId: s, SecretString: 'two', VersionStages: ['AWSPENDING'], ClientRequestToken: token }),
    );
    // Real AWS: ResourceExistsException ("You can't modify an existing version").
    await expect(
      sm.send(
        new PutSecretValueCommand({
          SecretId: s,
          SecretString: 'three',
          VersionStages: ['AWSPENDING'],
          ClientRequestToken: token,
        }),
      ),
    ).resolves.toMatchObject({ VersionId: token });
    expect(await sm.send(new GetSecretValueCommand({ SecretId: s, VersionId: token }))).toMatchObject({ SecretString: 'three' });
  });
});

// ------------------------------------------------------------------------------------------------
describe('SQS: redrive to a DLQ, SSE-SQS', () => {
  it('keeps SqsManagedSseEnabled and RedrivePolicy, and moves a message to the DLQ after maxReceiveCount receives', async () => {
    const dlq = await createQueue('sqs-dlq', { SqsManagedSseEnabled: 'true' });
    expect(dlq.attributes.SqsManagedSseEnabled).toBe('true');

    const redrivePolicy = { deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 };
    const main = await createQueue('sqs-main', {
      SqsManagedSseEnabled: 'true',
      RedrivePolicy: JSON.stringify(redrivePolicy),
    });
    expect(main.attributes.SqsManagedSseEnabled).toBe('true');
    expect(JSON.parse(main.attributes.RedrivePolicy ?? '{}')).toEqual(redrivePolicy);

    await sqs.send(new SendMessageCommand({ QueueUrl: main.url, MessageBody: 'poison' }));
    const receiveOnce = () =>
      sqs.send(
        new ReceiveMessageCommand({ QueueUrl: main.url, MaxNumberOfMessages: 1, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
      );
    expect((await receiveOnce()).Messages?.map((m) => m.Body)).toEqual(['poison']);
    expect((await receiveOnce()).Messages?.map((m) => m.Body)).toEqual(['poison']);
    // Third receive exceeds maxReceiveCount: the message goes to the DLQ instead.
    expect((await receiveOnce()).Messages ?? []).toEqual([]);
    expect((await drain(dlq.url, 1)).map((m) => m.Body)).toEqual(['poison']);
  });
});

// ------------------------------------------------------------------------------------------------
// Pins of the operator CLI (bin/commands/): what it uses that moto lacks or bends.
describe('Operator CLI: redrive, replay, status', () => {
  it('GAP: SQS StartMessageMoveTask / ListMessageMoveTasks are not implemented (the redrive test uses test/fakes/sqs-message-move.ts)', async () => {
    const dlq = await createQueue('gap-move-dlq');
    await createQueue('gap-move-src', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }))).rejects.toThrow();
    await expect(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).rejects.toThrow();
  });

  it('GAP: StartReplay ignores Destination.FilterArns and the time window (every archived event goes to every matching rule)', async () => {
    const bus = name('gap-replay-bus');
    const created = await eb.send(new CreateEventBusCommand({ Name: bus }));
    const chosen = await createQueue('gap-replay-chosen');
    const other = await createQueue('gap-replay-other');
    const rule = await eb.send(
      new PutRuleCommand({ Name: name('gap-chosen'), EventBusName: bus, EventPattern: '{"source":["heygen"]}' }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: name('gap-chosen'), EventBusName: bus, Targets: [{ Id: 'q', Arn: chosen.arn }] }),
    );
    await eb.send(new PutRuleCommand({ Name: name('gap-other'), EventBusName: bus, EventPattern: '{"source":["heygen"]}' }));
    await eb.send(new PutTargetsCommand({ Rule: name('gap-other'), EventBusName: bus, Targets: [{ Id: 'q', Arn: other.arn }] }));
    const archive = await eb.send(
      new CreateArchiveCommand({
        ArchiveName: name('gap-archive'),
        EventSourceArn: created.EventBusArn,
        EventPattern: '{"source":["heygen"]}',
      }),
    );
    await eb.send(
      new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: 'heygen', DetailType: 'gap.replay', Detail: '{}' }] }),
    );
    await drain(chosen.url, 1);
    await drain(other.url, 1);
    // A window that ended an hour before the event, filtered to the chosen rule only:
    await eb.send(
      new StartReplayCommand({
        ReplayName: name('gap-replay'),
        EventSourceArn: archive.ArchiveArn,
        EventStartTime: new Date(Date.now() - 7_200_000),
        EventEndTime: new Date(Date.now() - 3_600_000),
        Destination: { Arn: created.EventBusArn, FilterArns: [rule.RuleArn ?? ''] },
      }),
    );
    // AWS would replay nothing (the event is outside the window); moto replays it, to both rules.
    expect(await drain(chosen.url, 1)).toHaveLength(1);
    expect(await drain(other.url, 1)).toHaveLength(1);
  });

  it('GAP: DescribeAlarms with AlarmNamePrefix ignores StateValue (AWS applies both)', async () => {
    const alarm = name('gap-alarm');
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        Namespace: 'Gap',
        MetricName: 'M',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'gap' }));
    const res = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: alarm, StateValue: 'ALARM' }));
    expect(res.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([[alarm, 'OK']]);
  });
});
