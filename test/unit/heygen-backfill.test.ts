/**
 * Issue 11: never lose an event HeyGen delivered. The real ingress pipeline (in-process), the real
 * registrar and backfill, the fake HeyGen (its event history lists every event it delivered or tried
 * to), in-memory dedup in both modes, and a bus that counts what reached it.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { canonicalNumber } from '../../functions/core/canonical-json.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { createIngress, type Telemetry } from '../../functions/core/ingress.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import type { DedupMode, SigningKeySource } from '../../functions/core/ports.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { backfill } from '../../providers/heygen/runtime/backfill.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { MISMATCH_RETRY_SPACING_MS, reconcile } from '../../providers/heygen/runtime/registrar.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const HOUR = 3_600_000;
const quiet: Telemetry = { debug() {}, info() {}, warn() {}, error() {}, count() {} };

describe('Event key: a live delivery and its history entry', () => {
  it('share one key although their bytes differ (order, whitespace, escapes, number spelling)', () => {
    const live =
      '{"event_type":"avatar_video.success","event_data":{"video_id":"v1","duration":12.50,"url":"https://x/\\u00e9"}}';
    const history =
      '{ "event_data": { "url": "https://x/é", "duration": 1.25e1, "video_id": "v1" }, "event_type": "avatar_video.success", "event_id": "whe_1" }';
    expect(heygenEventKey(live)).toBe(heygenEventKey(history));
    expect(heygenEventKey(live)).toMatch(/^heygen:evt:[0-9a-f]{64}$/);
  });
  it('keeps every digit: ids past 2^53 that a double would merge stay apart', () => {
    const a = '{"event_type":"batch.success","event_data":{"id":12345678901234567890}}';
    const b = '{"event_type":"batch.success","event_data":{"id":12345678901234567891}}';
    expect(JSON.parse(a).event_data.id).toBe(JSON.parse(b).event_data.id); // what IEEE doubles (and RFC 8785) would see
    expect(heygenEventKey(a)).not.toBe(heygenEventKey(b));
  });
  it('writes each decimal value in one form', () => {
    for (const t of ['150', '150.0', '1.5e2', '1.50E+2', '15000e-2']) expect(canonicalNumber(t)).toBe('15e1');
    expect(canonicalNumber('-0.0')).toBe('0');
    expect(canonicalNumber('0.001')).toBe('1e-3');
  });
  it('differs when type or data differ', () => {
    expect(heygenEventKey('{"event_type":"a","event_data":{"x":1}}')).not.toBe(
      heygenEventKey('{"event_type":"b","event_data":{"x":1}}'),
    );
    expect(heygenEventKey('{"event_type":"a","event_data":{"x":1}}')).not.toBe(
      heygenEventKey('{"event_type":"a","event_data":{"x":"1"}}'),
    );
  });
});

/** The relay in one process: ingress over a key source that reads the secret store, a counting bus. */
function relay(mode: DedupMode, now: () => number) {
  const store = new MemorySigningSecretStore(null, `sig-${randomUUID()}`, now);
  const dedup = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode, now });
  const check = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: 'record', now });
  // One table: the backfill's read-only and claiming views share the ingress store's entries.
  Object.assign(check, { entries: (dedup as unknown as { entries: unknown }).entries });
  const claimView = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: 'claim', now });
  Object.assign(claimView, { entries: (dedup as unknown as { entries: unknown }).entries });
  const evidence = new MemoryEvidenceStore();
  const bus: RelayEvent[] = [];
  const keys: SigningKeySource = {
    getKeys: async () => {
      const s = (await store.get())?.secret;
      return s ? [{ secret: s, label: 'AWSCURRENT' }] : [];
    },
    refresh: async () => keys.getKeys(),
  };
  const ingress = createIngress({
    routes: [{ provider: heygen, path: '/heygen', keys, timestampToleranceSeconds: 0, budgetMs: 8_000, dedup }],
    maxBodyBytes: 256 * 1024,
    publisher: { publish: async (e) => void bus.push(e) },
    telemetry: quiet,
    now,
    onTrouble: evidenceRecorder(evidence, { intervalMs: 0, now }),
  });
  return { store, dedup, check, claimView, evidence, bus, ingress };
}

describe('HeyGen: detect a wrong secret, heal it, backfill from the history', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  function setup(mode: DedupMode = 'record') {
    const now = () => clock.t;
    const r = relay(mode, now);
    const lease = { store: new MemoryLeaseStore(now), name: `heygen:${r.store.name}`, now };
    const evidenceDeps = { evidence: r.evidence, history: hg.client, dedup: r.check, now };
    let n = 0;
    /** HeyGen delivers one event (it lands in HeyGen's history whatever the relay answers). */
    const deliver = async (body?: { event_type: string; event_data: Record<string, unknown> }) => {
      const [ep] = hg.fake.endpointsFor(URL_A);
      if (!ep) throw new Error('no endpoint');
      const event = body ?? { event_type: 'avatar_video.success', event_data: { video_id: `v${++n}`, callback_id: `c${n}` } };
      hg.fake.emit(ep.endpoint_id, event);
      const raw = JSON.stringify(event);
      const res = await r.ingress({
        method: 'POST',
        path: '/heygen',
        headers: { 'heygen-signature': createHmac('sha256', ep.secret).update(raw).digest('hex'), 'heygen-event-id': `evt_${n}` },
        body: Buffer.from(raw),
        requestId: randomUUID(),
      });
      return { status: res.statusCode, event };
    };
    const heals = new MemoryHealJournal();
    const register = () =>
      reconcile({ url: URL_A, events: null }, { client: hg.client, secretStore: r.store, lease, heals, evidence: evidenceDeps });
    const runBackfill = (sinceMs = clock.t - 48 * HOUR, extra: { sampleEvery?: number } = {}) =>
      backfill(
        { sinceMs, ...extra },
        {
          history: hg.client,
          check: r.check,
          claim: r.claimView,
          publisher: { publish: async (e) => void r.bus.push(e) },
          evidence: r.evidence,
          lease: { store: lease.store, name: `heygen-backfill:${r.store.name}` },
          now: () => clock.t,
        },
      );
    const onBusOnce = (events: { event_type: string; event_data: Record<string, unknown> }[]) => {
      const ids = r.bus.map((e) => e.id);
      for (const e of events) expect(ids.filter((id) => id === heygenEventKey(JSON.stringify(e)))).toHaveLength(1);
      expect(new Set(ids).size).toBe(ids.length);
    };
    return { ...r, deliver, register, runBackfill, onBusOnce };
  }

  // Each lockout sequence of the lifecycle issue ends with a dead secret stored while HeyGen signs
  // with another; here each ending is written directly (the fixes of issue 10 are bypassed).
  const deadSecretEndings = [
    'sequence 1: the slower of two runs stores the secret the other run rotated away',
    "sequence 2: finishSecret promotes the dead AWSPENDING over the registrar's value",
    'sequence 3: a retired value left in place after the endpoint was re-created',
    "sequence 4: an adopt key replayed within 24 h hands back the first adoption's secret",
    'sequence 5: a rotation before any endpoint existed leaves a value HeyGen never issued',
    'sequence 6: the endpoint re-created at a new URL, the old one’s secret kept',
    'sequence 7: a crash after rotate-secret, retried after the 24 h window',
  ];
  for (const [i, name] of deadSecretEndings.entries()) {
    it(`${name}: healed within one registrar run after the first rejected delivery (once a run has seen the stored version); every event on the bus once`, async () => {
      const r = setup(i % 2 === 0 ? 'record' : 'claim');
      expect((await r.register()).outcome).toBe('changed'); // creates the endpoint, stores its secret
      const delivered = [];
      for (let k = 0; k < 3; k++) {
        const d = await r.deliver();
        expect(d.status).toBe(200);
        delivered.push(d.event);
      }
      clock.t += 30 * 60_000;
      // The dead secret: HeyGen rotated (or issued) one the relay never stored.
      const [ep] = hg.fake.endpointsFor(URL_A);
      const stored = await r.store.get();
      const dead = i === 4 ? 'whsec_neverIssuedByHeyGen0123456789abcd' : stored?.secret;
      await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `seq-${i}-${randomUUID()}` });
      r.store.overwrite({ secret: dead as string, endpointId: ep?.endpoint_id as string, url: URL_A });
      // The scheduled run after the write sees the new version: refusals from then on (plus the grace) are proof.
      clock.t += 60_000;
      expect((await r.register()).outcome).toBe('in_sync');
      clock.t += 6 * 60_000; // past the grace after that run saw the (dead) value
      // Deliveries now fail; HeyGen lists them as delivered.
      const missed = [];
      for (let k = 0; k < 4; k++) {
        const d = await r.deliver();
        expect(d.status).toBe(401);
        missed.push(d.event);
        clock.t += 60_000;
      }
      // Before HeyGen's retry spacing has passed, a run does not judge yet.
      expect((await r.register()).outcome).toBe('in_sync');
      clock.t += MISMATCH_RETRY_SPACING_MS;
      const healed = await r.register();
      expect(healed.outcome).toBe('secret_mismatch');
      expect((await r.store.get())?.secret).toBe(hg.fake.endpoints.get(ep?.endpoint_id as string)?.secret);
      // Live delivery works again.
      const after = await r.deliver();
      expect(after.status).toBe(200);
      // The backfill recovers what was refused meanwhile, and nothing twice.
      clock.t += 11 * 60_000;
      const b = await r.runBackfill();
      expect(b.backfilled).toBe(missed.length);
      expect(b.alreadyPublished).toBe(delivered.length + 1);
      r.onBusOnce([...delivered, ...missed, after.event]);
      const byVideo = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        String(a.video_id).localeCompare(String(b.video_id));
      expect(
        r.bus
          .filter((e) => e.origin === 'backfill')
          .map((e) => e.data)
          .sort(byVideo),
      ).toEqual(missed.map((m) => m.event_data).sort(byVideo));
      // And the next registrar run is back to in_sync.
      expect((await r.register()).outcome).toBe('in_sync');
    });
  }

  it('a quiet account (no deliveries) stays in_sync, and so does a signature refusal during a rotation overlap', async () => {
    const r = setup();
    await r.register();
    clock.t += 5 * HOUR;
    expect((await r.register()).outcome).toBe('in_sync');
    // A refusal right after a new secret was stored (HeyGen already signs with it, the ingress not yet).
    const [ep] = hg.fake.endpointsFor(URL_A);
    const rotated = await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `rot-${randomUUID()}` });
    const early = await r.deliver();
    expect(early.status).toBe(401);
    r.store.overwrite({ secret: rotated.secret, endpointId: ep?.endpoint_id as string, url: URL_A });
    clock.t += 30 * 60_000;
    expect((await r.register()).outcome).toBe('in_sync');
    expect((await r.runBackfill()).backfilled).toBe(1); // the refused first attempt is recovered all the same
    r.onBusOnce([early.event]);
  });

  it('a relay down for three days gets every event of its dedup window back, once', async () => {
    const r = setup('claim');
    await r.register();
    const [ep] = hg.fake.endpointsFor(URL_A);
    const start = clock.t;
    const all: { event_type: string; event_data: Record<string, unknown>; at: number }[] = [];
    for (let h = 0; h < 72; h += 0.5) {
      const e = { event_type: 'video_translate.success', event_data: { video_translate_id: `t${h}`, n: h } };
      hg.fake.emit(ep?.endpoint_id as string, e, start + h * HOUR);
      all.push({ ...e, at: start + h * HOUR });
    }
    clock.t = start + 72 * HOUR + 20 * 60_000;
    const b = await r.runBackfill();
    const inWindow = all.filter((e) => e.at >= clock.t - 48 * HOUR);
    expect(b.outcome).toBe('done');
    expect(b.backfilled).toBe(inWindow.length);
    r.onBusOnce(inWindow);
    expect(r.bus).toHaveLength(inWindow.length);
    // Run again (and concurrently): nothing more.
    const [x, y] = await Promise.all([r.runBackfill(), r.runBackfill()]);
    expect(x.backfilled + y.backfilled).toBe(0);
    expect(r.bus).toHaveLength(inWindow.length);
  });

  for (const mode of ['record', 'claim'] as const) {
    it(`mode ${mode}: a history entry of an event the relay already published is not published again, and a live copy after a backfill is a duplicate`, async () => {
      const r = setup(mode);
      await r.register();
      const live = await r.deliver();
      expect(live.status).toBe(200);
      // An event HeyGen delivered while the relay was unreachable, then retried after the backfill.
      const [ep] = hg.fake.endpointsFor(URL_A);
      const lost = { event_type: 'avatar_video.fail', event_data: { video_id: 'vx', error: { code: 400 } } };
      hg.fake.emit(ep?.endpoint_id as string, lost);
      clock.t += 15 * 60_000;
      const b = await r.runBackfill();
      expect(b).toMatchObject({ backfilled: 1, alreadyPublished: 1 });
      const retry = await r.deliver(lost);
      expect(retry.status).toBe(200);
      r.onBusOnce([live.event, lost]);
      expect(r.bus.map((e) => e.origin)).toEqual(['delivery', 'backfill']);
      // The envelope id is the same for both routes: the event key.
      expect(r.bus[1]?.id).toBe(heygenEventKey(JSON.stringify(lost)));
    });
  }

  it('a delivery recorded under the earlier body key is recognised by the ingress and by the backfill', async () => {
    const r = setup('record');
    await r.register();
    const [ep] = hg.fake.endpointsFor(URL_A);
    const old = { event_type: 'avatar_video.success', event_data: { video_id: 'old1' } };
    const raw = JSON.stringify(old);
    // Published before content keys: recorded under heygen:<sha256 of the body>.
    const bodyKey = `heygen:${createHash('sha256').update(raw).digest('hex')}`;
    await r.dedup.complete(bodyKey, 'before-upgrade');
    hg.fake.emit(ep?.endpoint_id as string, old);
    clock.t += 15 * 60_000;
    expect((await r.runBackfill()).alreadyPublished).toBe(1);
    const retry = await r.deliver(old);
    expect(retry.status).toBe(200);
    expect(r.bus).toHaveLength(0);
  });

  it("honours HeyGen's 429 Retry-After while paging the history, and stops at its page bound (partial)", async () => {
    const r = setup('record');
    await r.register();
    const [ep] = hg.fake.endpointsFor(URL_A);
    for (let k = 0; k < 250; k++)
      hg.fake.emit(ep?.endpoint_id as string, { event_type: 'avatar_video.success', event_data: { video_id: `p${k}` } });
    clock.t += 15 * 60_000;
    hg.fake.inject({ method: 'GET', path: /\/v3\/webhooks\/events$/, status: 429, retryAfter: '0' });
    const partial = await backfill(
      { sinceMs: clock.t - 48 * HOUR, maxPages: 2 },
      {
        history: hg.client,
        check: r.check,
        claim: r.claimView,
        publisher: { publish: async (e) => void r.bus.push(e) },
        now: () => clock.t,
      },
    );
    expect(partial).toMatchObject({ outcome: 'partial', pages: 2, backfilled: 200 });
    expect(hg.fake.requestsTo('GET', /\/v3\/webhooks\/events$/).map((q) => q.status)).toEqual([429, 200, 200]);
    expect((await r.runBackfill()).backfilled).toBe(50); // the next run finishes; nothing twice
    expect(r.bus).toHaveLength(250);
  });

  it('the scheduled run samples: a gap of consecutive misses is found and then every entry is looked up', async () => {
    const r = setup('record');
    await r.register();
    const events = [];
    for (let k = 0; k < 40; k++) {
      const d = await r.deliver();
      events.push(d.event);
    }
    const [ep] = hg.fake.endpointsFor(URL_A);
    const gap = [];
    for (let k = 0; k < 12; k++) {
      const e = { event_type: 'avatar_video.success', event_data: { video_id: `gap${k}` } };
      hg.fake.emit(ep?.endpoint_id as string, e);
      gap.push(e);
    }
    for (let k = 0; k < 40; k++) events.push((await r.deliver()).event);
    clock.t += 15 * 60_000;
    const b = await r.runBackfill(undefined, { sampleEvery: 10 });
    expect(b.sampleMissed).toBe(true);
    expect(b.backfilled).toBe(gap.length);
    r.onBusOnce([...events, ...gap]);
  });
});

describe('CLI: heygen-relay backfill', () => {
  it('reads --since as a duration and refuses what is not one', async () => {
    const { parseDuration } = await import('../../bin/commands/backfill-run.js');
    expect(parseDuration('48h')).toBe(48 * HOUR);
    expect(parseDuration('3d')).toBe(72 * HOUR);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('120')).toBe(120_000);
    for (const bad of ['', 'h', '3x', '-1h', '2h junk']) expect(() => parseDuration(bad)).toThrow(RangeError);
  });
  it('says what it needs instead of guessing (exit 64)', async () => {
    const { main } = await import('../../bin/commands/program.js');
    const err: string[] = [];
    const code = await main(['backfill', '--since', '48h'], {
      env: { HEYGEN_API_KEY: 'k' },
      out: () => {},
      err: (l) => err.push(l),
    });
    expect(code).toBe(64);
    expect(err.join('\n')).toMatch(/backfill needs --stack/);
  });
});
