/**
 * Issue 19, needless-rotation: the evidence item keeps WHICH deliveries the ingress refused (their
 * event keys), bounded, the same contract in memory and in the state table on moto with the real SDK
 * (conditional UpdateItems only: the ingress's role may not read the item).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEvidenceStore } from '../../functions/adapters/aws/dynamodb-evidence.js';
import {
  type EvidenceStore,
  MemoryEvidenceStore,
  REFUSED_KEY_KEEP_MS,
  REFUSED_KEYS_CAPACITY,
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
const sorted = (list: readonly { key: string; at: number }[] | undefined) => [...(list ?? [])].sort((a, b) => a.at - b.at);

describe.each(stores)('Refused keys in the evidence item: %s', (_label, make) => {
  const source = () => `src-${++n}`;

  it('records distinct refused keys with their time, beside the stamps, and moves a key forward only', async () => {
    const store = make();
    const p = source();
    expect((await store.read(p)).refusedKeys ?? []).toEqual([]);
    await store.record(p, 'signature', T0);
    await store.recordRefusedKey?.(p, keyOf(1), T0);
    await store.recordRefusedKey?.(p, keyOf(2), T0 + 5);
    await store.recordRefusedKey?.(p, keyOf(1), T0 + 9); // refused again: its time moves forward
    await store.recordRefusedKey?.(p, keyOf(2), T0 + 1); // an older write arriving late: ignored
    const got = await store.read(p);
    expect(got.lastSignatureRejectionAt).toBe(T0);
    expect(sorted(got.refusedKeys)).toEqual([
      { key: keyOf(2), at: T0 + 5 },
      { key: keyOf(1), at: T0 + 9 },
    ]);
    await store.record(p, 'failure', T0 + 20); // the other evidence leaves the keys as they are
    expect(sorted((await store.read(p)).refusedKeys)).toHaveLength(2);
  });

  it("a flood of strangers' refusals (distinct keys) cannot push out a key refused before it, within REFUSED_KEY_KEEP_MS", async () => {
    const store = make();
    const p = source();
    const genuine = keyOf(0xbeef);
    await store.recordRefusedKey?.(p, genuine, T0);
    for (let i = 1; i <= 3 * REFUSED_KEYS_CAPACITY; i++) await store.recordRefusedKey?.(p, keyOf(i), T0 + i * 1_000);
    let keys = (await store.read(p)).refusedKeys ?? [];
    expect(keys).toHaveLength(REFUSED_KEYS_CAPACITY);
    expect(keys.map((r) => r.key)).toContain(genuine);
    // The flood's later keys were dropped (the list was full of recent refusals), not the first ones.
    expect(keys.map((r) => r.key)).not.toContain(keyOf(3 * REFUSED_KEYS_CAPACITY));
    // Once the oldest is older than the keep time, a new key takes its place (a flood delays, never evicts early).
    const later = T0 + REFUSED_KEY_KEEP_MS + 1;
    await store.recordRefusedKey?.(p, keyOf(0xcafe), later);
    keys = (await store.read(p)).refusedKeys ?? [];
    expect(keys).toHaveLength(REFUSED_KEYS_CAPACITY);
    expect(keys.map((r) => r.key)).toContain(keyOf(0xcafe));
    expect(keys.map((r) => r.key)).not.toContain(genuine);
  });

  it('keeps one list per source', async () => {
    const store = make();
    const [a, b] = [source(), source()];
    await store.recordRefusedKey?.(a, keyOf(7), T0);
    expect((await store.read(b)).refusedKeys ?? []).toEqual([]);
  });
});

describe('DynamoEvidenceStore (moto): concurrent writers of refused keys', () => {
  it('writers racing on a new item and on a full list keep the list distinct and bounded', async () => {
    const store = new DynamoEvidenceStore(table.client, table.name);
    const p = source2();
    await Promise.all(Array.from({ length: 24 }, (_, i) => store.recordRefusedKey(p, keyOf(100 + (i % 20)), T0 + i)));
    const keys = (await store.read(p)).refusedKeys ?? [];
    expect(keys.length).toBeLessThanOrEqual(REFUSED_KEYS_CAPACITY);
    expect(new Set(keys.map((r) => r.key)).size).toBe(keys.length);
    expect(keys.length).toBeGreaterThan(0);
  });
});

function source2(): string {
  return `race-${++n}`;
}

describe('DynamoEvidenceStore: DynamoDB refusing the path of a map not yet there', () => {
  it('creates the map when the first UpdateItem is refused with "document path … invalid" (real DynamoDB may check the path before the condition)', async () => {
    const sent: string[] = [];
    const client = {
      send: async (command: { input: { UpdateExpression?: string } }) => {
        sent.push(command.input.UpdateExpression ?? '');
        if (sent.length === 1)
          throw Object.assign(new Error('The document path provided in the update expression is invalid for update'), {
            name: 'ValidationException',
          });
        return {};
      },
    } as unknown as ConstructorParameters<typeof DynamoEvidenceStore>[0];
    await new DynamoEvidenceStore(client, 'state').recordRefusedKey('heygen', keyOf(1), T0);
    expect(sent).toEqual(['SET refusedKeys.#k = :at', 'SET refusedKeys = :keys']);
  });

  it('other errors still throw (the recorder retries the key on its next refusal)', async () => {
    const client = {
      send: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    } as unknown as ConstructorParameters<typeof DynamoEvidenceStore>[0];
    await expect(new DynamoEvidenceStore(client, 'state').recordRefusedKey('heygen', keyOf(1), T0)).rejects.toThrow('throttled');
  });
});
