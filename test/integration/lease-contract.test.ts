/**
 * The one-writer lease's contract, run the same way on every implementation: in memory (tests and
 * the chaos model), DynamoDB on moto with the real SDK (the deployed registrar, rotation and CLI),
 * and the lease file of `--secret-file` (two CLI processes on one machine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '../../functions/adapters/aws/dynamodb-lease.js';
import { FileLeaseStore } from '../../functions/adapters/local/file-lease.js';
import {
  isBusy,
  type LeaseBusy,
  type LeaseGrant,
  type LeaseIntent,
  LeaseLostError,
  type LeaseStore,
  MemoryLeaseStore,
} from '../../functions/core/lease.js';
import { motoStateTable } from '../support/state-table.js';

const clock = { t: 1_700_000_000_000 };
const now = () => clock.t;
let dir = '';
let table: Awaited<ReturnType<typeof motoStateTable>>;
let files = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lease-'));
  table = await motoStateTable('lease');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const implementations: [string, () => LeaseStore][] = [
  ['memory', () => new MemoryLeaseStore(now)],
  ['DynamoDB (moto)', () => new DynamoLeaseStore(table.client, table.name, now)],
  ['file', () => new FileLeaseStore(join(dir, `secret-${++files}.json.lease`), now)],
];

const intent = (key: string): LeaseIntent => ({ op: 'rotate', endpointId: 'ep_1', key, base: 'v1', at: 1 });
const grant = (r: LeaseGrant | LeaseBusy): LeaseGrant => {
  if (isBusy(r)) throw new Error(`expected a grant, got busy (${r.holder})`);
  return r;
};
let names = 0;

describe.each(implementations)('Lease store contract: %s', (_label, make) => {
  it('grants a free lease, refuses a second owner while it is held, and grants it again after release', async () => {
    const store = make();
    const name = `l${++names}`;
    const a = grant(await store.tryAcquire(name, 'A', 60_000));
    expect(a.fence).toBe(1);
    expect(a.intent).toBeNull();
    const busy = await store.tryAcquire(name, 'B', 60_000);
    expect(isBusy(busy) && busy.holder).toBe('A');
    await store.release(a);
    const b = grant(await store.tryAcquire(name, 'B', 60_000));
    expect(b.fence).toBe(2);
  });

  it('lets another owner take an expired lease; the old holder can no longer record intents', async () => {
    const store = make();
    const name = `l${++names}`;
    const a = grant(await store.tryAcquire(name, 'A', 60_000));
    clock.t += 60_001;
    const b = grant(await store.tryAcquire(name, 'B', 60_000));
    expect(b.fence).toBeGreaterThan(a.fence);
    await expect(store.setIntent(a, intent('k'))).rejects.toBeInstanceOf(LeaseLostError);
    await store.release(a); // a stale release changes nothing
    expect(isBusy(await store.tryAcquire(name, 'C', 60_000))).toBe(true);
    await store.setIntent(b, intent('kb'));
  });

  it('refuses an intent from a holder whose lease expired, even if nobody took it yet', async () => {
    const store = make();
    const name = `l${++names}`;
    const a = grant(await store.tryAcquire(name, 'A', 60_000));
    clock.t += 60_001;
    await expect(store.setIntent(a, intent('k'))).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('keeps an intent across release and expiry, for the next holder to replay; clearing removes it', async () => {
    const store = make();
    const name = `l${++names}`;
    const a = grant(await store.tryAcquire(name, 'A', 60_000));
    await store.setIntent(a, intent('k1'));
    clock.t += 120_000; // A died holding it
    const b = grant(await store.tryAcquire(name, 'B', 60_000));
    expect(b.intent).toEqual(intent('k1'));
    await store.setIntent(b, null);
    await store.release(b);
    const c = grant(await store.tryAcquire(name, 'C', 60_000));
    expect(c.intent).toBeNull();
  });

  it('grants exactly one of many simultaneous acquirers (10 rounds of 12)', async () => {
    const store = make();
    for (let round = 0; round < 10; round++) {
      const name = `l${++names}`;
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.tryAcquire(name, `W${i}`, 60_000)));
      expect(
        results.filter((r) => !isBusy(r)),
        `round ${round}`,
      ).toHaveLength(1);
    }
  });
});
