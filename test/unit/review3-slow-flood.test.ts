/**
 * Review 3 (issue 19): the refused-key list (16 keys, one replaced only once 6 h old) against a
 * stranger who is not a flood at all. Fixed in core/evidence.ts (one record per refused key, looked
 * up by key by the registrar).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useFakeHeyGen } from '../support/fake-heygen.js';
import { type Body, HOUR, MINUTE, review3Stack, URL_A } from '../support/review3-stack.js';

describe('review3: a slow stranger keeps a dead secret from being healed', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;
  let n = 0;
  const event = (): Body => ({ event_type: 'avatar_video.success', event_data: { video_id: `v${++n}` } });

  /*
   * Causal chain: core/evidence.ts addRefusedKey keeps 16 distinct keys and lets a new key in only in
   * place of the oldest, and only once that one is 6 h old. A stranger posting ONE bad request a minute
   * (5 per 5 min: under the SignatureRejections alarm's 20), each with a body of his own, keeps the list
   * full of keys younger than 6 h: whenever the oldest turns 6 h, his next POST (within a minute) takes
   * the slot. HeyGen's refused deliveries of the events our dead secret refuses (a delivery every 30
   * min here, and its retries) almost never find a free slot, so rule 4 (proof.ts refusalOfEntry: the
   * newest missed entry's own key refused) never holds and the registrar never heals. docs/guarantees.md
   * ("Strangers decide nothing") calls it a flood that delays a heal "until the flood ends plus up to
   * 6 h"; one request a minute is no flood, and it lasts as long as he likes. Events are not lost (the
   * backfill republishes each, HeyGenBackfilled fires hourly), but live delivery stays dead and every
   * event is an hour late. Severity: heal blocked by a stranger (events delayed, alarmed only as
   * "backfilled"). Fix idea: never let a refused key crowd out the key of an entry in HeyGen's history
   * (e.g. the registrar asks for the missed entry's key directly: a per-key item `refused#<key>` with a
   * TTL instead of a bounded shared list; one conditional write per refused key, read by key).
   * FIXED: one record per refused key (core/evidence.ts `refusedAt`; DynamoDB item
   * `evidence#<source>#refused#<key>`, TTL `purgeAt` 24 h), the registrar looks the missed entry's key
   * up directly; the write budget per environment is unchanged (at most 4 keys per 10 s).
   */
  it('review3-slow-flood-blocks-heal: one bad POST a minute (below the signature alarm) does not keep a dead secret unhealed for a day', async () => {
    const a = review3Stack(hg, { toleranceSeconds: 0 });
    await a.register();
    clock.t += HOUR;
    expect((await a.register()).outcome).toBe('in_sync'); // its sighting
    const [ep] = hg.fake.endpointsFor(URL_A);
    const stranger = () => {
      const raw = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `x-${randomUUID()}` } });
      return a.post(raw, 'ab'.repeat(32));
    };
    // The stranger starts: one bad POST a minute, for 6 h before anything happens, then on.
    for (let m = 0; m < 6 * 60; m++) {
      clock.t += MINUTE;
      await stranger();
    }
    await hg.client.rotateSecret(ep?.endpoint_id as string, { idempotencyKey: `dash-${randomUUID()}` }); // our secret dies
    const outcomes: string[] = [];
    for (let m = 1; m <= 24 * 60; m++) {
      clock.t += MINUTE;
      await stranger();
      if (m % 30 === 0) await a.receive(event()); // HeyGen's delivery: refused by the dead secret
      if (m % 60 === 45) outcomes.push((await a.register()).outcome);
      if (outcomes.includes('secret_mismatch')) break;
    }
    expect(outcomes).toContain('secret_mismatch');
  });
});
