/**
 * Issue 19, chaos kind `lockout/skew` (`npm run chaos -- --seed 830901640 --path 1178` at 4c3e6c4):
 * diagnosed as the model's judgement, not the relay's (docs/chaos-model.md).
 *
 * The chain: HeyGen's clock 6 min behind ours. Our first two deliveries (11-29 00:00) were signed with
 * the stored secret and refused as stale (rule 5 records their keys). At 00:05 a person rotated the
 * secret in HeyGen's dashboard; no delivery of ours came after it until the quiet phase, so no hourly
 * registrar run had an entry to prove the secret dead (in_sync, correctly: no proof). At 12-01 02:00 a
 * person edited our URL away; the quiet run (02:10) patched it back, which by design starts the proof
 * window at that patch plus the grace (proof.ts `MISMATCH_GRACE_MS`: 02:15). The model then sent the
 * two deliveries meant as proof at grace + 60 s on OUR clock (02:16, 02:18): both refused for their
 * signature (the dashboard's secret; no stale record, so rule 5 played no part), but HeyGen stamped
 * their entries with ITS clock, 02:10 and 02:12, inside the grace. The next run found no entry in the
 * window (02:15..02:30) and could not heal; the model called it a lockout.
 *
 * The relay's proof compares HeyGen's `created_at` with its own marks without slack: HeyGen's clock
 * behind ours delays the first usable entry by the skew (bounded: the next entry after the grace on
 * HeyGen's clock proves it), it never makes a false proof. The model's quiet traffic was meant to come
 * after the grace (chaos-lockout-model.test.ts, lockout-quiet-proof); it now comes after it on HeyGen's
 * clock too, and the registrar heals on it. Both cases below failed with the old model (lockout/skew).
 */
import { describe, expect, it } from 'vitest';
import type { FakeHeyGenApi } from '../fakes/heygen-api.js';
import { exploreScenario } from '../support/chaos-explore.js';
import { useChaosHeyGen } from '../support/fake-heygen.js';
import type { ChaosScenario } from '../support/lifecycle-chaos.js';

/** The replay's shape without its incidental actors and faults: a dashboard rotation, later our URL edited away. */
const rotatedThenUrlEdited = (heygenSkewSeconds: number): ChaosScenario => ({
  initial: 'registered',
  dedupMode: 'record',
  history: 'unbounded',
  heygenSkewSeconds,
  actors: [
    { kind: 'provider', op: 'dashboard-rotate' },
    { kind: 'provider', op: 'edit-url' },
  ],
  startMinutes: [5, 2950], // the URL edited between two scheduled runs (as in the replay): the quiet run patches it back
  ticks: [],
});

const explore = (heygen: FakeHeyGenApi, scenario: ChaosScenario) => exploreScenario(heygen, scenario, { seed: 1178 });

describe('Issue 19 lockout/skew: the quiet proof comes after the grace on HeyGen clock too', () => {
  const server = useChaosHeyGen();

  it('lockout-skew-quiet-proof: HeyGen 6 min behind (beyond the tolerance), dashboard rotation, URL patched back: the quiet run heals', async () => {
    const r = await explore(server.fake, rotatedThenUrlEdited(-360));
    expect(r.kinds).toEqual([]); // the old model: lockout/skew at quiet
    expect(r.coverage.heals ?? 0).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('lockout-skew-within-tolerance: HeyGen 4 min behind (deliveries accepted once healed): the quiet run heals', async () => {
    const r = await explore(server.fake, rotatedThenUrlEdited(-240));
    expect(r.kinds).toEqual([]); // the old model: lockout/skew at quiet
    expect(r.coverage.heals ?? 0).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
