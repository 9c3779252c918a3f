/**
 * review4: proof rule 5 (proof.ts `missedForTheClock`) trusts the ingress to record the key of every
 * delivery signed with a live key and refused as stale. On cedddcd the recorder (core/evidence.ts
 * `evidenceRecorder`) wrote at most REFUSED_KEYS_PER_INTERVAL (4) such keys per 10 s interval per
 * execution environment: with HeyGen's clock beyond the tolerance, a burst of five of our events left
 * the fifth without its stale record, and a neighbour's re-POST of that body (a signature refusal of
 * its key: the very case rule 5 exists for, chaos --seed 897592139 --path 877) made the registrar
 * rotate our LIVE secret. A stale record needs a signature by a secret we hold (HeyGen's), so its writes
 * grow with HeyGen's deliveries, not with strangers: each key once per interval, no count budget.
 */
import { describe, expect, it } from 'vitest';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import { type Body, HOUR, MINUTE, review3Stack } from '../support/review3-stack.js';

describe('review4: a burst of stale deliveries signed with our secret', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  let n = 0;
  const event = (): Body => ({ event_type: 'avatar_video.success', event_data: { video_id: `burst${++n}` } });
  const rotations = () => hg.fake.requestsTo('POST', /rotate-secret$/).length;

  it('review4-stale-burst-rotates: every stale key of a burst is recorded, and a neighbour re-POSTing the last never rotates our live secret', async () => {
    // HeyGen 6 min behind (tolerance 300 s); the production recorder's 10 s interval.
    const a = review3Stack(hg, { lambdaSkewMs: 6 * MINUTE, evidenceIntervalMs: 10_000 });
    await a.register();
    clock.t += HOUR;
    await a.register(); // its sighting
    const neighbour = hg.fake.seedEndpoint('https://neighbour.example.com/hooks/heygen', ['avatar_video.success']);
    clock.t += HOUR;
    const burst: Body[] = [];
    for (let i = 0; i < 5; i++) {
      const e = event();
      burst.push(e);
      expect(await a.receive(e)).toBe(401); // signed with our live secret: stale
      clock.t += 1_000;
    }
    const last = JSON.stringify(burst.at(-1));
    clock.t += MINUTE;
    expect(await a.post(last, a.sign(neighbour.secret, last))).toBe(401); // the neighbour's copy: its key refused
    clock.t += 15 * MINUTE;
    const run = await a.register();
    expect(rotations()).toBe(0);
    expect(run.outcome).toBe('in_sync');
    for (const e of burst) expect(await a.evidence.staleAt('heygen', heygenEventKey(JSON.stringify(e)))).not.toBeNull();
  });
});
