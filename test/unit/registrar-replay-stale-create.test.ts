/**
 * Issue 19, the model's last `endpoint-count` finding (`npm run chaos -- --seed 2093364658 --path 1798`,
 * docs/chaos-model.md): a registrar run creates our endpoint at HeyGen and dies before storing its
 * secret; a person moves that endpoint to another URL; the relay is down for 60 h. The first run after
 * the outage finds the recorded create older than HeyGen's 24 h Idempotency-Key window, so it cannot
 * replay it (HeyGen forgot the key: the replay would make a second endpoint). It used to drop the
 * intent and create blind: a second endpoint of ours at our URL, and the one the dead run made left
 * delivering elsewhere for ever, no alarm. Now it looks for the endpoint the dead run made in HeyGen's
 * list (created within the dead holder's lease after the intent): at our URL it takes its secret
 * (rotate-secret); at another URL with our events it may be ours moved by a person or a neighbour's made
 * at the same moment (HeyGen's endpoints carry no mark of ours), so it is never taken: the run ends
 * `stray_endpoint` (alarmed, HeyGenStrayEndpoint) naming it, and the rules register ours at our URL.
 */
import { describe, expect, it } from 'vitest';
import { STRAY_MESSAGE } from '../../providers/heygen/runtime/registrar.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import {
  type CrashingRegistrar,
  crashingRegistrarStack,
  ELSEWHERE,
  EVENTS,
  HOUR,
  moveElsewhere,
  URL_A,
} from '../support/registrar-stack.js';

describe('endpoint-count: a recorded create replayed after HeyGen forgot its key never leaves an endpoint of ours behind', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  const stack = () => crashingRegistrarStack(hg);
  const moveAway = (id: string) => moveElsewhere(hg, id);
  const elsewhere = () => [...hg.fake.endpoints.values()].filter((e) => e.url !== URL_A);

  /** The chain of the chaos replay: create, die, a person moves the endpoint, 60 h down. */
  async function createDieMoveAndWait(a: CrashingRegistrar): Promise<string> {
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    const id = made?.endpoint_id as string;
    clock.t += 2 * HOUR;
    moveAway(id);
    clock.t += 60 * HOUR;
    return id;
  }

  it('endpoint-count-stale-create-moved: after a 60 h outage the endpoint the dead run made, moved elsewhere, is reported (stray_endpoint), never taken; one endpoint at our URL', async () => {
    const a = stack();
    const made = await createDieMoveAndWait(a);
    const movedSecret = hg.fake.endpoints.get(made)?.secret;
    const s = await a.register();
    // Before: ['recover', 'create', 'store_secret'] ending `changed`: ours left elsewhere, no alarm.
    expect(s.actions.map((x) => `${x.type}:${x.status}`)).toEqual(['recover:done', 'create:done', 'store_secret:done']);
    expect(s.outcome).toBe('stray_endpoint');
    expect(s.message).toBe(STRAY_MESSAGE);
    expect(hg.fake.endpoints.get(made)).toMatchObject({ url: ELSEWHERE, secret: movedSecret });
    const [atOurs, ...more] = hg.fake.endpointsFor(URL_A);
    expect(more).toEqual([]);
    expect((await a.store.read()).current).toEqual({ secret: atOurs?.secret, endpointId: atOurs?.endpoint_id, url: URL_A });
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync');
  });

  it('endpoint-count-neighbour-same-moment: a neighbour stack registered at the same moment with our events is never taken, even with ours gone', async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/heygen', EVENTS); // a second relay, same defaults
    const neighbourSecret = neighbour.secret;
    hg.fake.deleteBehindOurBack(made?.endpoint_id as string);
    clock.t += 60 * HOUR;
    const s = await a.register();
    // The first version of this fix took the neighbour's endpoint: rotated its secret, moved it to our URL.
    expect(hg.fake.endpoints.get(neighbour.endpoint_id)).toMatchObject({
      url: 'https://neighbour.example.com/heygen',
      secret: neighbourSecret,
    });
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'create', 'store_secret']);
    expect(s.outcome).toBe('stray_endpoint');
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
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
    const s = await a.register();
    // Before: the intent was stamped anew by the replay, the key was sent again, HeyGen made a second
    // endpoint at our URL and the first stayed elsewhere.
    const creates = hg.fake.requestsTo('POST', /endpoints$/);
    expect(creates).toHaveLength(3); // the create, its replay within 24 h, a new create under a new key
    expect(creates[2]?.headers['idempotency-key']).not.toBe(creates[0]?.headers['idempotency-key']);
    expect(s.outcome).toBe('stray_endpoint');
    expect(hg.fake.endpoints.get(id)?.url).toBe(ELSEWHERE);
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
  });

  it('endpoint-count-replay-at-the-edge: a create 3 min short of 24 h, HeyGen’s clock 4 min ahead, is looked up, not replayed', async () => {
    const a = stack();
    await a.registerAndDie();
    const [made] = hg.fake.endpointsFor(URL_A);
    moveAway(made?.endpoint_id as string);
    clock.t += 24 * HOUR - 3 * 60_000;
    hg.fake.advanceIdempotencyClock(4 * 60_000); // HeyGen's 24 h for the key ran out already
    const s = await a.register();
    // Before: the key was sent, HeyGen had forgotten it and made a second endpoint at our URL, no alarm.
    const creates = hg.fake.requestsTo('POST', /endpoints$/);
    expect(creates).toHaveLength(2);
    expect(creates[1]?.headers['idempotency-key']).not.toBe(creates[0]?.headers['idempotency-key']);
    expect(s.outcome).toBe('stray_endpoint');
    expect(elsewhere().map((e) => e.endpoint_id)).toEqual([made?.endpoint_id]);
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

  it('two endpoints elsewhere that could be the one the dead run made: neither is touched, the run says so', async () => {
    const a = stack();
    const made = await createDieMoveAndWait(a);
    clock.t -= 62 * HOUR;
    const twin = hg.fake.seedEndpoint('https://twin.example.com/hook', EVENTS); // same moment, same events
    clock.t += 62 * HOUR;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'create', 'store_secret']);
    expect(s.outcome).toBe('stray_endpoint');
    expect(hg.fake.endpoints.get(made)?.url).toBe(ELSEWHERE);
    expect(hg.fake.endpoints.get(twin.endpoint_id)?.url).toBe('https://twin.example.com/hook');
  });
});
