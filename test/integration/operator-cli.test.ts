/**
 * The operator commands (status, redrive, replay, listen, send) against moto with the real SDK v3
 * clients, on the relay's resources provisioned from its synthesized template
 * (test/support/emulator-stack.ts). The stack's outputs are a real CloudFormation stack on moto
 * holding the emulator's physical names, so `--stack` goes through DescribeStacks as in AWS.
 *
 * Where moto lacks an API (SQS message move tasks) or bends one (StartReplay ignores FilterArns and
 * the time window), the gap is pinned in moto-capabilities.test.ts and handled here by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateArchiveCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ListRulesCommand,
  PutEventsCommand,
  type StartReplayCommandInput,
} from '@aws-sdk/client-eventbridge';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { messageMoveTaskSqs } from '../fakes/sqs-message-move.js';
import {
  drainQueue,
  type EmulatorStack,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  provisionFromTemplate,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';
import { createOutputsStack, motoCliIo } from '../support/operator-cli.js';

const REPO = join(__dirname, '..', '..');
const RUN = randomUUID().slice(0, 8);
const STACK = `OpsRelay${RUN}`;
const WEBHOOK_URL = `https://ops${RUN}.lambda-url.us-east-1.on.aws/heygen`;
const SECRET = `whsec_${randomUUID().replace(/-/g, '')}${randomUUID().replace(/-/g, '')}`;

let endpoint: string;
let stack: EmulatorStack;
let heygen: FakeHeyGenApi;
let handler: IngressHandler;
let eb: EventBridgeClient;
let sqs: SQSClient;
let cw: CloudWatchClient;
let queueUrl: (logicalPrefix: string) => string;
let queueOf: (logicalPrefix: string) => { url: string; arn: string };

function io(extra: Partial<CliIo> = {}) {
  return motoCliIo(endpoint, stack, heygen.url, { pollMs: 50, ...extra });
}

/** One run of a scheduled function (`metric` = BackfillRuns, RegistrarRuns) ending `outcome`, `agoMs` ago, as its EMF records it. */
async function putRunOutcome(metric: string, service: string, outcome: string, agoMs: number): Promise<void> {
  await cw.send(
    new PutMetricDataCommand({
      Namespace: 'HeyGenRelay',
      MetricData: [
        {
          MetricName: metric,
          Dimensions: [
            { Name: 'service', Value: service },
            { Name: 'Outcome', Value: outcome },
          ],
          Value: 1,
          Unit: 'Count',
          Timestamp: new Date(Date.now() - agoMs),
        },
      ],
    }),
  );
}

async function publish(types: string[]): Promise<void> {
  const res = await eb.send(
    new PutEventsCommand({
      Entries: types.map((t, i) => ({
        EventBusName: stack.busName,
        Source: 'heygen',
        DetailType: t,
        Detail: JSON.stringify({ id: `heygen:${RUN}-${i}-${randomUUID()}`, type: t, provider: 'heygen', data: { n: i } }),
      })),
    }),
  );
  expect(res.FailedEntryCount ?? 0).toBe(0);
}

/** Receives a message `times` times without deleting it: SQS moves it to the DLQ after maxReceiveCount. */
async function deadLetter(url: string, want: number): Promise<string[]> {
  const bodies = new Set<string>();
  for (let round = 0; round < 40 && bodies.size < want * 6; round++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    for (const m of r.Messages ?? []) bodies.add(`${m.Body}#${round}`);
    if ((r.Messages ?? []).length === 0 && round > 6) break;
  }
  return [...bodies];
}

beforeAll(async () => {
  endpoint = inject('motoEndpoint');
  heygen = await FakeHeyGenApi.start();
  const template = synthesizeRelayTemplate({
    relay: { queues: [{ name: 'failures', eventTypes: ['avatar_video.fail', 'video_translate.fail'] }] },
  });
  stack = await provisionFromTemplate(template, endpoint);
  handler = await loadIngressEntry(stack);
  const config = awsClientConfig(endpoint);
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
  cw = new CloudWatchClient(config);
  const byPrefix = (p: string) => {
    const q = Object.values(stack.queues).find((x) => x.logicalId.startsWith(p));
    if (!q) throw new Error(`no queue ${p}`);
    return q.url;
  };
  queueUrl = byPrefix;
  queueOf = (p) => {
    const q = Object.values(stack.queues).find((x) => x.logicalId.startsWith(p));
    if (!q) throw new Error(`no queue ${p}`);
    return q;
  };

  // The archive (not on the data path, so not provisioned by the emulator stack): as the template has it.
  const archive = Object.values(stack.template.Resources).find((r) => r.Type === 'AWS::Events::Archive');
  const bus = await eb.send(new DescribeEventBusCommand({ Name: stack.busName }));
  await eb.send(
    new CreateArchiveCommand({
      ArchiveName: `ops-${RUN}`,
      EventSourceArn: bus.Arn,
      EventPattern: JSON.stringify(archive?.Properties?.EventPattern),
      RetentionDays: 30,
    }),
  );

  // A stored signing secret and its endpoint at (fake) HeyGen, as the registrar leaves them.
  const ep = await new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: heygen.url }).createEndpoint({
    url: WEBHOOK_URL,
    events: null,
  });
  await stack.clients.sm.send(
    new PutSecretValueCommand({
      SecretId: stack.signingSecretArn,
      SecretString: JSON.stringify({ secret: SECRET, endpointId: ep.endpoint_id, url: WEBHOOK_URL }),
    }),
  );

  // The stack's outputs, by their stable ids, in a real CloudFormation stack on moto.
  const outputs: Record<string, string> = {
    HeyGenWebhookUrl: WEBHOOK_URL,
    EventBusName: stack.busName,
    SigningSecretArn: stack.signingSecretArn,
    DedupTableName: stack.tableName,
    ParkedBucketName: stack.parkedBucket,
    DefaultQueueUrl: byPrefix('RelayDefaultQueue'),
  };
  const stateTable = stack.ingressEnv.STATE_TABLE_NAME;
  if (stateTable) outputs.StateTableName = stateTable;
  await createOutputsStack(endpoint, STACK, outputs);
}, 120_000);

afterAll(async () => {
  await heygen?.close();
  stack?.destroy();
});

describe('CLI: status', () => {
  it('reports a seeded unhealthy state (a dead letter, an alarm in ALARM) and exits 3; healthy again exits 0', async () => {
    // prepare: one event dead-lettered in the default queue, an alarm in ALARM, a day of counts.
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
    await publish(['avatar_video.success']);
    await deadLetter(queueUrl('RelayDefaultQueue'), 1);
    const alarmName = `${STACK}-RelayDefaultDlqNotEmpty-${RUN.toUpperCase()}`;
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: alarmName,
        AlarmDescription: 'heygen-relay: messages in dead-letter queue allDlq',
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'ALARM', StateReason: 'seeded by the test' }));
    const at = new Date(Date.now() - 30 * 60_000);
    const dims = (extra: Record<string, string>) =>
      Object.entries({ service: 'heygen-relay', ...extra }).map(([Name, Value]) => ({ Name, Value }));
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'HeyGenRelay',
        MetricData: [
          { MetricName: 'Received', Dimensions: dims({ provider: 'heygen' }), Value: 12, Unit: 'Count', Timestamp: at },
          { MetricName: 'Published', Dimensions: dims({ provider: 'heygen' }), Value: 9, Unit: 'Count', Timestamp: at },
          { MetricName: 'Duplicate', Dimensions: dims({ provider: 'heygen' }), Value: 1, Unit: 'Count', Timestamp: at },
          {
            MetricName: 'Rejected',
            Dimensions: dims({ provider: 'heygen', reason: 'invalid_signature' }),
            Value: 2,
            Unit: 'Count',
            Timestamp: at,
          },
          {
            MetricName: 'RegistrarRuns',
            Dimensions: [
              { Name: 'service', Value: 'heygen-relay-registrar' },
              { Name: 'Outcome', Value: 'in_sync' },
            ],
            Value: 1,
            Unit: 'Count',
            Timestamp: at,
          },
        ],
      }),
    );

    // act
    const { io: cli, out } = io();
    const code = await main(['status', '--stack', STACK], cli);

    // assess
    const screen = out.join('\n');
    mkdirSync(join(REPO, '.relay'), { recursive: true });
    writeFileSync(join(REPO, '.relay', 'status-screen.txt'), `${screen}\n(exit ${code})\n`);
    expect(code).toBe(3);
    expect(screen).toMatch(/needs attention:/);
    // Pasteable as printed: it names the stack.
    expect(screen).toContain(
      `1 message(s) in the dead-letter queue of all: fix the consumer, then heygen-relay redrive --stack ${STACK} --queue all`,
    );
    expect(screen).toContain(`alarm ${alarmName} is in ALARM`);
    expect(screen).toMatch(new RegExp(`HeyGen endpoint +${WEBHOOK_URL.replace(/[.]/g, '\\.')} +\\S+ +enabled +events: all`));
    expect(screen).toMatch(/Signing secret +AWSCURRENT \S+ \(0 d old\)/);
    expect(screen).toMatch(/Last registrar +in_sync/);
    expect(screen).toMatch(/Last 24 h heygen +Received 12, Published 9, Duplicate 1, Rejected invalid_signature 2/);
    expect(screen).toMatch(/Queue all +0 waiting, 0 in flight, dead letters 1/);
    const { io: json, out: jsonOut } = io();
    expect(await main(['status', '--stack', STACK, '--json'], json)).toBe(3);
    const report = JSON.parse(jsonOut.join('\n'));
    expect(report.queues.find((q: { route: string }) => q.route === 'all').deadLetters).toBe(1);
    expect(report.alarms.map((a: { name: string }) => a.name)).toEqual([alarmName]);

    // healthy again: the dead letter redriven and consumed, the alarm back to OK.
    const { io: r } = io({ sqs: () => messageMoveTaskSqs(awsClientConfig(endpoint)) });
    expect(await main(['redrive', '--stack', STACK, '--queue', 'all'], r)).toBe(0);
    expect(await drainQueue(sqs, queueUrl('RelayDefaultQueue'))).toHaveLength(1);
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'OK', StateReason: 'fixed' }));
    const after = io();
    const healthy = await main(['status', '--stack', STACK], after.io);
    expect(after.out.join('\n')).toMatch(/healthy: nothing needs a person/);
    expect(healthy).toBe(0);
    expect(after.out.join('\n')).toMatch(/healthy: nothing needs a person/);
  }, 60_000);
  it('names a last backfill run that failed as needing a person', async () => {
    await putRunOutcome('BackfillRuns', 'heygen-relay-backfill', 'failed', 10 * 60_000);
    const { io: cli, out } = io();
    expect(await main(['status', '--stack', STACK], cli)).toBe(3);
    expect(out.join('\n')).toMatch(/Last backfill +failed/);
    expect(out.join('\n')).toMatch(/- the last backfill run \(\S+\) ended failed: see its logs/);
  });
  it('names a last registrar run that ended second_writer, with what a person does (issue 19)', async () => {
    // The earlier test's in_sync run shares this hour's datapoint: status shows the one a person must see.
    await putRunOutcome('RegistrarRuns', 'heygen-relay-registrar', 'second_writer', 25 * 60_000);
    const { io: cli, out } = io();
    expect(await main(['status', '--stack', STACK], cli)).toBe(3);
    const screen = out.join('\n');
    expect(screen).toMatch(/Last registrar +second_writer(, in_sync)? \((runs )?in the hour from /);
    expect(screen).toMatch(
      new RegExp(
        `- second_writer: another writer keeps changing our endpoint's secret.*\\n {4}to do: .*heygen-relay rotate --stack ${STACK}`,
      ),
    );
  });
  it('shows a period the backfill could not cover as needing a person until backfill --acknowledge-gap clears it (issue 19)', async () => {
    const { DynamoBackfillCheckpoint } = await import('../../functions/adapters/aws/dynamodb-evidence.js');
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, stack.ingressEnv.STATE_TABLE_NAME as string, 'heygen');
    const fromMs = Date.parse('2026-12-01T00:00:00Z');
    await checkpoint.write({
      ...(await checkpoint.read()),
      uncovered: [{ reason: 'dedup_window', fromMs, untilMs: fromMs + 24 * 3_600_000, entries: 24 }],
    });
    const { io: cli, out } = io();
    expect(await main(['status', '--stack', STACK], cli)).toBe(3);
    const screen = out.join('\n');
    expect(screen).toMatch(
      /Backfill gap +not covered \(older than the dedup window\): 2026-12-01T00:00:00\.000Z \.\. 2026-12-02T00:00:00\.000Z, 24 entries of ours/,
    );
    expect(screen).toMatch(
      new RegExp(
        `- backfill_gap: .*24 entries of ours.*\\n {4}to do: .*then heygen-relay backfill --stack ${STACK} --acknowledge-gap`,
      ),
    );
    const ack = io();
    expect(await main(['backfill', '--stack', STACK, '--acknowledge-gap'], ack.io)).toBe(0);
    expect(ack.out.join('\n')).toMatch(/acknowledged:\nnot covered \(older than the dedup window\)/);
    expect((await checkpoint.read()).uncovered).toEqual([]);
    const after = io();
    await main(['status', '--stack', STACK], after.io);
    expect(after.out.join('\n')).not.toMatch(/Backfill gap/);
  });
});

describe('CLI: redrive', () => {
  it('moves N dead-lettered messages back to their queue, and they are consumed', async () => {
    const url = queueUrl('RelayDefaultQueue');
    await drainQueue(sqs, url);
    await drainQueue(sqs, queueOf('RelayDefaultDlq').url);
    const N = 4;
    await publish(Array.from({ length: N }, () => 'avatar_video.success'));
    await deadLetter(url, N);
    const fake = () => messageMoveTaskSqs(awsClientConfig(endpoint));

    const dry = io({ sqs: fake });
    expect(await main(['redrive', '--stack', STACK, '--dry-run', '--json'], dry.io)).toBe(0);
    const plan = JSON.parse(dry.out.join('\n')).results;
    expect(plan.find((x: { route: string }) => x.route === 'all')).toMatchObject({ outcome: 'would_move', before: N });
    expect(plan.find((x: { route: string }) => x.route === 'failures')).toMatchObject({ outcome: 'empty' });

    const drawn: string[] = [];
    const { io: cli, out } = io({ sqs: fake, isTTY: true, writeErr: (t) => drawn.push(t) });
    expect(await main(['redrive', '--stack', STACK, '--all'], cli)).toBe(0);
    // On a terminal, a progress line while the task runs, cleared at the end.
    const CLEAR = '\r\x1b[2K';
    expect(drawn[0]?.startsWith(CLEAR)).toBe(true);
    expect(drawn[0]?.slice(CLEAR.length)).toMatch(/^redrive all: moved \d+\/4$/);
    expect(drawn.at(-1)).toBe(CLEAR);
    expect(out).toContain(
      `all: moved ${N} of ${N} message(s) from ${queueOf('RelayDefaultDlq').url.split('/').pop()} back to ${url.split('/').pop()}`,
    );
    const consumed = await drainQueue(sqs, url);
    expect(consumed).toHaveLength(N);
    expect(new Set(consumed.map((m) => (JSON.parse(m.Body ?? '{}') as { 'detail-type': string })['detail-type']))).toEqual(
      new Set(['avatar_video.success']),
    );
    const again = io({ sqs: fake });
    expect(await main(['redrive', '--stack', STACK, '--queue', 'all'], again.io)).toBe(0);
    expect(again.out[0]).toMatch(/all: dead-letter queue \S+ is empty/);
  }, 60_000);
});

describe('Fake: SQS message move task (test/fakes/sqs-message-move.ts), as the SQS API reference describes it', () => {
  it('refuses a source that is no dead-letter queue, and a second task while one runs; lists newest first with the counts', async () => {
    const fake = messageMoveTaskSqs(awsClientConfig(endpoint));
    await expect(fake.send(new StartMessageMoveTaskCommand({ SourceArn: queueOf('RelayDefaultQueue').arn }))).rejects.toThrow(
      /must be configured as a Dead Letter Queue/,
    );
    const dlq = queueOf('RelayRoutefailuresDlq');
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: '{"n":1}' }));
    const { TaskHandle } = await fake.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    expect(TaskHandle).toBeTruthy();
    await expect(fake.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }))).rejects.toThrow(/already a task running/);
    const running = (await fake.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results?.[0];
    expect(running).toMatchObject({ Status: 'RUNNING', TaskHandle, ApproximateNumberOfMessagesToMove: 1 });
    for (let i = 0; i < 100; i++) {
      const r = (await fake.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }))).Results?.[0];
      if (r?.Status !== 'RUNNING') {
        expect(r).toMatchObject({ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1 });
        expect(r?.TaskHandle).toBeUndefined();
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    expect((await drainQueue(sqs, queueOf('RelayRoutefailuresQueue').url)).map((m) => m.Body)).toEqual(['{"n":1}']);
  });
});

describe('CLI: replay', () => {
  /** An EventBridge client (to moto) that records StartReplay's input. */
  const recordingEventBridge = () => {
    const client = new EventBridgeClient(awsClientConfig(endpoint));
    const replays: StartReplayCommandInput[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'StartReplayCommand') replays.push(args.input as StartReplayCommandInput);
        return next(args);
      },
      { step: 'initialize' },
    );
    return { client, replays };
  };
  const replayed = (messages: Message[]) =>
    messages.filter((m) => m.MessageAttributes?.['heygen-relay-replay']?.StringValue?.startsWith('heygen-relay-'));

  it("delivers the window's archived events into one queue, by type, counted; nothing temporary is left", async () => {
    const all = queueUrl('RelayDefaultQueue');
    const failures = queueUrl('RelayRoutefailuresQueue');
    // Event times have whole seconds (as in AWS): the window starts at a second no earlier test published in.
    await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
    const from = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    await publish(['avatar_video.success', 'avatar_video.fail', 'video_translate.success']);
    await drainQueue(sqs, all);
    await drainQueue(sqs, failures);

    const recorder = recordingEventBridge();
    const { io: cli, out } = io({ eventBridge: () => recorder.client });
    expect(await main(['replay', '--stack', STACK, '--from', from, '--queue', 'all', '--json'], cli)).toBe(0);
    const result = JSON.parse(out.join('\n'));
    expect(result).toMatchObject({ state: 'COMPLETED', queues: [{ route: 'all', delivered: 3 }] });
    const got = replayed(await drainQueueWithAttributes(all));
    expect(got.map((m) => JSON.parse(m.Body ?? '{}')['detail-type']).sort()).toEqual([
      'avatar_video.fail',
      'avatar_video.success',
      'video_translate.success',
    ]);
    // The replay is filtered to its temporary rules only, over the asked window (moto honours neither: pinned).
    const input = recorder.replays[0];
    expect(input?.Destination?.FilterArns).toHaveLength(1);
    expect(input?.Destination?.FilterArns?.[0]).toMatch(/rule\/.*heygen-relay-replay-/);
    expect(input?.EventStartTime?.toISOString()).toBe(from);
    expect(replayed(await drainQueueWithAttributes(failures))).toHaveLength(0);

    // --type narrows it; into every queue, each gets what its own rule routes.
    const typed = io();
    expect(await main(['replay', '--stack', STACK, '--from', from, '--type', 'avatar_video.fail', '--json'], typed.io)).toBe(0);
    const byRoute = Object.fromEntries(
      JSON.parse(typed.out.join('\n')).queues.map((q: { route: string; delivered: number }) => [q.route, q.delivered]),
    );
    expect(byRoute).toEqual({ all: 1, failures: 1 });
    expect(replayed(await drainQueueWithAttributes(failures)).map((m) => JSON.parse(m.Body ?? '{}')['detail-type'])).toEqual([
      'avatar_video.fail',
    ]);
    await drainQueue(sqs, all);
    await expectNoTemporaryRoutes();
  }, 60_000);

  it('refuses a window that ends before it starts, or in the future (64)', async () => {
    const a = io();
    expect(await main(['replay', '--stack', STACK, '--from', '1h', '--to', '2h'], a.io)).toBe(64);
    expect(a.err[0]).toBe('error: --from must be before --to');
    const b = io();
    expect(await main(['replay', '--stack', STACK, '--from', '1h', '--to', '2099-01-01T00:00:00Z'], b.io)).toBe(64);
  });
});

async function drainQueueWithAttributes(url: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let quiet = 0; quiet < 3; ) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 300,
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) quiet++;
    else {
      quiet = 0;
      out.push(...msgs);
      const { DeleteMessageBatchCommand } = await import('@aws-sdk/client-sqs');
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
  return out;
}

async function temporaryRoutes(): Promise<{ rules: string[]; queues: string[] }> {
  const rules: string[] = [];
  for (const p of ['heygen-relay-listen-', 'heygen-relay-replay-'])
    rules.push(
      ...((await eb.send(new ListRulesCommand({ EventBusName: stack.busName, NamePrefix: p }))).Rules ?? []).map(
        (r) => r.Name ?? '',
      ),
    );
  const queues: string[] = [];
  for (const p of ['heygen-relay-listen-', 'heygen-relay-replay-'])
    queues.push(...((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: p }))).QueueUrls ?? []));
  return { rules, queues };
}

async function expectNoTemporaryRoutes(): Promise<void> {
  const left = await temporaryRoutes();
  // Other files' buses may run listen too: only this bus's rules, and queues tagged with it, count.
  expect(left.rules).toEqual([]);
  expect(left.queues.filter((u) => u.includes(RUN))).toEqual([]);
}

describe('CLI: listen', () => {
  it('prints events published after it starts, and removes its rule and queue on exit', async () => {
    const ac = new AbortController();
    const { io: cli, out, err } = io({ signal: ac.signal });
    const done = main(['listen', '--stack', STACK, '--count', '2', '--wait', '1', '--type', 'avatar_video.success'], cli);
    await waitFor(() => err.some((l) => l.startsWith('listening on')));
    expect((await temporaryRoutes()).rules).toHaveLength(1);
    await publish(['avatar_video.fail', 'avatar_video.success', 'avatar_video.success']);
    expect(await done).toBe(0);
    expect(out).toHaveLength(2);
    for (const l of out) expect(l).toMatch(/^\S+ {2}heygen {2}avatar_video\.success {2}\{"id":"heygen:/);
    expect((await temporaryRoutes()).rules).toEqual([]);
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
    await drainQueue(sqs, queueUrl('RelayRoutefailuresQueue'));
  }, 60_000);

  it('forwards each event to a local URL', async () => {
    const posted: string[] = [];
    const fakeFetch: typeof fetch = async (_url, init) => {
      posted.push(String(init?.body));
      return new Response('ok', { status: 200 });
    };
    const { io: cli, err } = io({ fetch: fakeFetch, signal: new AbortController().signal });
    const done = main(['listen', '--stack', STACK, '--count', '1', '--wait', '1', '--forward', 'http://127.0.0.1:9/events'], cli);
    await waitFor(() => err.some((l) => l.startsWith('listening on')));
    await publish(['video_translate.success']);
    expect(await done).toBe(0);
    expect(posted.map((b) => JSON.parse(b)['detail-type'])).toEqual(['video_translate.success']);
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
  }, 60_000);

  it('does not print or count an event whose forward failed, and says it comes again', async () => {
    const ac = new AbortController();
    const fakeFetch: typeof fetch = async () => new Response('down', { status: 503 });
    const { io: cli, out, err } = io({ fetch: fakeFetch, signal: ac.signal });
    const done = main(['listen', '--stack', STACK, '--wait', '1', '--forward', 'http://127.0.0.1:9/events'], cli);
    await waitFor(() => err.some((l) => l.startsWith('listening on')));
    await publish(['avatar_video.success']);
    await waitFor(() => err.some((l) => / answered 503; it comes again in 30 s$/.test(l)));
    ac.abort();
    expect(await done).toBe(0);
    expect(out).toEqual([]);
    expect(err.at(-1)).toMatch(/^removed heygen-relay-listen-\S+; 0 event\(s\) received$/);
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
  }, 60_000);

  const env = () => ({
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
  const spawnListen = (args: string[]): { child: ChildProcess; out: string[]; err: string[] } => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'bin', 'cli.ts'), 'listen', '--bus', stack.busName, ...args],
      {
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: string[] = [];
    const err: string[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
    child.stderr?.on('data', (d: Buffer) => err.push(...d.toString().split('\n').filter(Boolean)));
    return { child, out, err };
  };
  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );

  it('as a process: Ctrl-C (SIGINT) removes the rule and queue; SIGKILL leaves them, and the next sweep removes them', async () => {
    // Ctrl-C
    const a = spawnListen(['--wait', '1']);
    await waitFor(() => a.err.some((l) => l.startsWith('listening on')), 30_000);
    await publish(['avatar_video.success']);
    await waitFor(() => a.out.length === 1, 15_000);
    expect(a.out[0]).toMatch(/heygen {2}avatar_video\.success/);
    const aExit = exited(a.child);
    a.child.kill('SIGINT');
    expect((await aExit).code).toBe(0);
    expect((await temporaryRoutes()).rules).toEqual([]);

    // SIGKILL: nothing runs on exit, the leftovers stay until their lease (--ttl 6) has passed. The
    // lease is long enough for a loaded machine to start the second listener and run a status inside it.
    const TTL_S = 6;
    const b = spawnListen(['--wait', '1', '--ttl', String(TTL_S)]);
    await waitFor(() => b.err.some((l) => l.startsWith('listening on')), 30_000);
    const bExit = exited(b.child);
    b.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await bExit).signal).toBe('SIGKILL');
    const left = await temporaryRoutes();
    expect(left.rules).toHaveLength(1);
    // Meanwhile another listener runs, with the same lease, renewing it.
    const live = spawnListen(['--wait', '1', '--ttl', String(TTL_S)]);
    await waitFor(() => live.err.some((l) => l.startsWith('listening on')), 30_000);
    const liveRule = (await temporaryRoutes()).rules.find((r) => !left.rules.includes(r));
    expect(liveRule).toBeDefined();
    expect(left.queues.some((u) => u.endsWith(left.rules[0] as string))).toBe(true);
    // Within the lease a sweep leaves them (the owner might be alive) ...
    const early = io();
    const earlyAt = Date.now();
    await main(['status', '--stack', STACK, '--json'], early.io);
    if (earlyAt - killedAt < (TTL_S - 1) * 1000) expect(JSON.parse(early.out.join('\n')).sweptTemporaryRoutes).toEqual([]);
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + TTL_S * 1000 + 500 - Date.now())));
    // ... after it, the next status (or listen, or replay) removes them.
    const { io: cli, out } = io();
    await main(['status', '--stack', STACK, '--json'], cli);
    expect(JSON.parse(out.join('\n')).sweptTemporaryRoutes).toEqual(left.rules);
    const after = await temporaryRoutes();
    expect(after.rules).toEqual([liveRule]); // the live listener's lease was renewed: it stays
    expect(after.queues.filter((u) => u.endsWith(left.rules[0] as string))).toEqual([]);
    const liveExit = exited(live.child);
    live.child.kill('SIGINT');
    expect((await liveExit).code).toBe(0);
    expect((await temporaryRoutes()).rules).toEqual([]);
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
  }, 90_000);
});

describe('CLI: send', () => {
  it('posts a correctly signed sample that the real ingress verifies and publishes to the queues', async () => {
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
    const requests: { url: string; status: number }[] = [];
    const viaIngress: typeof fetch = async (url, init) => {
      const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>));
      const body = init?.body as Buffer;
      const res = await handler(
        functionUrlEvent(body, {
          signature: headers['heygen-signature'] ?? null,
          timestamp: Number(headers['heygen-timestamp']),
          headers: { 'heygen-event-id': headers['heygen-event-id'] ?? '' },
        }),
        lambdaContext(),
      );
      requests.push({ url: String(url), status: res.statusCode ?? 0 });
      return new Response(res.body ?? '', { status: res.statusCode ?? 500 });
    };
    const { io: cli, out } = io({ fetch: viaIngress });
    expect(await main(['send', '--stack', STACK, 'avatar_video.success'], cli)).toBe(0);
    expect(requests).toEqual([{ url: WEBHOOK_URL, status: 200 }]);
    expect(out[0]).toMatch(/^POST \S+ \(avatar_video\.success\): 200 in \d+ ms \{"status":"published"/);
    const got = await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
    expect(got.map((m) => JSON.parse(m.Body ?? '{}')['detail-type'])).toEqual(['avatar_video.success']);

    // A second send is a new event (fresh ids), not a duplicate.
    const again = io({ fetch: viaIngress });
    expect(await main(['send', '--stack', STACK, 'avatar_video.success'], again.io)).toBe(0);
    expect(again.out[0]).toMatch(/"status":"published"/);
    await drainQueue(sqs, queueUrl('RelayDefaultQueue'));
    const bad = io({ fetch: viaIngress });
    expect(await main(['send', '--stack', STACK, 'no_such.type'], bad.io)).toBe(64);
  }, 60_000);
});

async function waitFor(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
