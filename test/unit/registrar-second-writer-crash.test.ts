/**
 * Issue 19, a second writer and a disabled/deleted endpoint must raise an alarm a person sees; the
 * model's `endpoint-count` finding (`--seed -1651529318 --path 2357` at 246a95a, docs/chaos-model.md).
 *
 * Our endpoint moved to another URL a second time within a day: by design the registrar leaves it to
 * whoever moved it, registers its own endpoint at our URL and reports `second_writer` (alarm
 * HeyGenSecondWriter). If that run dies between HeyGen's create answer and its summary, the next run
 * replays the recorded create and stores the new endpoint's secret; from then on the stored endpoint is
 * the new one at our URL, so no rule finds the moved endpoint again and no run ever says
 * `second_writer`: the endpoint delivering elsewhere stays, silently. The create's intent now carries
 * the decision (`secondWriter`), so the run that replays it reports `second_writer` too.
 */
import { describe, expect, it } from 'vitest';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import {
  type CrashingRegistrar,
  crashingRegistrarStack,
  ELSEWHERE,
  HOUR,
  moveElsewhere,
  URL_A,
} from '../support/registrar-stack.js';

describe('endpoint-count: a crash right after the registrar creates its own endpoint keeps the second_writer alarm', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  const stack = () => crashingRegistrarStack(hg);
  const moveAway = (id: string) => moveElsewhere(hg, id);

  async function secondMoveWithinADay(a: CrashingRegistrar): Promise<string> {
    await a.register();
    const [ep] = hg.fake.endpointsFor(URL_A);
    const id = ep?.endpoint_id as string;
    moveAway(id);
    clock.t += HOUR;
    expect((await a.register()).actions.map((x) => x.type)).toEqual(['update_url']);
    clock.t += HOUR;
    moveAway(id); // again within a day: a second writer
    clock.t += HOUR;
    return id;
  }

  it('without a crash: the run reports second_writer and registers its own endpoint (the designed case)', async () => {
    const a = stack();
    await secondMoveWithinADay(a);
    const s = await a.register();
    expect(s.outcome).toBe('second_writer');
    expect(s.actions.map((x) => x.type)).toEqual(['create', 'store_secret']);
  });

  it('endpoint-count-crash-after-create: the run dies before storing its new endpoint; the run that replays the create reports second_writer', async () => {
    const a = stack();
    const moved = await secondMoveWithinADay(a);
    await a.registerAndDie(); // HeyGen created the endpoint; its secret is not stored
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
    clock.t += 5 * 60_000; // the dead run's lease expires
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'store_secret']);
    expect(s.outcome).toBe('second_writer'); // before: `changed`, and every later run `in_sync`: no alarm ever
    expect(s.message).toMatch(/another writer/);
    // What a person is told about is still there: our old endpoint delivering elsewhere, ours at our URL.
    expect(hg.fake.endpoints.get(moved)?.url).toBe(ELSEWHERE);
    const [ours] = hg.fake.endpointsFor(URL_A);
    expect((await a.store.read()).current?.endpointId).toBe(ours?.endpoint_id);
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync'); // reported once, as without the crash
  });

  it('endpoint-count-crash-twice: the run replaying the create dies too; the run after it still reports second_writer', async () => {
    const a = stack();
    await secondMoveWithinADay(a);
    await a.registerAndDie();
    clock.t += 5 * 60_000;
    await a.registerAndDie(); // the replay re-records the intent, then dies
    clock.t += 5 * 60_000;
    const s = await a.register();
    expect(s.actions.map((x) => x.type)).toEqual(['recover', 'store_secret']);
    expect(s.outcome).toBe('second_writer'); // before: `changed` (the replay dropped the mark)
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
  });

  it("endpoint-count-clear-lost: the create's intent is cleared but the answer is lost: the run still reports second_writer", async () => {
    const a = stack();
    await secondMoveWithinADay(a);
    a.loseNextClear();
    const s = await a.register(); // before: the run failed, and the next one found nothing to report
    expect(s.outcome).toBe('second_writer');
    expect(s.actions.map((x) => x.type)).toEqual(['create', 'store_secret']);
    expect(s.warnings.join(' ')).toMatch(/could not clear/);
  });

  it('a create recorded for a second writer and replayed after the heal window is no new fight', async () => {
    const a = stack();
    await secondMoveWithinADay(a);
    await a.registerAndDie();
    clock.t += 25 * HOUR; // HeyGen no longer replays the key; the fight is a day old
    const s = await a.register();
    expect(s.outcome).not.toBe('second_writer');
    expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
  });
});
