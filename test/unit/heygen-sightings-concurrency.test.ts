/**
 * Issue 19, "nothing on the bus that HeyGen did not address to our endpoint": the registrar tells the
 * backfill's subscription log what it saw of our endpoint (providers/heygen/runtime/sightings.ts).
 * Two writers with leases of their own: the registrar ADDs sightings to an inbox, a backfill run reads
 * it after listing our endpoint, merges, writes its checkpoint and drops what it merged. Here:
 * - a sighting merged late (after later ones) is never bolder than in time order (fast-check);
 * - the real registrar and the real scheduled backfill interleaved by fast-check's scheduler, every
 *   call to HeyGen, the inbox and the checkpoint a step of its own, with the registrar's record answer
 *   lost (the write done, the answer not: the run fails and the next one records again) and the
 *   backfill's drop failing before or after its write: a neighbour's entry made while our URL pointed
 *   elsewhere never reaches our bus, and no sighting is lost (each is in the inbox or in the log).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import type { HeyGenWebhookApi } from '../../providers/heygen/runtime/api/client.js';
import { ourEndpoint } from '../../providers/heygen/runtime/backfill.js';
import { MemoryBackfillCheckpoint, scheduledBackfill } from '../../providers/heygen/runtime/backfill-plan.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { reconcile } from '../../providers/heygen/runtime/registrar.js';
import { type DatedSighting, MemorySightingInbox } from '../../providers/heygen/runtime/sightings.js';
import { addressedAt, mergeSighting, type SubscriptionLog } from '../../providers/heygen/runtime/subscription-log.js';
import { sharedMemoryDedup } from '../support/backfill-dedup.js';
import { FAKE_HEYGEN_START, useFakeHeyGen } from '../support/fake-heygen.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const WINDOW = 48 * HOUR;
const OUR_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const A = 'avatar_video.success';
const B = 'avatar_video.fail';

const GRID = Array.from({ length: 23 * 9 }, (_, k) => -HOUR + k * 7 * MIN);

/**
 * Where the log judges more boldly than it would with `x` merged into it (`x`'s news lost): an entry
 * time and type whose verdict is not `unsure` and changes when `x` is merged again. [] when none.
 */
function forgets(log: SubscriptionLog | undefined, x: DatedSighting): string[] {
  const withX = mergeSighting(log, x, Number.NEGATIVE_INFINITY) ?? [];
  const by = { configured: [A] };
  return GRID.flatMap((t) =>
    [A, B].flatMap((type) => {
      const v = addressedAt(type, t, log ?? [], by);
      return v !== 'unsure' && v !== addressedAt(type, t, withX, by) ? [`${type}@${t}: ${v}`] : [];
    }),
  );
}

describe('mergeSighting: sightings arriving in any order', () => {
  const sets: (readonly string[] | null)[] = [[A], [A, B], [B], null];
  const sighting = fc.record({
    atMs: fc.integer({ min: 0, max: 40 }).map((n) => n * 30 * MIN),
    found: fc.boolean(),
    events: fc.constantFrom(...sets),
    // Our endpoint made long before. Not a replacement (an endpoint made just before the sighting): its
    // rule (`between`) judges by HeyGen's `created_at`, which the span edges do not read, so a log that
    // lost a sighting to a split can judge by it more boldly, and rightly (tests span-edge-unsure, first-log-*).
    madeBefore: fc.constant(null),
  });
  const asSighting = (s: { atMs: number; found: boolean; events: readonly string[] | null; madeBefore: number | null }) =>
    ({
      atMs: s.atMs,
      found: s.found,
      events: s.found ? s.events : null,
      createdAtMs: s.found ? (s.madeBefore === null ? -10 * HOUR : s.atMs - s.madeBefore) : null,
    }) as DatedSighting;
  const mergeAll = (list: readonly DatedSighting[], log?: SubscriptionLog) =>
    list.reduce<SubscriptionLog | undefined>((l, s) => mergeSighting(l, s, Number.NEGATIVE_INFINITY), log);

  it('merge-late-never-bolder: a sighting merged after later ones (a registrar record that arrives after a backfill run), merged once or twice, leaves every verdict the time-ordered one or unsure', () => {
    fc.assert(
      fc.property(
        // Distinct instants (ties: `tiedAt`, and the test below); one of them arrives late.
        fc.uniqueArray(sighting, { minLength: 2, maxLength: 8, selector: (x) => x.atMs }),
        fc.nat(),
        fc.boolean(),
        (raw, pick, twice) => {
          const list = raw.map(asSighting).sort((a, b) => a.atMs - b.atMs);
          const late = list[pick % list.length] as DatedSighting;
          const inOrder = mergeAll(list);
          const merged = mergeAll([...list.filter((x) => x !== late), late, ...(twice ? [late] : [])]);
          for (const t of GRID)
            for (const type of [A, B]) {
              const by = { configured: [A] };
              const mine = addressedAt(type, t, merged ?? [], by);
              if (mine !== 'unsure') expect(mine).toBe(addressedAt(type, t, inOrder ?? [], by));
            }
        },
      ),
      { numRuns: 400, seed: 19 },
    );
  });

  it("a sighting inside a span of another set splits it at the span's own sightings: the time between is unsure, never judged by one set", () => {
    let log = mergeSighting(undefined, { atMs: 0, found: true, events: [A] }, 0);
    log = mergeSighting(log, { atMs: 4 * HOUR, found: true, events: [A] }, 0); // one span [A] 0..4 h
    log = mergeSighting(log, { atMs: 2 * HOUR, found: false, events: null }, 0); // the registrar, late: none at our URL at 2 h
    expect(log).toEqual([
      { fromMs: 0, seenMs: 0, events: [A] },
      { fromMs: 2 * HOUR, seenMs: 2 * HOUR, events: [] },
      { fromMs: 4 * HOUR, seenMs: 4 * HOUR, events: [A] },
    ]);
    expect(addressedAt(A, 1 * HOUR, log ?? [])).toBe('unsure');
    expect(addressedAt(A, 3 * HOUR, log ?? [])).toBe('unsure');
    expect(addressedAt(B, 3 * HOUR, log ?? [])).toBe('foreign');
    expect(mergeSighting(log, { atMs: 2 * HOUR, found: false, events: null }, 0)).toBe(log); // again: nothing
  });
});

describe('tiedAt: sightings at one instant', () => {
  it("tie-stays-at-its-instant: the registrar's sighting before it made our endpoint, at the instant a backfill run listed it (a clock that stood still), casts doubt at that instant and within the clock skew of it, not over the hours our endpoint then stayed unchanged", () => {
    const keep = Number.NEGATIVE_INFINITY;
    const at = (atMs: number, events: readonly string[] | null, found = true) =>
      ({ atMs, found, events, createdAtMs: found ? -3 * HOUR : null }) as DatedSighting;
    let log = mergeSighting(undefined, at(-2 * HOUR, [A]), keep); // a backfill run
    log = mergeSighting(log, at(0, [A]), keep); // the next run: one span [A] -2 h..0
    log = mergeSighting(log, at(0, null, false), keep); // the registrar at the same instant: none at our URL (no order between them)
    log = mergeSighting(log, at(1, [A]), keep); // the registrar after its change: causally later (+1 ms)
    log = mergeSighting(log, at(2 * HOUR, [A]), keep); // the next backfill run
    log = mergeSighting(log, at(4 * HOUR, [A]), keep);
    const judge = (type: string, t: number) => addressedAt(type, t, log ?? [], { configured: [A] });
    expect(judge(A, 20 * MIN)).toBe('ours'); // the main before this fix: unsure (the tie at 0 judged the whole span to 4 h)
    expect(judge(A, 3 * HOUR)).toBe('ours');
    expect(judge(B, 20 * MIN)).toBe('foreign');
    expect(judge(A, 1 * MIN)).toBe('unsure'); // next to the tie: either sighting may be the later one
    expect(judge(A, -1 * MIN)).toBe('unsure');
    expect(judge(A, 8 * MIN)).toBe('unsure'); // within the log's skew bound (LOG_SKEW_MS, 10 min) of it
  });
});

describe('registrar and backfill interleaved (fast-check scheduler)', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  /** Every call of `api` waits for the scheduler (one step each, the clock a minute on). */
  function gated<T extends object>(s: fc.Scheduler, api: T, label: string): T {
    return new Proxy(api, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return async (...args: unknown[]) => {
          await s.schedule(Promise.resolve(), `${label}.${prop}`);
          clock.t += MIN;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
        };
      },
    });
  }

  const faults = fc.record({
    recordAnswerLost: fc.boolean(),
    drop: fc.constantFrom('ok' as const, 'fails-before' as const, 'answer-lost' as const),
  });

  it('registrar-backfill-interleaved: the neighbour entry made while our URL pointed elsewhere is never published, and no sighting is lost', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), faults, async (s, f) => {
        hg.fake.reset(); // one fake for the property's runs: each starts afresh
        clock.t = FAKE_HEYGEN_START;
        const { check, claim } = sharedMemoryDedup(() => clock.t, WINDOW);
        const ep = hg.fake.seedEndpoint(OUR_URL, [A]);
        const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks', [A]);
        const bus: RelayEvent[] = [];
        const evidence = new MemoryEvidenceStore();
        const checkpoint = new MemoryBackfillCheckpoint();
        const inbox = new MemorySightingInbox();
        const recorded: DatedSighting[] = [];
        let lostOnce = f.recordAnswerLost;
        const registrarInbox = {
          record: async (x: DatedSighting) => {
            recorded.push(x);
            await inbox.record(x);
            if (lostOnce) {
              lostOnce = false;
              throw new Error('answer lost'); // written, the answer never came
            }
          },
        };
        let dropFault: 'ok' | 'fails-before' | 'answer-lost' = f.drop;
        const backfillInbox = {
          read: () => inbox.read(),
          drop: async (raw: readonly string[]) => {
            const fault = dropFault;
            dropFault = 'ok';
            if (fault === 'fails-before') throw new Error('connection refused');
            await inbox.drop(raw);
            if (fault === 'answer-lost') throw new Error('answer lost');
          },
        };
        const backfillRun = async (sched?: fc.Scheduler) => {
          await evidence.record('heygen', 'failure', clock.t - MIN); // a 5xx: the run sweeps
          const client = sched ? gated(sched, hg.client, 'heygen') : hg.client;
          const endpoint = await ourEndpoint(client, OUR_URL, [A], undefined, () => clock.t);
          const run = await scheduledBackfill({
            windowMs: WINDOW,
            checkpoint: sched ? gated(sched, checkpoint, 'checkpoint') : checkpoint,
            evidence,
            sightings: sched ? gated(sched, backfillInbox, 'inbox') : backfillInbox,
            deps: {
              history: hg.client,
              endpoint,
              check,
              claim,
              publisher: { publish: async (e) => void bus.push(e) },
              now: () => clock.t,
            },
          });
          expect(run.outcome).toBe('done');
        };
        const store = new MemorySigningSecretStore(
          { secret: ep.secret, endpointId: ep.endpoint_id, url: OUR_URL },
          undefined,
          () => clock.t,
        );
        const registrar = () =>
          reconcile(
            { url: OUR_URL, events: [A] },
            {
              client: gated(s, hg.client as HeyGenWebhookApi, 'heygen'),
              secretStore: store,
              sightings: gated(s, registrarInbox, 'inbox'),
              now: () => clock.t,
            },
          );

        await backfillRun();
        clock.t += HOUR;
        await backfillRun(); // the log: [A] at our URL
        ep.url = 'https://elsewhere.example.com/hooks'; // a person edits our URL away
        hg.fake.emit(neighbour.endpoint_id, { event_type: A, event_data: { video_id: 'theirs' } }, clock.t + 10 * MIN);
        const theirs = heygenEventKey(JSON.stringify({ event_type: A, event_data: { video_id: 'theirs' } }));
        clock.t += 40 * MIN;
        // The registrar (run again when its first run failed) and a backfill run, interleaved.
        const reg = registrar().catch(() => registrar());
        const done = Promise.all([reg, backfillRun(s)]);
        await s.waitFor(done);
        expect(ep.url).toBe(OUR_URL);
        clock.t += 30 * MIN;
        await backfillRun(); // the next scheduled run
        expect(bus.some((e) => e.id === theirs)).toBe(false);
        // Every sighting the registrar recorded is still in the inbox or already in the log.
        const log = checkpoint.state.subscriptions;
        const inInbox = new Set((await inbox.read()).map((x) => x.sighting.atMs));
        for (const x of recorded) if (!inInbox.has(x.atMs)) expect(forgets(log, x)).toEqual([]);
        expect(recorded.length).toBeGreaterThanOrEqual(2); // before the PATCH and after it
      }),
      { numRuns: 40, seed: 19 },
    );
  }, 120_000);
});
