/**
 * Issue 19's persistent state, the same contract on every implementation: the heal journal (in memory
 * and in the state table on moto with the real SDK), and an intent's count of failed answers, which
 * must survive every lease store (the next holder gives the key up after MAX_REPLAY_FAILURES).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoHealJournal } from '../../functions/adapters/aws/dynamodb-heal-journal.js';
import { DynamoLeaseStore } from '../../functions/adapters/aws/dynamodb-lease.js';
import { FileLeaseStore } from '../../functions/adapters/local/file-lease.js';
import { HEAL_JOURNAL_KEEP, type HealJournal, MemoryHealJournal } from '../../functions/core/heal-journal.js';
import { isBusy, type LeaseStore, MemoryLeaseStore } from '../../functions/core/lease.js';
import { motoStateTable } from '../support/state-table.js';

let table: Awaited<ReturnType<typeof motoStateTable>>;
let dir = '';
let n = 0;
beforeAll(async () => {
  table = await motoStateTable('heal');
  dir = await mkdtemp(join(tmpdir(), 'heal-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const journals: [string, () => HealJournal][] = [
  ['memory', () => new MemoryHealJournal()],
  ['DynamoDB (moto)', () => new DynamoHealJournal(table.client, table.name, `heygen:arn:secret-${++n}`)],
];

describe('Heal journal in DynamoDB (moto): a sighting this version of the relay did not write', () => {
  // A newer relay's format (read back after a rollback), or a hand edit: it reads as none (or as a
  // sighting whose serialization differs). The compare-and-set must still replace it, or no sighting
  // is ever recorded and a dead secret is never proved (no heal, and no warning either).
  const foreign = async (raw: string) => {
    const leaseName = `heygen:arn:secret-${++n}`;
    await table.client.send(
      new UpdateItemCommand({
        TableName: table.name,
        Key: { pk: { S: `heal#${leaseName}` } },
        UpdateExpression: 'SET sighting = :s',
        ExpressionAttributeValues: { ':s': { S: raw } },
      }),
    );
    return new DynamoHealJournal(table.client, table.name, leaseName);
  };
  const next = { version: 'v2', previous: 'v1', since: 5_000 };

  it('sighting-foreign-format-replaced: one that does not parse is replaced as none', async () => {
    const j = await foreign('{"version":"v1","previous":null,"since":"2026-12-07T16:00:00Z"}');
    expect(await j.readSighting()).toBeNull();
    expect(await j.recordSighting(next, null)).toBe(true);
    expect(await j.readSighting()).toEqual(next);
  });

  it('sighting-foreign-key-order-replaced: one that parses but was serialized otherwise is replaced as read', async () => {
    const j = await foreign('{"since":1000,"version":"v1","previous":null}');
    const seen = await j.readSighting();
    expect(seen).toEqual({ version: 'v1', previous: null, since: 1_000 });
    expect(await j.recordSighting(next, seen)).toBe(true);
    expect(await j.readSighting()).toEqual(next);
  });

  it('still writes nothing over a different sighting than expected (foreign format or not)', async () => {
    const j = await foreign('{"since":1000,"version":"v1","previous":null}');
    expect(await j.recordSighting(next, null)).toBe(false);
    expect(await j.recordSighting(next, { version: 'v1', previous: null, since: 999 })).toBe(false);
    expect(await j.readSighting()).toEqual({ version: 'v1', previous: null, since: 1_000 });
  });
});

describe.each(journals)('Heal journal contract: %s', (_label, make) => {
  it('reads empty, then every takeover oldest first, keeping the newest HEAL_JOURNAL_KEEP', async () => {
    const j = make();
    expect(await j.read()).toEqual([]);
    await j.record({ at: 2_000, kind: 'heal', endpointId: 'ep_1' });
    await j.record({ at: 1_000, kind: 'adopt', endpointId: 'ep_1' });
    expect(await j.read()).toEqual([
      { at: 1_000, kind: 'adopt', endpointId: 'ep_1' },
      { at: 2_000, kind: 'heal', endpointId: 'ep_1' },
    ]);
    for (let i = 0; i < HEAL_JOURNAL_KEEP + 3; i++) await j.record({ at: 10_000 + i, kind: 'heal', endpointId: 'ep_2' });
    const kept = await j.read();
    expect(kept).toHaveLength(HEAL_JOURNAL_KEEP);
    expect(kept.at(-1)?.at).toBe(10_000 + HEAL_JOURNAL_KEEP + 2);
  });

  it('records the sighting of the labels compare-and-set: none, then ours; a stale expectation writes nothing', async () => {
    const j = make();
    expect(await j.readSighting()).toBeNull();
    const first = { version: 'v1', previous: null, since: 1_000 };
    expect(await j.recordSighting(first, null)).toBe(true);
    expect(await j.readSighting()).toEqual(first);
    const second = { version: 'v2', previous: 'v1', since: 2_000 };
    expect(await j.recordSighting(second, null)).toBe(false); // another writer recorded one meanwhile
    expect(await j.recordSighting(second, { ...first, since: 999 })).toBe(false);
    expect(await j.recordSighting(second, first)).toBe(true);
    expect(await j.readSighting()).toEqual(second);
    // The takeovers and the sighting live side by side.
    await j.record({ at: 3_000, kind: 'heal', endpointId: 'ep_1' });
    expect(await j.readSighting()).toEqual(second);
    expect(await j.read()).toEqual([{ at: 3_000, kind: 'heal', endpointId: 'ep_1' }]);
  });

  it('keeps one journal per lease name (per source)', async () => {
    const a = make();
    const b = make();
    await a.record({ at: 5, kind: 'heal', endpointId: 'ep_a' });
    expect(await b.read()).toEqual([]);
  });
});

const leases: [string, () => LeaseStore][] = [
  ['memory', () => new MemoryLeaseStore()],
  ['DynamoDB (moto)', () => new DynamoLeaseStore(table.client, table.name)],
  ['file', () => new FileLeaseStore(join(dir, `secret-${++n}.json.lease`))],
];

describe.each(leases)('An intent keeps its count of failed answers: %s', (_label, make) => {
  it('the next holder reads replayFailures as recorded', async () => {
    const store = make();
    const name = `heygen:count-${++n}`;
    const g = await store.tryAcquire(name, 'first', 60_000);
    if (isBusy(g)) throw new Error('busy');
    await store.setIntent(g, { op: 'rotate', endpointId: 'ep_1', key: 'k-1', base: 'v1', at: 1, replayFailures: 2 });
    await store.release(g);
    const next = await store.tryAcquire(name, 'second', 60_000);
    if (isBusy(next)) throw new Error('busy');
    expect(next.intent?.replayFailures).toBe(2);
  });
});
