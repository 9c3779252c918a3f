/**
 * Issue 11, the backfill Lambda entry end to end: providers/heygen/runtime/entries/backfill.ts imported with the environment
 * of the template's backfill function (every reference resolved to the resources provisioned on moto
 * from the synthesized stack), real SDK v3 clients against moto (dedup and state tables, the bus and
 * its queues, the parked bucket, the API key secret), the fake HeyGen over HTTP serving its history.
 * Live deliveries go through the real ingress entry first; events HeyGen lists that never reached it
 * must land on the bus, and in the queue, exactly once, and a second run at the same time (the lease)
 * publishes nothing twice. An entry EventBridge can never take is parked in S3.
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoDedupIndex } from '../../functions/adapters/aws/dynamodb-dedup-index.js';
import { DynamoBackfillCheckpoint } from '../../functions/adapters/aws/dynamodb-evidence.js';
import type { BackfillSummary } from '../../providers/heygen/runtime/backfill.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';
import {
  drainQueue,
  type EmulatorStack,
  envelopes,
  lambdaContext,
  loadIngressEntry,
  provisionFromTemplate,
  synthesizeRelayTemplate,
} from '../support/emulator-stack.js';
import { functionUrlEvent } from '../support/heygen.js';
import { MOTO_REGION } from '../support/moto.js';

type Handler = (event: unknown, context: Context) => Promise<BackfillSummary | { outcome: string }>;

let stack: EmulatorStack;
let fake: FakeHeyGenApi;
let backfillEnv: Record<string, string>;

async function loadBackfillEntry(extra: Record<string, string> = {}): Promise<Handler> {
  delete process.env.ENDPOINT_URL;
  Object.assign(process.env, backfillEnv, {
    HEYGEN_API_URL: fake.url,
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ...extra,
  });
  vi.resetModules();
  return ((await import('../../providers/heygen/runtime/entries/backfill.js')) as { handler: Handler }).handler;
}

function context(): Context {
  return { ...lambdaContext(), functionName: 'RelayBackfill', getRemainingTimeInMillis: () => 280_000 };
}

/** `heygen-relay backfill` for `source` over the stack's tables and bus (dedup window 12 h, endpoint https://z/heygen), plus `extra`. */
async function backfillCli(source: string, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../bin/commands/program.js');
  const out: string[] = [];
  const err: string[] = [];
  const args = ['backfill', '--source', source, '--dedup-window', '12h', '--endpoint-url', 'https://z/heygen'];
  const tables = ['--dedup-table', stack.tableName, '--bus', backfillEnv.EVENT_BUS_NAME as string];
  const state = [
    '--state-table',
    backfillEnv.STATE_TABLE_NAME as string,
    '--signing-secret-id',
    backfillEnv.SIGNING_SECRET_ARN as string,
  ];
  const code = await main([...args, ...tables, ...state, ...extra], {
    env: { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: fake.url },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    dynamoDb: () => stack.clients.ddb,
    eventBridge: () => stack.clients.eb,
    secretsManager: () => stack.clients.sm,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * A fresh source whose endpoint at https://z/heygen (type A) was made `bornHours` ago, and whose
 * scheduled runs' log starts 10 h ago (a run without one, the configured types not listed): an entry
 * of A from before it may or may not have been addressed to us (unsure).
 */
async function unsureWorld(prefix: string, bornHours: number) {
  fake.reset();
  const A = 'avatar_video.success';
  const ep = fake.seedEndpoint('https://z/heygen', [A]);
  const now = Date.now();
  const hour = 3_600_000;
  ep.created_at = new Date(now - bornHours * hour).toISOString();
  const source = `${prefix}-${randomBytes(3).toString('hex')}`;
  const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, source);
  await checkpoint.write({
    ...(await checkpoint.read()),
    checkedThrough: now - hour,
    originMs: now - bornHours * hour,
    subscriptions: [{ fromMs: now - 10 * hour, seenMs: now - hour, events: [A] }],
  });
  return { A, ep, now, source, checkpoint };
}

/** The envelope ids on the relay's queues (drained). */
async function queuedIds(): Promise<string[]> {
  const ids: string[] = [];
  for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
    ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
  return ids;
}

beforeAll(async () => {
  fake = await FakeHeyGenApi.start();
  stack = await provisionFromTemplate(synthesizeRelayTemplate(), inject('motoEndpoint'));
  // ENDPOINT_URL is the Function URL (not provisioned on moto): each test names the endpoint URL it uses.
  backfillEnv = await stack.functionEnv((v) => v.LEASE_NAME?.startsWith('heygen-backfill:') === true, ['ENDPOINT_URL']);
  await stack.clients.sm.send(
    new PutSecretValueCommand({
      SecretId: backfillEnv.API_KEY_SECRET_ARN,
      SecretString: JSON.stringify({ apiKey: FAKE_API_KEY }),
    }),
  );
}, 120_000);

afterAll(async () => {
  await fake?.close();
  stack?.destroy();
});

describe('Backfill Lambda entry (providers/heygen/runtime/entries/backfill.ts) on moto with the fake HeyGen', () => {
  it("publishes what HeyGen's history lists and the ingress never received, once; a concurrent run is busy; unpublishable entries are parked", async () => {
    expect(backfillEnv).toMatchObject({
      DEDUP_TABLE_NAME: stack.tableName,
      EVENT_BUS_NAME: stack.busName,
      PARKED_BUCKET_NAME: stack.parkedBucket,
    });
    expect(backfillEnv.STATE_TABLE_NAME).toBeTruthy();
    const secret = `whsec_${randomBytes(24).toString('hex')}`;
    await stack.clients.sm.send(
      new PutSecretValueCommand({
        SecretId: stack.signingSecretArn,
        SecretString: JSON.stringify({ secret, endpointId: 'ep_1', url: 'https://x/heygen' }),
      }),
    );
    const ep = fake.seedEndpoint('https://x/heygen');
    const at = Date.now() - 30 * 60_000; // settled: older than the 10 min HeyGen's first retries take
    // Our endpoint existed before these entries (made an hour before them, before this test's stack
    // was born): a first run judges from the older of the two (nothing earlier was addressed to us).
    ep.created_at = new Date(at - 3_600_000).toISOString();
    const ingress = await loadIngressEntry(stack);
    const delivered = [];
    for (let k = 0; k < 5; k++) {
      const e = { event_type: 'avatar_video.success', event_data: { video_id: `live${k}`, url: `https://v/${k}` } };
      fake.emit(ep.endpoint_id, e, at + k);
      const res = await ingress(functionUrlEvent(JSON.stringify(e), { secret }), lambdaContext());
      expect(res.statusCode).toBe(200);
      delivered.push(e);
    }
    const lost = [];
    for (let k = 0; k < 4; k++) {
      const e = { event_type: 'avatar_video.fail', event_data: { video_id: `lost${k}`, error: 'render' } };
      fake.emit(ep.endpoint_id, e, at + 100 + k);
      lost.push(e);
    }
    const tooBig = { event_type: 'avatar_video.success', event_data: { video_id: 'big', caption: 'x'.repeat(300_000) } };
    fake.emit(ep.endpoint_id, tooBig, at + 200);

    // Two runs at once: one holds the lease and sweeps (its first run), the other is busy.
    // ENDPOINT_URL: our endpoint's creation is the first run's origin (it is older than the stack here).
    const handler = await loadBackfillEntry({ ENDPOINT_URL: 'https://x/heygen' });
    const [a, b] = await Promise.all([handler({}, context()), handler({}, context())]);
    delete process.env.ENDPOINT_URL;
    expect([a.outcome, b.outcome].sort()).toEqual(['busy', 'done']);
    const ran = (a.outcome === 'done' ? a : b) as BackfillSummary;
    expect(ran).toMatchObject({ backfilled: 4, alreadyPublished: 5, parked: 1, unpublishable: 1, lookedUp: 5 });
    expect(fake.violations).toEqual([]);

    // A later run (new execution environment): its checkpoint says everything up to then was looked at.
    const again = (await (await loadBackfillEntry())({}, context())) as BackfillSummary;
    expect(again.outcome).toBe('done');
    expect(again.backfilled).toBe(0);

    // On the bus exactly once each, live and backfilled alike: the default queue takes every event.
    const perQueue = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      perQueue.push(
        envelopes(await drainQueue(stack.clients.sqs, q.url))
          .map((m) => m.id)
          .sort(),
      );
    perQueue.sort((x, y) => y.length - x.length);
    const key = (e: object) => heygenEventKey(JSON.stringify(e));
    expect(perQueue[0]).toEqual([...delivered, ...lost].map(key).sort());
    for (const q of perQueue) expect(new Set(q).size).toBe(q.length);

    // The entry EventBridge can never take is parked with its reason, its body as HeyGen listed it.
    const listed = await stack.clients.s3.send(
      new ListObjectsV2Command({ Bucket: stack.parkedBucket, Prefix: 'parked/heygen/' }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toEqual([
      `parked/heygen/evt-${heygenEventKey(JSON.stringify(tooBig)).slice(11)}.json`,
    ]);
    const obj = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.parkedBucket, Key: listed.Contents?.[0]?.Key }));
    const record = JSON.parse(await (obj.Body as { transformToString(): Promise<string> }).transformToString());
    expect(record).toMatchObject({ reason: 'too_large', provider: 'heygen', keyLabel: 'history' });
    expect(JSON.parse(Buffer.from(record.body, 'base64').toString('utf8'))).toEqual(tooBig);
  }, 120_000);

  it('the routine daily sweep of the Lambda backfills an isolated event no trouble pointed at (checkpoint in the state table)', async () => {
    const ep = fake.seedEndpoint('https://y/heygen');
    const now = Date.now();
    // The last sweep completed 24 h ago, checked through 2 h ago; no trouble recorded since.
    const { DynamoBackfillCheckpoint } = await import('../../functions/adapters/aws/dynamodb-evidence.js');
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, 'heygen');
    const before = await checkpoint.read();
    await checkpoint.write({ ...before, checkedThrough: now - 2 * 3_600_000, lastSweepAt: now - 24 * 3_600_000, cursor: null });
    const lonely = { event_type: 'avatar_video.success', event_data: { video_id: 'lonely', url: 'https://v/lonely' } };
    fake.emit(ep.endpoint_id, lonely, now - 3_600_000);
    const run = (await (await loadBackfillEntry())({}, context())) as BackfillSummary;
    expect(run).toMatchObject({ outcome: 'done', backfilled: 1, sampled: false });
    expect(run.missing.map((m) => m.id)).toEqual([heygenEventKey(JSON.stringify(lonely))]);
    const after = await checkpoint.read();
    expect(after.lastSweepAt).toBeGreaterThanOrEqual(now);
    expect(after.checkedThrough).toBeGreaterThan(now - 11 * 60_000);
    // The sweep starts the history watch (history-proof.ts), kept in the state table as JSON.
    expect(after.watch).toEqual({ lastAt: expect.any(Number), maxGapMs: 0, oldestAfterMs: null });
    expect(after.watch?.lastAt).toBeGreaterThanOrEqual(now);
    const ids = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
    expect(ids.filter((id) => id === heygenEventKey(JSON.stringify(lonely)))).toHaveLength(1);
  }, 60_000);

  it("the Lambda takes our endpoint's subscription from HeyGen (ENDPOINT_URL): a neighbour's entries never reach the bus; an unfinished claim a dead run left is published again with the same id, counted uncertain", async () => {
    fake.reset(); // the history is account-wide: only this test's entries
    const ours = fake.seedEndpoint('https://w/heygen', ['avatar_video.fail']);
    const neighbour = fake.seedEndpoint('https://other-app.example.com/w', ['avatar_video.success']);
    const now = Date.now();
    ours.created_at = new Date(now - 5 * 3_600_000).toISOString(); // registered before its entries
    const lost = { event_type: 'avatar_video.fail', event_data: { video_id: 'w-lost', error: 'render' } };
    const half = { event_type: 'avatar_video.fail', event_data: { video_id: 'w-half', error: 'render' } };
    const theirs = { event_type: 'avatar_video.success', event_data: { video_id: 'w-neighbour', url: 'https://v/n' } };
    fake.emit(ours.endpoint_id, lost, now - 3_600_000);
    fake.emit(ours.endpoint_id, half, now - 3_600_000);
    fake.emit(neighbour.endpoint_id, theirs, now - 3_600_000);
    // A backfill run claimed `half`, called PutEvents and died before recording it (lock long passed).
    await stack.clients.ddb.send(
      new PutItemCommand({
        TableName: stack.tableName,
        Item: {
          pk: { S: heygenEventKey(JSON.stringify(half)) },
          status: { S: 'IN_PROGRESS' },
          owner: { S: 'backfill-dead' },
          lockUntil: { N: String(now - 50 * 60_000) },
          expiresAt: { N: String(Math.floor(now / 1000) + 48 * 3600) },
        },
      }),
    );
    const { DynamoBackfillCheckpoint } = await import('../../functions/adapters/aws/dynamodb-evidence.js');
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, 'heygen');
    await checkpoint.write({
      ...(await checkpoint.read()),
      checkedThrough: now - 2 * 3_600_000,
      lastSweepAt: now - 24 * 3_600_000,
      cursor: null,
      subscriptions: [], // no log yet (an upgrade): HeyGen lists the configured types, so it starts at the window's far end
    });
    const handler = await loadBackfillEntry({ ENDPOINT_URL: 'https://w/heygen', EVENTS: '["avatar_video.fail"]' });
    const run = (await handler({}, context())) as BackfillSummary;
    delete process.env.ENDPOINT_URL;
    delete process.env.EVENTS;
    expect((await checkpoint.read()).subscriptions).toEqual([
      // The live endpoint's `created_at` dates the span: a later one at our URL is a replacement.
      { fromMs: expect.any(Number), seenMs: expect.any(Number), events: ['avatar_video.fail'], createdAtMs: expect.any(Number) },
    ]);
    expect(run).toMatchObject({ outcome: 'done', backfilled: 2, uncertain: 1 });
    expect(run.foreign).toBeGreaterThanOrEqual(1);
    expect(run.missing.map((m) => m.id).sort()).toEqual([lost, half].map((e) => heygenEventKey(JSON.stringify(e))).sort());
    const ids = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
    expect(ids).not.toContain(heygenEventKey(JSON.stringify(theirs)));
    expect(ids.filter((id) => id === heygenEventKey(JSON.stringify(half)))).toHaveLength(1);
  }, 60_000);

  it('backfill-list-failed-holds: a run that cannot list HeyGen endpoints fails and judges nothing (checkpoint unchanged); the next run, which lists ours, publishes the entry it missed', async () => {
    fake.reset();
    const ours = fake.seedEndpoint('https://v/heygen', ['avatar_video.fail']);
    const now = Date.now();
    ours.created_at = new Date(now - 5 * 3_600_000).toISOString();
    const missed = { event_type: 'avatar_video.fail', event_data: { video_id: 'v-held', error: 'render' } };
    fake.emit(ours.endpoint_id, missed, now - 3_600_000);
    const { DynamoBackfillCheckpoint } = await import('../../functions/adapters/aws/dynamodb-evidence.js');
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, 'heygen');
    await checkpoint.write({
      ...(await checkpoint.read()),
      checkedThrough: now - 2 * 3_600_000,
      lastSweepAt: now - 24 * 3_600_000,
      cursor: null,
      subscriptions: [{ fromMs: now - 4 * 3_600_000, seenMs: now - 2 * 3_600_000, events: ['avatar_video.fail'] }],
    });
    const before = await checkpoint.read();
    const env = { ENDPOINT_URL: 'https://v/heygen', EVENTS: '["avatar_video.fail"]' };
    // HeyGen answers 500 to every endpoint list (the client's retries included) for this run.
    fake.inject({ method: 'GET', path: /\/v3\/webhooks\/endpoints$/, status: 500, times: 20 });
    await expect((await loadBackfillEntry(env))({}, context())).rejects.toThrow();
    expect(await checkpoint.read()).toEqual(before);
    fake.reset();
    const again = fake.seedEndpoint('https://v/heygen', ['avatar_video.fail']);
    again.created_at = ours.created_at;
    fake.emit(again.endpoint_id, missed, now - 3_600_000);
    const run = (await (await loadBackfillEntry(env))({}, context())) as BackfillSummary;
    delete process.env.ENDPOINT_URL;
    delete process.env.EVENTS;
    // Before: the failed list fell back to the configured types with no sighting and the run went on.
    expect(run).toMatchObject({ outcome: 'done', backfilled: 1 });
    const ids = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
    expect(ids.filter((id) => id === heygenEventKey(JSON.stringify(missed)))).toHaveLength(1);
  }, 60_000);

  it('a period the backfill could not cover keeps BackfillGap at 1 (the HeyGenBackfillGap alarm) in every run until acknowledged, with the service dimension the alarm reads', async () => {
    fake.reset();
    fake.seedEndpoint('https://g/heygen');
    const { DynamoBackfillCheckpoint } = await import('../../functions/adapters/aws/dynamodb-evidence.js');
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, 'heygen');
    const now = Date.now();
    const period = { reason: 'dedup_window' as const, fromMs: now - 80 * 3_600_000, untilMs: now - 56 * 3_600_000, entries: 24 };
    await checkpoint.write({
      ...(await checkpoint.read()),
      checkedThrough: now - 2 * 3_600_000,
      lastSweepAt: now - 3_600_000,
      cursor: null,
      uncovered: [period],
    });
    const emitted: Record<string, unknown>[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) for (const line of text.trim().split('\n')) emitted.push(JSON.parse(line));
      else write(chunk);
      return true;
    }) as typeof process.stdout.write);
    try {
      const handler = await loadBackfillEntry({ POWERTOOLS_METRICS_DISABLED: 'false' });
      expect(((await handler({}, context())) as BackfillSummary).outcome).toBe('done');
    } finally {
      spy.mockRestore();
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    }
    const gap = emitted.find((m) => 'BackfillGap' in m);
    expect(gap).toMatchObject({ BackfillGap: 1, service: 'heygen-relay-backfill' });
    expect(emitted.find((m) => 'UncoveredEntries' in m)).toMatchObject({ UncoveredEntries: 24 });
    expect((await checkpoint.read()).uncovered).toEqual([period]); // a good run does not clear it
  }, 60_000);

  it("CLI backfill with the stack's 12 h dedup window: events 13 h and 40 h old (records expired) are not published again by default, a neighbour's never; --allow-duplicates publishes ours, counted as possible second copies", async () => {
    fake.reset(); // the history is account-wide: only this test's entries
    const ep = fake.seedEndpoint('https://z/heygen', ['avatar_video.success']);
    const neighbour = fake.seedEndpoint('https://other-app.example.com/hooks', ['video_translate.success']);
    const now = Date.now();
    ep.created_at = new Date(now - 72 * 3_600_000).toISOString(); // our endpoint, older than the events below
    const windowMs = 12 * 3_600_000;
    // Delivered live 13 h and 40 h ago and published then; their dedup records (12 h) have expired since.
    const old = [13, 40].map((h) => {
      const e = { event_type: 'avatar_video.success', event_data: { video_id: `cli-old-${h}`, url: `https://v/${h}` } };
      fake.emit(ep.endpoint_id, e, now - h * 3_600_000);
      return e;
    });
    for (const e of old)
      await stack.clients.ddb.send(
        new PutItemCommand({
          TableName: stack.tableName,
          Item: {
            pk: { S: heygenEventKey(JSON.stringify(e)) },
            status: { S: 'COMPLETED' },
            owner: { S: 'live' },
            expiresAt: { N: String(Math.floor((now - 60_000) / 1000)) },
          },
        }),
      );
    const lost = { event_type: 'avatar_video.success', event_data: { video_id: 'cli-lost', url: 'https://v/lost' } };
    fake.emit(ep.endpoint_id, lost, now - 3_600_000);
    const theirs = { event_type: 'video_translate.success', event_data: { video_translate_id: 'cli-neighbour' } };
    fake.emit(neighbour.endpoint_id, theirs, now - 2 * 3_600_000);
    // The scheduled runs' subscription log (earlier tests, another fake HeyGen world) would judge the
    // entries (cli-subscription-log): this test starts without one.
    const scheduled = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, 'heygen');
    // Nor the origin an earlier test's first run fixed (its endpoint younger than these events).
    await scheduled.write({ ...(await scheduled.read()), subscriptions: [], originMs: null });
    const { backfillCommand } = await import('../../bin/commands/backfill-run.js');
    const { HeyGenWebhookClient } = await import('../../providers/heygen/runtime/api/client.js');
    const { ourEndpoint } = await import('../../providers/heygen/runtime/backfill.js');
    const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const endpoint = await ourEndpoint(client, 'https://z/heygen', null);
    const common = {
      dryRun: false,
      client,
      windowMs,
      endpoint,
      dedupTable: stack.tableName,
      eventBus: backfillEnv.EVENT_BUS_NAME as string,
      stateTable: backfillEnv.STATE_TABLE_NAME as string,
      signingSecretId: 'cli-test',
      dynamoDb: () => stack.clients.ddb,
      eventBridge: () => stack.clients.eb,
    };
    await expect(backfillCommand({ ...common, since: '72h' })).rejects.toThrow(/reaches past the relay's dedup window \(12h\)/);
    const run = await backfillCommand({ ...common, since: undefined });
    expect(run.sinceMs).toBeGreaterThanOrEqual(now - windowMs);
    expect(run.missing.map((m) => m.id)).toEqual([heygenEventKey(JSON.stringify(lost))]);
    expect(run.foreign).toBeGreaterThanOrEqual(1);
    const again = await backfillCommand({ ...common, since: '72h', allowDuplicates: true });
    expect(again.missing.map((m) => m.id).sort()).toEqual(old.map((e) => heygenEventKey(JSON.stringify(e))).sort());
    expect(again.beyondWindow).toBe(2);
    const ids = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
    expect(ids).not.toContain(heygenEventKey(JSON.stringify(theirs)));
  }, 60_000);

  it("cli-subscription-log: the CLI backfill judges entries by the scheduled runs' subscription log: a type added to our endpoint an hour ago does not make a neighbour's older entry of it ours", async () => {
    fake.reset();
    const A = 'avatar_video.success';
    const B = 'avatar_video.fail';
    const ep = fake.seedEndpoint('https://z/heygen', [A, B]); // B added an hour ago
    const neighbour = fake.seedEndpoint('https://other-app.example.com/hooks', [B]);
    const now = Date.now();
    ep.created_at = new Date(now - 10 * 3_600_000).toISOString(); // as old as the log's first sighting
    const source = `heygen-sublog-${randomBytes(3).toString('hex')}`;
    const checkpoint = new DynamoBackfillCheckpoint(stack.clients.ddb, backfillEnv.STATE_TABLE_NAME as string, source);
    await checkpoint.write({
      ...(await checkpoint.read()),
      checkedThrough: now - 3_600_000,
      subscriptions: [{ fromMs: now - 10 * 3_600_000, seenMs: now - 3_600_000, events: [A] }],
    });
    fake.emit(neighbour.endpoint_id, { event_type: B, event_data: { video_id: 'sublog-theirs' } }, now - 5 * 3_600_000);
    fake.emit(
      ep.endpoint_id,
      { event_type: A, event_data: { video_id: 'sublog-ours', url: 'https://v/o' } },
      now - 2 * 3_600_000,
    );
    const { backfillCommand } = await import('../../bin/commands/backfill-run.js');
    const { HeyGenWebhookClient } = await import('../../providers/heygen/runtime/api/client.js');
    const { ourEndpoint } = await import('../../providers/heygen/runtime/backfill.js');
    const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const run = await backfillCommand({
      dryRun: true,
      client,
      windowMs: 12 * 3_600_000,
      endpoint: await ourEndpoint(client, 'https://z/heygen', null),
      dedupTable: stack.tableName,
      eventBus: backfillEnv.EVENT_BUS_NAME as string,
      stateTable: backfillEnv.STATE_TABLE_NAME as string,
      signingSecretId: 'cli-sublog',
      source,
      since: undefined,
      dynamoDb: () => stack.clients.ddb,
      eventBridge: () => stack.clients.eb,
    });
    expect(run.missing.map((m) => m.type)).toEqual([A]); // before: [A, B], the neighbour's B entry published
    expect(run.foreign).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("cli-since-before-origin: `backfill --since 72h --allow-duplicates` on a stack born 30 h ago starts at the stack's origin: a neighbour's entry of our type from before it is not published, ours after it are, and the output names the origin", async () => {
    fake.reset();
    const now = Date.now();
    const born = now - 30 * 3_600_000;
    const source = `heygen-origin-${randomBytes(3).toString('hex')}`;
    const ep = fake.seedEndpoint('https://z/heygen', ['avatar_video.success']);
    ep.created_at = new Date(born + 60_000).toISOString(); // the registrar's, a minute after the secret
    const neighbour = fake.seedEndpoint('https://other-app.example.com/hooks', ['avatar_video.success']);
    const theirs = { event_type: 'avatar_video.success', event_data: { video_id: 'origin-theirs', url: 'https://v/t' } };
    fake.emit(neighbour.endpoint_id, theirs, now - 40 * 3_600_000); // our type, 10 h before the stack existed
    const ours = { event_type: 'avatar_video.success', event_data: { video_id: 'origin-ours', url: 'https://v/o' } };
    fake.emit(ep.endpoint_id, ours, now - 20 * 3_600_000); // after the birth, older than the 12 h window
    const { backfillCommand, describeBackfill } = await import('../../bin/commands/backfill-run.js');
    const { HeyGenWebhookClient } = await import('../../providers/heygen/runtime/api/client.js');
    const { ourEndpoint, originFloor } = await import('../../providers/heygen/runtime/backfill.js');
    const client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url });
    const run = await backfillCommand({
      since: '72h',
      allowDuplicates: true,
      dryRun: false,
      client,
      windowMs: 12 * 3_600_000,
      endpoint: await ourEndpoint(client, 'https://z/heygen', null),
      dedupTable: stack.tableName,
      eventBus: backfillEnv.EVENT_BUS_NAME as string,
      stateTable: backfillEnv.STATE_TABLE_NAME as string,
      signingSecretId: 'cli-origin',
      source, // no scheduled run yet: no checkpoint
      bornAtMs: born,
      dynamoDb: () => stack.clients.ddb,
      eventBridge: () => stack.clients.eb,
    });
    const key = (e: object) => heygenEventKey(JSON.stringify(e)).replace(/^heygen:/, `${source}:`); // this source's ids
    expect(run.missing.map((m) => m.id)).toEqual([key(ours)]); // before: theirs too
    expect(run.sinceMs).toBe(originFloor(born));
    expect(describeBackfill(run).join('\n')).toContain(`started at the stack's origin (${new Date(born).toISOString()}`);
    const ids = [];
    for (const q of Object.values(stack.queues).filter((x) => x.attributes.RedrivePolicy))
      ids.push(...envelopes(await drainQueue(stack.clients.sqs, q.url)).map((m) => m.id));
    expect(ids).toContain(key(ours));
    expect(ids).not.toContain(key(theirs));
  }, 60_000);

  it('cli-unsure-reported: entries the subscription log judges unsure are recorded by `heygen-relay backfill` in the checkpoint as a subscription period (alarm BackfillGap, as a scheduled run records them), counted once over two runs, and the command exits 3 with a summary line', async () => {
    const { A, ep, now, source, checkpoint } = await unsureWorld('heygen-unsure', 20);
    const unsure = { event_type: A, event_data: { video_id: 'unsure-1', url: 'https://v/u' } };
    fake.emit(ep.endpoint_id, unsure, now - 11 * 3_600_000);
    const cli = () => backfillCli(source);
    const first = await cli();
    expect(first.err).toBe('');
    expect(first.out).toMatch(/^backfilled: 0;/m);
    expect(first.out).toMatch(/^not covered \(our endpoint's subscription changed.*1 entry of ours$/m);
    expect(first.out).toMatch(/^1 entry not covered .*recorded 1 in the backfill's checkpoint: alarm BackfillGap/m);
    expect(first.code).toBe(3); // before: 0, and nothing recorded
    const { uncoveredTotals } = await import('../../providers/heygen/runtime/backfill-plan.js');
    expect(uncoveredTotals(await checkpoint.read())).toMatchObject({ periods: 1, entries: 1 });
    const second = await cli();
    expect(second.out).toMatch(/already recorded in the backfill's checkpoint by an earlier run/);
    expect(second.code).toBe(3);
    expect(uncoveredTotals(await checkpoint.read())).toMatchObject({ periods: 1, entries: 1 });
  }, 60_000);

  it('cli-publish-unsure: `heygen-relay backfill --publish-unsure <event_id>` publishes the unsure entry a person found ours, with the envelope id a live delivery has, and nothing else; named again (or unknown) it exits 1 saying so', async () => {
    const { A, ep, now, source } = await unsureWorld('heygen-decided', 40);
    const body = (video: string) => ({ event_type: A, event_data: { video_id: video, url: `https://v/${video}` } });
    const decided = fake.emit(ep.endpoint_id, body('decided'), now - 11 * 3_600_000); // the person found it ours
    fake.emit(ep.endpoint_id, body('undecided'), now - 11 * 3_600_000); // left unsure
    const old = fake.emit(ep.endpoint_id, body('old'), now - 30 * 3_600_000).event_id; // unsure, past the 12 h window
    fake.emit(ep.endpoint_id, body('missed'), now - 2 * 3_600_000); // ours, never published: for a plain run
    await queuedIds(); // a clean queue
    const key = (e: object) => heygenEventKey(JSON.stringify(e)).replace(/^heygen:/, `${source}:`); // as the ingress keys a delivery

    const both = await backfillCli(source, ['--publish-unsure', decided.event_id, '--acknowledge-gap']);
    expect(both.code).toBe(64);
    expect(both.err).toMatch(/publish first, then acknowledge/);

    const run = await backfillCli(source, ['--publish-unsure', decided.event_id]);
    expect(run.err).toBe('');
    expect(run.out).toMatch(/^backfilled: 1;/m);
    expect(run.out).toContain(`${decided.event_id} -> ${key(body('decided'))}`);
    expect(run.code).toBe(0); // before: 64, an unknown option
    expect(await queuedIds()).toEqual([key(body('decided'))]); // not `undecided`, not `missed`

    // Past the window: the person accepts a second copy of the named entry alone (no --allow-duplicates).
    const late = await backfillCli(source, ['--since', '31h', '--publish-unsure', old, decided.event_id, 'whe_nosuch']);
    expect(late.out).toContain(`${old} -> ${key(body('old'))}`);
    expect(late.out).toMatch(/older than the dedup window \(may be second copies, same envelope id\): 1/);
    expect(late.out).toContain(`not published: ${decided.event_id}: this run published no entry with that event_id`);
    expect(late.out).toContain('not published: whe_nosuch:');
    expect(late.code).toBe(1);
    expect(await queuedIds()).toEqual([key(body('old'))]);

    const plain = await backfillCli(source, ['--since', '31h']); // without the option, still refused past the window
    expect(plain.code).toBe(64);
    expect(plain.err).toMatch(/--allow-duplicates/);
  }, 60_000);

  it("a first run's origin on moto: the backfill's SIGNING_SECRET_ARN has a CreatedDate (DescribeSecret), and the checkpoint's keyMissingAt moves forward only, outside the lease, and survives a run's write", async () => {
    const born = await stack.clients.sm.send(new DescribeSecretCommand({ SecretId: backfillEnv.SIGNING_SECRET_ARN }));
    expect(born.CreatedDate).toBeInstanceOf(Date);
    const checkpoint = new DynamoBackfillCheckpoint(
      stack.clients.ddb,
      backfillEnv.STATE_TABLE_NAME as string,
      `origin-${randomBytes(4).toString('hex')}`,
    );
    await checkpoint.noteKeyMissing(2_000);
    await checkpoint.noteKeyMissing(1_000); // an older run's mark, late: ignored
    expect((await checkpoint.read()).keyMissingAt).toBe(2_000);
    await checkpoint.write({ ...(await checkpoint.read()), checkedThrough: 5_000 });
    expect(await checkpoint.read()).toMatchObject({ keyMissingAt: 2_000, checkedThrough: 5_000 });
  });

  it('DynamoDedupIndex on moto: BatchGetItem (100 keys a call, never a Scan) lists published, unexpired keys, and unfinished claims whose lock passed', async () => {
    const nowMs = Date.now();
    const nowS = Math.floor(nowMs / 1000);
    const put = (pk: string, status: string, expiresAt: number, lockUntil?: number) =>
      stack.clients.ddb.send(
        new PutItemCommand({
          TableName: stack.tableName,
          Item: {
            pk: { S: pk },
            status: { S: status },
            owner: { S: 'o' },
            expiresAt: { N: String(expiresAt) },
            ...(lockUntil !== undefined ? { lockUntil: { N: String(lockUntil) } } : {}),
          },
        }),
      );
    await put('idx:done', 'COMPLETED', nowS + 3600);
    await put('idx:flight', 'IN_PROGRESS', nowS + 3600, nowMs + 300_000);
    await put('idx:abandoned', 'IN_PROGRESS', nowS + 3600, nowMs - 60_000);
    await put('idx:old', 'COMPLETED', nowS - 10);
    const many = Array.from({ length: 130 }, (_, i) => `idx:many${i}`);
    for (const k of many) await put(k, 'COMPLETED', nowS + 3600);
    const index = new DynamoDedupIndex(stack.clients.ddb, stack.tableName);
    const got = await index.lookup(['idx:done', 'idx:flight', 'idx:abandoned', 'idx:old', 'idx:absent', ...many]);
    expect([...got.published].sort()).toEqual(['idx:done', ...many].sort());
    expect([...got.unfinished]).toEqual(['idx:abandoned']);
    expect(index.stats).toEqual({ calls: 2, keys: 135 }); // 135 keys: two calls of at most 100
    expect([...(await index.published(['idx:done', 'idx:flight']))]).toEqual(['idx:done']);
  });
});
