/**
 * `heygen-relay status` names each condition under which events stop flowing until a person acts
 * (issue 19; bin/commands/status-conditions.ts): a disabled endpoint, a second writer, a period the
 * backfill could not cover, HeyGen's history not reaching back far enough, entries left unpublished
 * because our endpoint's subscription is unsure; and, when several hold at once (runs of one hour
 * tie in their metric's datapoint), every one of them.
 *
 * The real SDK v3 clients against a moto server of this file's own (reset before each test, so no
 * other file's metrics share an hour with these), the fake HeyGen for the endpoint listing. What the
 * registrar and backfill leave behind is written as they write it: `RegistrarRuns{service, Outcome}`
 * datapoints (their EMF), the backfill checkpoint (DynamoBackfillCheckpoint), the heal journal item.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { DynamoBackfillCheckpoint } from '../../functions/adapters/aws/dynamodb-evidence.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import type { UncoveredPeriod } from '../../providers/heygen/runtime/backfill.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import { awsClientConfig, type MotoServer, startMoto } from '../support/moto.js';
import { createOutputsStack } from '../support/operator-cli.js';

const REPO = join(__dirname, '..', '..');
const RUN = randomUUID().slice(0, 8);
const STACK = `StatusRelay${RUN}`;
const WEBHOOK_URL = `https://st${RUN}.lambda-url.us-east-1.on.aws/heygen`;
const HOUR = 3_600_000;
const CONDITIONS = ['endpoint_disabled', 'second_writer', 'backfill_gap', 'history_short', 'subscription_unsure'];

let moto: MotoServer;
let heygen: FakeHeyGenApi;
let config: ReturnType<typeof awsClientConfig>;
let signingSecretArn: string;
let endpointId: string;
const table = `state-${RUN}`;

/** A CliIo on this file's moto; `withKey` false: no HeyGen API key anywhere (HeyGen's listing unread). */
function io(withKey = true) {
  const out: string[] = [];
  const value: CliIo = {
    env: withKey ? { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: heygen.url } : { HEYGEN_API_URL: heygen.url },
    out: (l) => out.push(l),
    err: () => {},
    secretsManager: () => new SecretsManagerClient(config),
    cloudFormation: () => new CloudFormationClient(config),
    dynamoDb: () => new DynamoDBClient(config),
    s3: () => new S3Client(config),
    eventBridge: () => new EventBridgeClient(config),
    sqs: () => new SQSClient(config),
    cloudWatch: () => new CloudWatchClient(config),
  };
  return { io: value, out };
}

async function status(args: string[] = [], withKey = true) {
  const screen = io(withKey);
  const code = await main(['status', '--stack', STACK, ...args], screen.io);
  const json = io(withKey);
  await main(['status', '--stack', STACK, '--json', ...args], json.io);
  return { code, screen: screen.out.join('\n'), report: JSON.parse(json.out.join('\n')) };
}

/** Registrar runs ending `outcomes`, all at one instant (one hour's datapoint), in the order given. */
async function registrarRuns(outcomes: string[], agoMs = 10 * 60_000): Promise<void> {
  const at = new Date(Date.now() - agoMs);
  for (const outcome of outcomes)
    await new CloudWatchClient(config).send(
      new PutMetricDataCommand({
        Namespace: 'HeyGenRelay',
        MetricData: [
          {
            MetricName: 'RegistrarRuns',
            Dimensions: [
              { Name: 'service', Value: 'heygen-relay-registrar' },
              { Name: 'Outcome', Value: outcome },
            ],
            Value: 1,
            Unit: 'Count',
            Timestamp: at,
          },
        ],
      }),
    );
}

async function checkpoint(uncovered: UncoveredPeriod[], historyKeptMs: number | null = null): Promise<DynamoBackfillCheckpoint> {
  const cp = new DynamoBackfillCheckpoint(new DynamoDBClient(config), table, 'heygen');
  await cp.write({ ...(await cp.read()), uncovered, historyKeptMs });
  return cp;
}

const FROM = Date.parse('2026-12-01T00:00:00Z');
const period = (reason: UncoveredPeriod['reason'], hours: number, entries: number | null, startH = 0): UncoveredPeriod => ({
  reason,
  fromMs: FROM + startH * HOUR,
  untilMs: FROM + (startH + hours) * HOUR,
  entries,
});
/** The conditions that hold, by name (the JSON has one field per condition). */
const holding = (report: { conditions: Record<string, unknown> }) =>
  Object.entries(report.conditions)
    .filter(([, v]) => v !== null)
    .map(([k]) => k);

beforeAll(async () => {
  moto = await startMoto();
  config = awsClientConfig(moto.endpoint);
  heygen = await FakeHeyGenApi.start();
}, 60_000);

afterAll(async () => {
  await heygen?.close();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  heygen.reset();
  const bus = `status-bus-${RUN}`;
  await new EventBridgeClient(config).send(new CreateEventBusCommand({ Name: bus }));
  await new DynamoDBClient(config).send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const ep = await new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: heygen.url }).createEndpoint({
    url: WEBHOOK_URL,
    events: null,
  });
  endpointId = ep.endpoint_id;
  const secret = await new SecretsManagerClient(config).send(
    new CreateSecretCommand({
      Name: `signing-${RUN}`,
      SecretString: JSON.stringify({ secret: `whsec_${randomUUID().replace(/-/g, '')}`, endpointId, url: WEBHOOK_URL }),
    }),
  );
  signingSecretArn = secret.ARN as string;
  await createOutputsStack(moto.endpoint, STACK, {
    HeyGenWebhookUrl: WEBHOOK_URL,
    EventBusName: bus,
    SigningSecretArn: signingSecretArn,
    StateTableName: table,
  });
}, 60_000);

describe('status: each condition under which events stop flowing, by name (issue 19)', () => {
  it('healthy: no condition holds, every field is there and null', async () => {
    await registrarRuns(['in_sync']);
    const { code, report, screen } = await status();
    expect(screen).toMatch(/healthy: nothing needs a person/);
    expect(code).toBe(0);
    expect(Object.keys(report.conditions)).toEqual(CONDITIONS);
    expect(holding(report)).toEqual([]);
  });

  it('status-endpoint-disabled', async () => {
    // HeyGen disabled our endpoint after the registrar's last run (in_sync): HeyGen's listing says so.
    (heygen.endpoints.get(endpointId) as { status: string }).status = 'disabled';
    await registrarRuns(['in_sync'], 2 * HOUR);
    const first = await status();
    expect(first.screen).toMatch(/- endpoint_disabled: .*\n {4}to do: re-enable the endpoint in HeyGen's dashboard/);
    expect(first.code).toBe(3);
    // ... and the registrar's next run said so too.
    await registrarRuns(['endpoint_disabled']);
    const { code, report, screen } = await status();
    expect(code).toBe(3);
    expect(holding(report)).toEqual(['endpoint_disabled']);
    expect(report.conditions.endpoint_disabled).toMatchObject({
      alarm: 'HeyGenEndpointDisabled',
      endpoints: [{ id: endpointId, status: 'disabled' }],
    });
    expect(screen).toContain(
      `  - endpoint_disabled: HeyGen lists our webhook endpoint ${endpointId} as disabled: nothing is delivered\n` +
        `    to do: re-enable the endpoint in HeyGen's dashboard (Webhooks); HeyGen's v3 API cannot. Then heygen-relay backfill --stack ${STACK} for what the dedup window still covers (alarm HeyGenEndpointDisabled)`,
    );
    // Without an API key status cannot ask HeyGen: the registrar's report stands in.
    const blind = await status([], false);
    expect(holding(blind.report)).toEqual(['endpoint_disabled']);
    expect(blind.screen).toMatch(
      /- endpoint_disabled: the registrar's runs in the hour from \S+ found our webhook endpoint disabled/,
    );
    // Re-enabled in the dashboard: HeyGen's listing is the truth now, although the hour's report said disabled.
    (heygen.endpoints.get(endpointId) as { status: string }).status = 'enabled';
    const enabled = await status();
    expect(enabled.screen).not.toMatch(/- endpoint_disabled/);
    expect(enabled.screen).toMatch(/healthy: nothing needs a person/);
    expect(holding(enabled.report)).toEqual([]);
  });

  it('status-second-writer: who (a person, or another stack at our URL) and what (the takeovers of the last 24 h)', async () => {
    await registrarRuns(['second_writer']);
    // The registrar's heal journal holds two takeovers within 24 h and one older.
    const now = Date.now();
    const takeovers = [
      { at: now - 30 * HOUR, kind: 'adopt', endpointId: 'ep_old' },
      { at: now - 5 * HOUR, kind: 'heal', endpointId },
      { at: now - 1 * HOUR, kind: 'heal', endpointId },
    ];
    await new DynamoDBClient(config).send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `heal#heygen:${signingSecretArn}` }, takeovers: { S: JSON.stringify(takeovers) } },
      }),
    );
    const { code, report, screen } = await status();
    expect(screen).toContain(
      `takeovers in the last 24 h: heal of ${endpointId} at ${new Date(now - 5 * HOUR).toISOString()}, heal of`,
    );
    expect(code).toBe(3);
    expect(holding(report)).toEqual(['second_writer']);
    const c = report.conditions.second_writer;
    expect(c.takeovers.map((t: { at: string }) => Date.parse(t.at))).toEqual([now - 5 * HOUR, now - 1 * HOUR]);
    expect(c.endpoints).toEqual([{ id: endpointId, status: 'enabled' }]);
    expect(screen).toContain(
      "who: a person changing the secret or endpoint in HeyGen's dashboard, or another stack at our URL (a copied stack, a second region behind one domain)",
    );
    expect(screen).toContain(
      `takeovers in the last 24 h: heal of ${endpointId} at ${new Date(now - 5 * HOUR).toISOString()}, heal of`,
    );
    expect(screen).not.toContain('ep_old');
    expect(screen).toContain(
      `then heygen-relay rotate --stack ${STACK}; healing resumes by itself 24 h after the last takeover (alarm HeyGenSecondWriter)`,
    );
  });

  it('status-backfill-gap: the periods and the entries not covered, and how to acknowledge them', async () => {
    const cp = await checkpoint([period('dedup_window', 24, 24), period('order', 2, 3, 30)]);
    const { code, report, screen } = await status();
    // Pasteable as printed: it names the stack.
    expect(screen).toContain(`then heygen-relay backfill --stack ${STACK} --acknowledge-gap (alarm HeyGenBackfillGap)`);
    // What HeyGen still lists of it, published again on purpose: --since reaches the period's start.
    const since = Number(/--since (\d+)h --allow-duplicates/.exec(screen)?.[1]);
    expect(Date.now() - since * HOUR).toBeLessThanOrEqual(FROM);
    expect(Date.now() - (since - 1) * HOUR).toBeGreaterThan(FROM);
    expect(code).toBe(3);
    expect(holding(report)).toEqual(['backfill_gap']);
    expect(report.conditions.backfill_gap).toEqual({
      what: expect.any(String),
      action: expect.any(String),
      alarm: 'HeyGenBackfillGap',
      periods: [
        { from: '2026-12-01T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z', entries: 24 },
        { from: '2026-12-02T06:00:00.000Z', until: '2026-12-02T08:00:00.000Z', entries: 3 },
      ],
      entries: 27,
    });
    expect(screen).toContain(
      "- backfill_gap: the backfill could not cover 2 period(s), 27 entries of ours: 2026-12-01T00:00:00.000Z .. 2026-12-02T00:00:00.000Z (24 entries, older than the dedup window); 2026-12-02T06:00:00.000Z .. 2026-12-02T08:00:00.000Z (3 entries, passed over when HeyGen's listing changed its order)\n",
    );
    expect(screen).toContain(`then heygen-relay backfill --stack ${STACK} --acknowledge-gap (alarm HeyGenBackfillGap)`);
    // Acknowledged: gone (and nothing else needed a person).
    const ack = io();
    expect(await main(['backfill', '--stack', STACK, '--acknowledge-gap'], ack.io)).toBe(0);
    expect((await cp.read()).uncovered).toEqual([]);
    const after = await status();
    expect(holding(after.report)).toEqual([]);
    expect(after.code).toBe(0);
  });

  it('status-history-short: the period HeyGen may have dropped, and how long HeyGen was seen keeping entries', async () => {
    await checkpoint([period('history', 40, null)], 30 * HOUR);
    const { code, report, screen } = await status();
    expect(screen).toMatch(/- history_short: .*HeyGen was seen keeping entries 30 h at most/);
    expect(code).toBe(3);
    expect(holding(report)).toEqual(['history_short']);
    expect(report.conditions.history_short).toMatchObject({
      alarm: 'HeyGenBackfillGap',
      historyKeptHours: 30,
      entries: null,
      periods: [{ from: '2026-12-01T00:00:00.000Z', until: '2026-12-02T16:00:00.000Z', entries: null }],
    });
    expect(screen).toMatch(
      /- history_short: HeyGen's history may not reach back far enough: 1 period\(s\) not proven covered, 2026-12-01T00:00:00\.000Z \.\. 2026-12-02T16:00:00\.000Z \(entries unknown\); HeyGen was seen keeping entries 30 h at most\n {4}to do: events of that period cannot be recovered from HeyGen's history/,
    );
  });

  it('status-subscription-unsure: entries not published because our subscription then is unsure, not "lost"', async () => {
    await checkpoint([period('subscription', 3, 2)]);
    const { code, report, screen } = await status();
    expect(screen).not.toMatch(/may be lost/);
    expect(code).toBe(3);
    expect(holding(report)).toEqual(['subscription_unsure']);
    expect(report.conditions.subscription_unsure).toMatchObject({ alarm: 'HeyGenBackfillGap', entries: 2 });
    expect(screen).toMatch(
      /- subscription_unsure: 2 entries not published: our endpoint may not have subscribed to their type when they were created/,
    );
    expect(screen).toContain(`2026-12-01T00:00:00.000Z .. 2026-12-01T03:00:00.000Z (2 entries)`);
    expect(screen).toContain("look that period up in HeyGen's event history");
    // The person who finds one addressed to us publishes it: the command reaches back to the period.
    expect(screen).toMatch(
      /publish those addressed to us by their event_id with heygen-relay backfill .* --since \d+h --publish-unsure <event_id>\.\.\., then heygen-relay backfill .* --acknowledge-gap/,
    );
    expect(screen).not.toMatch(/may be lost/);
  });

  it('status-stray-endpoint: a lost create that may have left an endpoint of ours elsewhere needs a person, and says what to do', async () => {
    await registrarRuns(['stray_endpoint']);
    const { code, screen } = await status([], false);
    expect(code).toBe(3);
    expect(screen).toMatch(/ended stray_endpoint: .*delete it if it is not/);
  });

  it('status-several-at-once: runs of one hour tie in their datapoint, and every condition that holds is shown', async () => {
    // Both in the same hour (one datapoint each); no API key, so only the registrar's runs say the endpoint is disabled.
    await registrarRuns(['second_writer', 'endpoint_disabled', 'in_sync']);
    await checkpoint(
      [period('dedup_window', 24, 24), period('history', 10, null, 30), period('subscription', 1, 1, 50)],
      8 * HOUR,
    );
    const { code, report, screen } = await status([], false);
    // The screen docs/operating.md shows ("When events stop flowing").
    mkdirSync(join(REPO, '.relay'), { recursive: true });
    writeFileSync(join(REPO, '.relay', 'status-conditions-screen.txt'), `${screen}\n(exit ${code})\n`);
    // Both outcomes of the hour are on the screen, whichever CloudWatch lists first.
    expect(screen).toMatch(/Last registrar +endpoint_disabled, second_writer, in_sync \(runs in the hour from /);
    expect(screen).toMatch(/- endpoint_disabled: /);
    expect(screen).toMatch(/- second_writer: /);
    expect(code).toBe(3);
    expect(holding(report)).toEqual(CONDITIONS);
    expect(report.runs.registrar.outcomes).toEqual(['endpoint_disabled', 'second_writer', 'in_sync']);
    expect(screen).toMatch(/Last registrar +endpoint_disabled, second_writer, in_sync \(runs in the hour from /);
    const lines = screen.split('\n').filter((l) => /^ {2}- [a-z_]+: /.test(l));
    expect(lines.map((l) => /^ {2}- ([a-z_]+):/.exec(l)?.[1]).filter((id) => CONDITIONS.includes(id as string))).toEqual(
      CONDITIONS,
    );
    // The same answer every time (no pick by the order CloudWatch lists the metrics in); the hour's start aside.
    const timeless = (c: unknown) => JSON.stringify(c).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'T');
    for (let i = 0; i < 2; i++) expect(timeless((await status([], false)).report.conditions)).toBe(timeless(report.conditions));
  });
});
