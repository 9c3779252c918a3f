/**
 * One HeyGen registrar on the fake HeyGen's virtual clock (memory secret store, lease and heal
 * journal) whose Lambda can be made to die at the two places a recorded intent matters: between
 * HeyGen's answer and storing the secret it answered, and when the intent's clearing lands but its
 * answer is lost. Used by the registrar's crash/replay tests.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import { MemorySigningSecretStore } from '../../functions/core/secret-store.js';
import { type ReconcileSummary, reconcile } from '../../providers/heygen/runtime/registrar.js';
import type { FakeHeyGen } from './fake-heygen.js';

export const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
export const ELSEWHERE = 'https://elsewhere.example.com/hooks/heygen';
export const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
export const HOUR = 3_600_000;

/** The registrar Lambda dying (nothing after the failing call runs). */
export class Crash extends Error {
  constructor() {
    super('the registrar Lambda died');
    this.name = 'Crash';
  }
}

export type CrashingRegistrar = ReturnType<typeof crashingRegistrarStack>;

/** A registrar for our endpoint at URL_A with EVENTS; `registerAndDie`/`loseNextClear` arm one fault each. */
export function crashingRegistrarStack(hg: FakeHeyGen) {
  const now = () => hg.clock.t;
  const store = new MemorySigningSecretStore(null, `sig-${randomUUID()}`, now);
  const heals = new MemoryHealJournal();
  const leases = new MemoryLeaseStore(now);
  const lease = { store: leases, name: `heygen:${store.name}`, now };
  const armed = { crashPut: false, loseClear: false };
  const put = store.put.bind(store);
  store.put = async (...args: Parameters<typeof store.put>) => {
    if (armed.crashPut) {
      armed.crashPut = false;
      throw new Crash();
    }
    return put(...args);
  };
  const setIntent = leases.setIntent.bind(leases);
  leases.setIntent = async (...args: Parameters<typeof leases.setIntent>) => {
    await setIntent(...args);
    if (args[1] === null && armed.loseClear) {
      armed.loseClear = false;
      throw new Error('InternalServerError'); // DynamoDB answered 5xx after writing
    }
  };
  const register = (): Promise<ReconcileSummary> =>
    reconcile({ url: URL_A, events: EVENTS }, { client: hg.client, secretStore: store, lease, heals, now });
  return {
    store,
    heals,
    register,
    /** The next clearing of the lease's intent lands but its answer is lost. */
    loseNextClear: () => {
      armed.loseClear = true;
    },
    /** A run that HeyGen answers and that dies before storing what HeyGen answered. */
    registerAndDie: async () => {
      armed.crashPut = true;
      await expect(register()).rejects.toBeInstanceOf(Crash);
    },
  };
}

/** Someone points endpoint `id` at another URL (ELSEWHERE). */
export function moveElsewhere(hg: FakeHeyGen, id: string): void {
  (hg.fake.endpoints.get(id) as { url: string }).url = ELSEWHERE;
}
