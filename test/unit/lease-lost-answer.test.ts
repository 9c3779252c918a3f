/**
 * Issue 19, chaos kind `rotation-blocked` (`npm run chaos -- --seed 1932332816 --path 759`): a
 * scheduled registrar run's lease acquire landed but its answer was lost. The run failed without
 * knowing it held the lease, so the lease stayed taken for its whole TTL (4 min), and the rotation
 * Secrets Manager started meanwhile gave up on every retry of createSecret (busy), as did the next
 * registrar run (`busy`). `withLease` now asks once more as the same owner: the store hands the
 * grant back, the run goes on and lets go.
 */
import { describe, expect, it } from 'vitest';
import { LeaseBusyError, type LeaseStore, MemoryLeaseStore, withLease } from '../../functions/core/lease.js';
import { LEASE_TTL_MS, LEASE_WAIT_MS } from '../../providers/heygen/runtime/registrar.js';

const lostAnswer = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });

/** `inner`, whose first `failures` acquires take effect and then lose their answer. */
function losingAnswers(inner: MemoryLeaseStore, failures: number): LeaseStore & { calls: number } {
  const store = {
    name: inner.name,
    calls: 0,
    async tryAcquire(name: string, owner: string, ttlMs: number) {
      store.calls++;
      const r = await inner.tryAcquire(name, owner, ttlMs);
      if (store.calls <= failures) throw lostAnswer();
      return r;
    },
    setIntent: inner.setIntent.bind(inner),
    release: inner.release.bind(inner),
  };
  return store;
}

describe('Issue 19 rotation-blocked: a lease acquire whose answer was lost', () => {
  it('lease-lost-answer: the registrar run whose acquire landed but lost its answer goes on and lets go; a rotation step right after takes the lease at once', async () => {
    let t = Date.parse('2026-11-29T10:30:00Z');
    const now = () => t;
    const sleep = async (ms: number) => {
      t += ms;
    };
    const leases = new MemoryLeaseStore(now);
    const registrar = losingAnswers(leases, 1);
    const ran = await withLease(
      registrar,
      'heygen:secret',
      { owner: 'hourly-registrar', ttlMs: LEASE_TTL_MS, now, sleep },
      async () => 'reconciled',
    );
    expect(ran).toBe('reconciled');
    expect(registrar.calls).toBe(2);
    // Secrets Manager's createSecret, one minute later: its lease wait is far shorter than the lease's TTL.
    t += 60_000;
    const step = await withLease(
      leases,
      'heygen:secret',
      { owner: 'rotation-createSecret', ttlMs: LEASE_TTL_MS, waitMs: LEASE_WAIT_MS, now, sleep },
      async () => 'created',
    );
    expect(step).toBe('created');
  });

  it('lease-lost-answer-twice: when the second ask fails as well, the first error stands (nothing is run)', async () => {
    const leases = new MemoryLeaseStore(() => 0);
    const store = losingAnswers(leases, 2);
    let ran = false;
    await expect(
      withLease(store, 'heygen:secret', { owner: 'a', ttlMs: LEASE_TTL_MS }, async () => {
        ran = true;
      }),
    ).rejects.toThrow('socket hang up');
    expect(ran).toBe(false);
    expect(store.calls).toBe(2);
    // Held until it expires (nobody knows they hold it): what the second ask cannot undo.
    await expect(withLease(leases, 'heygen:secret', { owner: 'b', ttlMs: LEASE_TTL_MS }, async () => 'x')).rejects.toBeInstanceOf(
      LeaseBusyError,
    );
  });
});
