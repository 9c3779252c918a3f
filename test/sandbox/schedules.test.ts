/**
 * The sandbox's stand-ins for EventBridge schedules and Lambda's SQS event source mapping
 * (scripts/sandbox/schedules.ts, scripts/sandbox/event-sources.ts), without starting a sandbox:
 * timers on vi's fake clock; the queue poller against moto.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { pollQueue } from '../../scripts/sandbox/event-sources.js';
import { parseEvery, ratePeriodMs, type Schedule, Scheduler, scheduleRoute } from '../../scripts/sandbox/schedules.js';
import { awsClientConfig, MOTO_REGION } from '../support/moto.js';

const HOUR = 3_600_000;

function counting(name: string, expression: string, work?: () => Promise<unknown>) {
  const calls: number[] = [];
  const schedule: Schedule = {
    name,
    expression,
    target: `${name}Function`,
    run: async () => {
      calls.push(Date.now());
      return work ? work() : { outcome: 'done' };
    },
  };
  return { schedule, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sandbox schedules: the template rates, --every, runs on request', () => {
  it('reads rate() expressions; cron has no period', () => {
    expect(ratePeriodMs('rate(1 hour)')).toBe(HOUR);
    expect(ratePeriodMs('rate(15 minutes)')).toBe(15 * 60_000);
    expect(ratePeriodMs('rate(30 days)')).toBe(30 * 24 * HOUR);
    expect(ratePeriodMs('cron(0 12 * * ? *)')).toBeUndefined();
  });

  it('--every takes a duration with a unit and refuses a bare number or less than a second', () => {
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('2m')).toBe(120_000);
    expect(parseEvery(undefined)).toBeUndefined();
    expect(() => parseEvery('30')).toThrow(/needs a unit, like 30s/);
    expect(() => parseEvery('0s')).toThrow(RangeError);
    expect(() => parseEvery('soon')).toThrow(/--every must be a duration/);
  });

  it("runs each schedule at its template rate, the first run one period after start (EventBridge's rate())", async () => {
    vi.useFakeTimers();
    const sweeper = counting('temp-route-sweeper', 'rate(15 minutes)');
    const backfill = counting('backfill', 'rate(1 hour)');
    const manual = counting('manual', 'cron(0 12 * * ? *)');
    const scheduler = new Scheduler([sweeper.schedule, backfill.schedule, manual.schedule]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(14 * 60_000);
    expect(sweeper.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(46 * 60_000); // one hour in all
    expect(sweeper.calls).toHaveLength(4);
    expect(backfill.calls).toHaveLength(1);
    expect(manual.calls).toHaveLength(0);
    expect(scheduler.list().find((v) => v.name === 'backfill')?.lastRun).toMatchObject({ trigger: 'timer', ok: true });
    expect(scheduler.list().find((v) => v.name === 'manual')?.everyMs).toBeNull();
    scheduler.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(backfill.calls).toHaveLength(1);
  });

  it('--every runs every schedule at that period instead', async () => {
    vi.useFakeTimers();
    const registrar = counting('registrar', 'rate(1 hour)');
    const scheduler = new Scheduler([registrar.schedule], { everyMs: 30_000 });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(95_000);
    expect(registrar.calls).toHaveLength(3);
    scheduler.stop();
  });

  it("a 30-day rotation neither fires at once nor early (longer than a Node timer's 24.8 days)", async () => {
    vi.useFakeTimers();
    const rotation = counting('rotation', 'rate(30 days)');
    const scheduler = new Scheduler([rotation.schedule]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(29 * 24 * HOUR);
    expect(rotation.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 * 24 * HOUR + 1000);
    expect(rotation.calls).toHaveLength(1);
    scheduler.stop();
  });

  it('runs of one schedule never overlap; a failure is recorded, not thrown', async () => {
    let active = 0;
    let most = 0;
    const slow = counting('backfill', 'rate(1 hour)', async () => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      if (slow.calls.length === 2) throw new Error('HeyGen answered 500');
      return { outcome: 'done' };
    });
    const scheduler = new Scheduler([slow.schedule]);
    const [a, b, c] = await Promise.all([scheduler.run('backfill'), scheduler.run('backfill'), scheduler.run('backfill')]);
    expect(most).toBe(1);
    expect([a?.ok, b?.ok, c?.ok]).toEqual([true, false, true]);
    expect(b?.error).toBe('HeyGen answered 500');
    await expect(scheduler.run('nope')).rejects.toThrow(/no schedule nope: backfill/);
  });

  it('control routes: list, run one, run all, 404 naming the schedules', async () => {
    const a = counting('registrar', 'rate(1 hour)');
    const b = counting('backfill', 'rate(1 hour)');
    const scheduler = new Scheduler([a.schedule, b.schedule]);
    const list = await scheduleRoute(scheduler, 'GET', '/_sandbox/schedules');
    expect(((list as { body: unknown }).body as { schedules: { name: string }[] }).schedules.map((s) => s.name)).toEqual([
      'registrar',
      'backfill',
    ]);
    const one = await scheduleRoute(scheduler, 'POST', '/_sandbox/schedules/backfill/run');
    expect(one).toMatchObject({ status: 200, body: { runs: [{ name: 'backfill', ok: true, result: { outcome: 'done' } }] } });
    const all = await scheduleRoute(scheduler, 'POST', '/_sandbox/schedules/all/run');
    expect(((all as { body: unknown }).body as { runs: { name: string }[] }).runs.map((r) => r.name)).toEqual([
      'registrar',
      'backfill',
    ]);
    expect([a.calls.length, b.calls.length]).toEqual([1, 2]);
    expect(await scheduleRoute(scheduler, 'POST', '/_sandbox/schedules/rotate/run')).toEqual({
      status: 404,
      body: { error: 'no schedule rotate: registrar, backfill, all' },
    });
    expect(await scheduleRoute(scheduler, 'GET', '/_sandbox/other')).toBeUndefined();
  });
});

describe('sandbox event source: an SQS queue polled into a function, as Lambda does', () => {
  const sqs = new SQSClient(awsClientConfig(inject('motoEndpoint')));
  afterAll(() => sqs.destroy());

  it('deletes what the function handled, leaves its batch item failures and a failed invocation for later', async () => {
    const name = `sandbox-poller-${Date.now().toString(36)}`;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '1' } })))
      .QueueUrl as string;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes
      ?.QueueArn as string;
    for (const body of ['ok', 'retry', 'crash']) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const seen: Record<string, number> = {};
    const events: SQSEvent[] = [];
    const logs: string[] = [];
    const poller = pollQueue({
      sqs,
      queueUrl: url,
      queueArn: arn,
      region: MOTO_REGION,
      batchSize: 1,
      log: (l) => logs.push(l),
      invoke: async (event) => {
        events.push(event);
        const r = event.Records[0];
        const body = r?.body ?? '';
        seen[body] = (seen[body] ?? 0) + 1;
        if (body === 'crash' && seen[body] === 1) throw new Error('the function timed out');
        if (body === 'retry' && (seen[body] ?? 0) < 3) return { batchItemFailures: [{ itemIdentifier: r?.messageId ?? '' }] };
        return { batchItemFailures: [] };
      },
    });
    try {
      for (let i = 0; i < 100 && !((seen.retry ?? 0) >= 3 && (seen.crash ?? 0) >= 2); i++)
        await new Promise((r) => setTimeout(r, 200));
      // Handled messages are gone: a few more polls see nothing new.
      const before = { ...seen };
      await new Promise((r) => setTimeout(r, 2500));
      expect(seen).toEqual(before);
    } finally {
      await poller.stop();
    }
    expect(seen).toEqual({ ok: 1, retry: 3, crash: 2 });
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: arn, awsRegion: MOTO_REGION });
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(logs).toEqual([expect.stringMatching(/the function failed \(the function timed out\)/)]);
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(
      Number(left.Attributes?.ApproximateNumberOfMessages) + Number(left.Attributes?.ApproximateNumberOfMessagesNotVisible),
    ).toBe(0);
  }, 60_000);
});
