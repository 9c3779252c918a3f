/**
 * Issue 19, needless-rotation: the evidence keeps WHICH deliveries the ingress refused (their event
 * keys), one record per key, looked up by key (`refusedAt`), the same contract in memory and in the
 * state table on moto with the real SDK (one conditional UpdateItem per key: the ingress's role may not
 * read). Review 3 (review3-slow-flood-blocks-heal): no stranger's key can crowd another key out. The
 * memory store also keeps the older bounded list (`refusedKeys`, core/evidence.ts addRefusedKey).
 */

import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEvidenceStore, refusedKeyItem, staleKeyItem } from '../../functions/adapters/aws/dynamodb-evidence.js';
import {
  type EvidenceStore,
  MemoryEvidenceStore,
  REFUSED_KEY_KEEP_MS,
  REFUSED_KEY_TTL_MS,
  REFUSED_KEYS_CAPACITY,
  staleKeyTtlMs,
} from '../../functions/core/evidence.js';
import { motoStateTable } from '../support/state-table.js';

let table: Awaited<ReturnType<typeof motoStateTable>>;
let n = 0;
beforeAll(async () => {
  table = await motoStateTable('evidence');
});
afterAll(() => {
  table.client.destroy();
});

const stores: [string, () => EvidenceStore][] = [
  ['memory', () => new MemoryEvidenceStore()],
  ['DynamoDB (moto)', () => new DynamoEvidenceStore(table.client, table.name)],
];
const T0 = Date.parse('2026-12-01T00:00:00Z');
const keyOf = (i: number) => `heygen:evt:${i.toString(16).padStart(64, '0')}`;

describe.each(stores)('Refused keys, one record per key: %s', (_label, make) => {
  const source = () => `src-${++n}`;

  it('records each refused key with its time, beside the stamps, and moves a key forward only', async () => {
    const store = make();
    const p = source();
    expect(await store.refusedAt?.(p, keyOf(1))).toBeNull();
    await store.record(p, 'signature', T0);
    await store.recordRefusedKey?.(p, keyOf(1), T0);
    await store.recordRefusedKey?.(p, keyOf(2), T0 + 5);
    await store.recordRefusedKey?.(p, keyOf(1), T0 + 9); // refused again: its time moves forward
    await store.recordRefusedKey?.(p, keyOf(2), T0 + 1); // an older write arriving late: ignored
    expect((await store.read(p)).lastSignatureRejectionAt).toBe(T0);
    expect(await store.refusedAt?.(p, keyOf(1))).toBe(T0 + 9);
    expect(await store.refusedAt?.(p, keyOf(2))).toBe(T0 + 5);
    await store.record(p, 'failure', T0 + 20); // the other evidence leaves the keys as they are
    expect(await store.refusedAt?.(p, keyOf(2))).toBe(T0 + 5);
  });

  it("review3-slow-flood: a stranger's refusals (distinct keys, however many) never crowd out a key refused before, during or after them", async () => {
    const store = make();
    const p = source();
    const before = keyOf(0xbeef);
    const during = keyOf(0xcafe);
    await store.recordRefusedKey?.(p, before, T0);
    for (let i = 1; i <= 4 * REFUSED_KEYS_CAPACITY; i++) {
      await store.recordRefusedKey?.(p, keyOf(i), T0 + i * 60_000); // one a minute
      if (i === 2 * REFUSED_KEYS_CAPACITY) await store.recordRefusedKey?.(p, during, T0 + i * 60_000 + 1);
    }
    expect(await store.refusedAt?.(p, before)).toBe(T0);
    expect(await store.refusedAt?.(p, during)).toBe(T0 + 2 * REFUSED_KEYS_CAPACITY * 60_000 + 1);
    expect(await store.refusedAt?.(p, keyOf(4 * REFUSED_KEYS_CAPACITY))).toBe(T0 + 4 * REFUSED_KEYS_CAPACITY * 60_000);
  });

  it('review3-stale-signed-no-heal: keys refused as stale (signed with a live key) are kept apart from refused signatures', async () => {
    const store = make();
    const p = source();
    await store.recordStaleKey?.(p, keyOf(3), T0);
    await store.recordStaleKey?.(p, keyOf(3), T0 - 1); // an older write arriving late: ignored
    expect(await store.staleAt?.(p, keyOf(3))).toBe(T0);
    expect(await store.refusedAt?.(p, keyOf(3))).toBeNull(); // no refusal of its signature
    await store.recordRefusedKey?.(p, keyOf(4), T0 + 1);
    expect(await store.staleAt?.(p, keyOf(4))).toBeNull();
    expect(await store.staleAt?.(source(), keyOf(3))).toBeNull(); // per source
  });

  it('keeps the keys of each source apart', async () => {
    const store = make();
    const [a, b] = [source(), source()];
    await store.recordRefusedKey?.(a, keyOf(7), T0);
    expect(await store.refusedAt?.(b, keyOf(7))).toBeNull();
  });
});

describe('review4-stale-outlives-window: a stale key is kept as long as its entry can stand in the proof window', () => {
  const HOUR = 3_600_000;
  it('kept for the dedup window (never less than a refused key): the table TTL of a stale key with a 72 h window is 72 h, a refused key 24 h', async () => {
    expect(staleKeyTtlMs(72 * HOUR)).toBe(72 * HOUR);
    expect(staleKeyTtlMs(HOUR)).toBe(REFUSED_KEY_TTL_MS);
    const store = new DynamoEvidenceStore(table.client, table.name, { staleKeyTtlMs: staleKeyTtlMs(72 * HOUR) });
    const p = `src-${++n}`;
    await store.recordStaleKey(p, keyOf(5), T0);
    await store.recordRefusedKey(p, keyOf(6), T0);
    const purgeAt = async (pk: string) =>
      Number((await table.client.send(new GetItemCommand({ TableName: table.name, Key: { pk: { S: pk } } }))).Item?.purgeAt?.N);
    expect(await purgeAt(staleKeyItem(p, keyOf(5)))).toBe((T0 + 72 * HOUR) / 1000);
    expect(await purgeAt(refusedKeyItem(p, keyOf(6)))).toBe((T0 + REFUSED_KEY_TTL_MS) / 1000);
  });

  it('in memory too: a stale key 30 h old is still there with the default 48 h window; a refused key of the same age is gone', async () => {
    const store = new MemoryEvidenceStore();
    const p = 'heygen';
    await store.recordStaleKey(p, keyOf(1), T0);
    await store.recordRefusedKey(p, keyOf(1), T0);
    // The memory store prunes every 1024th record; fill up to it 30 h later.
    for (let i = 2; store.stales.size % 1024 !== 0 || store.stales.size < 1024; i++)
      await store.recordStaleKey(p, keyOf(i), T0 + 30 * HOUR);
    for (let i = 2; store.refusals.size % 1024 !== 0 || store.refusals.size < 1024; i++)
      await store.recordRefusedKey(p, keyOf(i), T0 + 30 * HOUR);
    expect(await store.staleAt(p, keyOf(1))).toBe(T0);
    expect(await store.refusedAt(p, keyOf(1))).toBeNull();
  });
});

describe('MemoryEvidenceStore: the older bounded list it still shows', () => {
  it("a flood of strangers' refusals (distinct keys) cannot push out a key refused before it, within REFUSED_KEY_KEEP_MS", async () => {
    const store = new MemoryEvidenceStore();
    const p = 'heygen';
    const genuine = keyOf(0xbeef);
    await store.recordRefusedKey(p, genuine, T0);
    for (let i = 1; i <= 3 * REFUSED_KEYS_CAPACITY; i++) await store.recordRefusedKey(p, keyOf(i), T0 + i * 1_000);
    let keys = (await store.read(p)).refusedKeys ?? [];
    expect(keys).toHaveLength(REFUSED_KEYS_CAPACITY);
    expect(keys.map((r) => r.key)).toContain(genuine);
    expect(keys.map((r) => r.key)).not.toContain(keyOf(3 * REFUSED_KEYS_CAPACITY));
    const later = T0 + REFUSED_KEY_KEEP_MS + 1;
    await store.recordRefusedKey(p, keyOf(0xcafe), later);
    keys = (await store.read(p)).refusedKeys ?? [];
    expect(keys.map((r) => r.key)).toContain(keyOf(0xcafe));
    expect(keys.map((r) => r.key)).not.toContain(genuine);
  });
});

describe('DynamoEvidenceStore (moto): the per-key item', () => {
  it('is `evidence#<source>#refused#<key>` with `purgeAt` (epoch s, the TTL attribute) REFUSED_KEY_TTL_MS after the refusal; racing writers keep the newest time', async () => {
    const store = new DynamoEvidenceStore(table.client, table.name);
    const p = `race-${++n}`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.recordRefusedKey(p, keyOf(100), T0 + i)));
    const got = await table.client.send(
      new GetItemCommand({ TableName: table.name, Key: { pk: { S: refusedKeyItem(p, keyOf(100)) } }, ConsistentRead: true }),
    );
    expect(Number(got.Item?.refusedAt?.N)).toBe(T0 + 11);
    expect(Number(got.Item?.purgeAt?.N)).toBe(Math.ceil((T0 + 11 + REFUSED_KEY_TTL_MS) / 1000));
    expect((await store.read(p)).refusedKeys ?? []).toEqual([]); // the evidence item's list is no longer written
  });

  it('errors other than a failed condition throw (the recorder retries the key on its next refusal)', async () => {
    const client = {
      send: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    } as unknown as ConstructorParameters<typeof DynamoEvidenceStore>[0];
    await expect(new DynamoEvidenceStore(client, 'state').recordRefusedKey('heygen', keyOf(1), T0)).rejects.toThrow('throttled');
  });
});
