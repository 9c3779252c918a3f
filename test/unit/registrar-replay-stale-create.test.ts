/**
 * Issue 19, the model's last `endpoint-count` finding (`npm run chaos -- --seed 2093364658 --path 1798`,
 * docs/chaos-model.md): a registrar run creates our endpoint at HeyGen and dies before storing its
 * secret; a person moves that endpoint to another URL; the relay is down for 60 h. The first run after
 * the outage finds the recorded create older than HeyGen's 24 h Idempotency-Key window, so it cannot
 * replay it (HeyGen forgot the key: the replay would make a second endpoint). It used to drop the
 * intent and create blind: a second endpoint of ours at our URL, and the one the dead run made left
 * delivering elsewhere for ever, no alarm. Now it finds the endpoint the dead run made in HeyGen's list
 * (created within the dead holder's lease after the intent, with the events it asked for), takes its
 * secret (rotate-secret) and the rules bring it back to our URL.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { type ReconcileSummary, reconcile } from '../../providers/heygen/runtime/registrar.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const ELSEWHERE = 'https://elsewhere.example.com/hooks/heygen';
const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
const HOUR = 3_600_000;

class Crash extends Error {}

describe('endpoint-count: a recorded create replayed after HeyGen forgot its key never leaves an endpoint of ours behind', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  function stack() {
    const now = () => clock.t;
    const store = new MemorySigningSecretStore(null, `sig-${randomUUID()}`, now);
    const heals = new MemoryHealJournal();
    const leases = new MemoryLeaseStore(now);
    const lease = { store: leases, name: `heygen:${store.name}`, now };
    /** The next store write dies (the Lambda crashes between HeyGen's answer and the store). */
    let crashNextPut = false;
    const put = store.put.bind(store);
    store.put = async (...args: Parameters<typeof store.put>) => {
      if (crashNextPut) {
        crashNextPut = false;
        throw new Crash('the registrar Lambda died');
      }
      return put(...args);
    };
    const register = (): Promise<ReconcileSummary> =>
      reconcile({ url: URL_A, events: EVENTS }, { client: hg.client, secretStore: store, lease, heals, now });
    /** A run that HeyGen answers and that dies before storing what HeyGen answered. */
    const registerAndDie = async () => {
      crashNextPut = true;
      await expect(register()).rejects.toBeInstanceOf(Crash);
    };
    return { store, heals, register, registerAndDie };
  }

  const moveAway = (id: string) => {
    (hg.fake.endpoints.get(id) as { url: string }).url = ELSEWHERE;
  };
  const elsewhere = () => [...hg.fake.endpoints.values()].filter((e) => e.url !== URL_A);

  /** The chain of the chaos replay: create, die, a person moves the endpoint, 60 h down. */
  async function createDieMoveAndWait(a: ReturnType<typeof stack>): Promise<string> {
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    const id = made?.endpoint_id as string;
    clock.t += 2 * HOUR;
    moveAway(id);
    clock.t += 60 * HOUR;
    return id;
  }

  it('endpoint-count-stale-create-moved: the run after a 60 h outage takes back the endpoint the dead run made, creates none', async () => {
    const a = stack();
    const made = await createDieMoveAndWait(a);
    const s = await a.register();
    // Before: ['recover', 'create', 'store_secret']: a second endpoint at our URL, ours left elsewhere.
    expect(s.actions.map((x) => `${x.type}:${x.status}`)).toEqual([
      'recover:done',
      'rotate:done',
      'store_secret:done',
      'update_url:done',
    ]);
    expect(hg.fake.requestsTo('POST', /endpoints$/)).toHaveLength(1); // the dead run's create only
    expect(hg.fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([made]);
    expect(elsewhere()).toEqual([]);
    expect((await a.store.read()).current).toEqual({ secret: hg.fake.endpoints.get(made)?.secret, endpointId: made, url: URL_A });
    // Recovering our own create is no takeover: a heal later today is not taken for a second writer.
    expect((await a.heals.read()).filter((t) => t.kind !== 'patch')).toEqual([]);
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync');
  });

  it('endpoint-count-stale-create-at-our-url: not moved, the endpoint the dead run made is recovered, no second one', async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    clock.t += 60 * HOUR;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'rotate', 'store_secret']);
    expect(hg.fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([made?.endpoint_id]);
    expect((await a.heals.read()).filter((t) => t.kind === 'adopt')).toEqual([]);
    expect(s.outcome).toBe('changed');
  });

  it('endpoint-count-replayed-then-stale: a replay within 24 h that dies too keeps the first call’s time, so a later run does not send the forgotten key', async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    const id = made?.endpoint_id as string;
    clock.t += HOUR;
    moveAway(id);
    clock.t += 19 * HOUR;
    await a.registerAndDie(); // replays the key (HeyGen answers with the moved endpoint), dies before storing
    clock.t += 10 * HOUR; // 30 h after the create, 10 h after the replay: HeyGen forgot the key
    await a.register();
    // Before: the intent was stamped anew by the replay, the key was sent again, HeyGen made a second
    // endpoint at our URL and the first stayed elsewhere.
    expect(hg.fake.requestsTo('POST', /endpoints$/)).toHaveLength(2);
    expect(hg.fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([id]);
    expect(elsewhere()).toEqual([]);
  });

  it('endpoint-count-replay-at-the-edge: a create 3 min short of 24 h, HeyGen’s clock 4 min ahead, is looked up, not replayed', async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    moveAway(made?.endpoint_id as string);
    clock.t += 24 * HOUR - 3 * 60_000;
    hg.fake.advanceIdempotencyClock(4 * 60_000); // HeyGen's 24 h for the key ran out already
    await a.register();
    // Before: the key was sent, HeyGen had forgotten it and made a second endpoint at our URL.
    expect(hg.fake.requestsTo('POST', /endpoints$/)).toHaveLength(1);
    expect(hg.fake.endpointsFor(URL_A).map((e) => e.endpoint_id)).toEqual([made?.endpoint_id]);
    expect(elsewhere()).toEqual([]);
  });

  it("a neighbour's endpoint made at the same moment with other events is never taken", async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hook', ['video_translate.success']);
    const neighbourSecret = neighbour.secret;
    hg.fake.deleteBehindOurBack(made?.endpoint_id as string); // ours is gone: nothing to recover
    clock.t += 60 * HOUR;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'create', 'store_secret']);
    expect(hg.fake.endpoints.get(neighbour.endpoint_id)).toMatchObject({
      url: 'https://neighbour.example.com/hook',
      secret: neighbourSecret,
    });
  });

  it('an older endpoint elsewhere with our events (made before the intent) is no candidate', async () => {
    const older = hg.fake.seedEndpoint(ELSEWHERE, EVENTS); // e.g. a copied stack's, moved away long ago
    clock.t += 10 * HOUR;
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    clock.t += 60 * HOUR;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'rotate', 'store_secret']);
    expect(s.warnings).toEqual([]);
    expect((await a.store.read()).current?.endpointId).toBe(made?.endpoint_id);
    expect(hg.fake.endpoints.get(older.endpoint_id)).toMatchObject({ url: ELSEWHERE, secret: older.secret });
  });

  it('two endpoints that could be the one the dead run made: neither is touched, the run says so', async () => {
    const a = stack();
    const made = await createDieMoveAndWait(a);
    clock.t -= 62 * HOUR;
    const twin = hg.fake.seedEndpoint('https://twin.example.com/hook', EVENTS); // same moment, same events
    clock.t += 62 * HOUR;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'create', 'store_secret']);
    expect(s.warnings.join(' ')).toMatch(/could not tell which/);
    expect(hg.fake.endpoints.get(made)?.url).toBe(ELSEWHERE);
    expect(hg.fake.endpoints.get(twin.endpoint_id)?.url).toBe('https://twin.example.com/hook');
  });
});
