/**
 * The dedup stores' contract in both modes (`record`, `claim`; functions/core/ports.ts), for the
 * in-process store and for the DynamoDB store against moto's DynamoDB, so the condition
 * expressions are evaluated by an emulator and not by our own fake. Also checks that the two
 * modes read each other's items (switching a live table's mode is safe).
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDedupStore } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import type { DedupMode, DedupStore } from '../../functions/core/ports.js';
import { createMotoDedupTable, dropMotoDedupTable } from '../support/dedup-table.js';

const WINDOW_S = 3600;
const LOCK_S = 15;
const TABLE = `dedup-modes-${randomBytes(4).toString('hex')}`;
let client: DynamoDBClient;

beforeAll(async () => {
  client = await createMotoDedupTable(TABLE);
});

afterAll(() => dropMotoDedupTable(client, TABLE));

/** A store factory with a shared, movable clock. */
type Factory = (mode: DedupMode, now: () => number) => DedupStore;
const STORES: Record<string, Factory> = {
  'DynamoDB (moto)': (mode, now) =>
    new DynamoDedupStore(client, TABLE, { windowSeconds: WINDOW_S, lockSeconds: LOCK_S, mode, now }),
  // One in-process store per mode cannot share items with another, so mixed-mode cases use DynamoDB only.
  memory: (mode, now) => new MemoryDedupStore({ windowSeconds: WINDOW_S, lockSeconds: LOCK_S, mode, now }),
};

const newKey = () => `heygen:${randomBytes(32).toString('hex')}`;

for (const [storeName, make] of Object.entries(STORES)) {
  for (const mode of ['record', 'claim'] as const) {
    describe(`Dedup store contract: ${storeName}, mode ${mode}`, () => {
      let clock = Date.now();
      const now = () => clock;
      const store = () => make(mode, now);

      it('a new key goes ahead; once completed, a copy is a duplicate', async () => {
        const s = store();
        const key = newKey();
        expect(await s.claim(key, 'a')).toBe('claimed');
        expect(await s.complete(key, 'a')).toBe('completed');
        expect(await s.claim(key, 'b')).toBe('duplicate');
      });

      it('a key is new again once the window has passed', async () => {
        const s = store();
        const key = newKey();
        await s.claim(key, 'a');
        await s.complete(key, 'a');
        clock += (WINDOW_S + 5) * 1000;
        expect(await s.claim(key, 'b')).toBe('claimed');
        clock = Date.now();
      });

      it('a released key (publish failed) goes ahead for the retry', async () => {
        const s = store();
        const key = newKey();
        expect(await s.claim(key, 'a')).toBe('claimed');
        await s.release(key, 'a');
        expect(await s.claim(key, 'b')).toBe('claimed');
        expect(await s.complete(key, 'b')).toBe('completed');
      });

      it('completing twice for the same owner (an SDK retry after a lost answer) is not a race', async () => {
        const s = store();
        const key = newKey();
        await s.claim(key, 'a');
        expect(await s.complete(key, 'a')).toBe('completed');
        expect(await s.complete(key, 'a')).toBe('completed');
      });

      if (mode === 'claim') {
        it('a copy that arrives mid-flight is in_flight until the claim completes or its lock expires', async () => {
          const s = store();
          const key = newKey();
          expect(await s.claim(key, 'a')).toBe('claimed');
          expect(await s.claim(key, 'b')).toBe('in_flight');
          clock += (LOCK_S + 1) * 1000;
          // The first request died without releasing: its lock lapses and the retry goes ahead, told
          // that it took over an unfinished claim (the first may have published).
          expect(await s.claim(key, 'b')).toBe('took_over');
          clock = Date.now();
        });
      } else {
        it('a copy that arrives mid-flight goes ahead too, and the later completion reports the race', async () => {
          const s = store();
          const key = newKey();
          expect(await s.claim(key, 'a')).toBe('claimed');
          expect(await s.claim(key, 'b')).toBe('claimed');
          expect(await s.complete(key, 'a')).toBe('completed');
          expect(await s.complete(key, 'b')).toBe('raced');
          expect(await s.claim(key, 'c')).toBe('duplicate');
        });

        it('writes nothing before the publish: a request that dies mid-flight leaves the key free', async () => {
          const s = store();
          const key = newKey();
          expect(await s.claim(key, 'a')).toBe('claimed');
          // No complete, no release (the function died): the provider's retry goes ahead at once.
          expect(await s.claim(key, 'b')).toBe('claimed');
          if (storeName !== 'memory') {
            const got = await client.send(
              new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }),
            );
            expect(got.Item).toBeUndefined();
          }
        });
      }
    });
  }
}

/**
 * Issue 19 (duplicate-uncounted): the store tells its caller when it goes ahead over another writer's
 * unfinished claim. Two stores over one table (the backfill's claim-mode view and the ingress's store);
 * the in-process ones share their items as the lifecycle model's views do.
 */
for (const [storeName, make] of Object.entries(STORES)) {
  describe(`Unfinished claims: ${storeName}`, () => {
    let clock = Date.now();
    const now = () => clock;
    const overOneTable = (mode: DedupMode): [DedupStore, DedupStore] => {
      const holder = make('claim', now);
      const other = make(mode, now);
      if (holder instanceof MemoryDedupStore)
        Object.assign(other, { entries: (holder as unknown as { entries: unknown }).entries });
      return [holder, other];
    };

    for (const mode of ['record', 'claim'] as const)
      it(`took-over-${mode}: past the lock of a claim another writer kept (its PutEvents answer lost), ${mode} mode goes ahead as took_over; its own claim again is plain claimed`, async () => {
        clock = Date.now();
        const [backfill, live] = overOneTable(mode);
        const key = newKey();
        expect(await backfill.claim(key, 'backfill-1')).toBe('claimed');
        expect(await live.claim(key, 'live-retry')).toBe('in_flight');
        clock += (LOCK_S + 1) * 1000;
        expect(await live.claim(key, 'live-retry')).toBe('took_over');
        if (mode === 'claim') {
          // Held by the taker now: its own claim after its lock (a dead request's retry of itself) is no takeover.
          clock += (LOCK_S + 1) * 1000;
          expect(await live.claim(key, 'live-retry')).toBe('claimed');
        }
        expect(await live.complete(key, 'live-retry')).toBe('completed');
        expect(await live.claim(key, 'later')).toBe('duplicate');
      });

    it('released-takeover-stays-unfinished: a claim that took over an unfinished one and is then released (its publish failed) leaves it unfinished, not free', async () => {
      clock = Date.now();
      const [backfill, live] = overOneTable('claim');
      const key = newKey();
      expect(await backfill.claim(key, 'backfill-1')).toBe('claimed');
      clock += (LOCK_S + 1) * 1000;
      expect(await live.claim(key, 'live-retry')).toBe('took_over');
      await live.release(key, 'live-retry');
      // The backfill's PutEvents may have landed: the next writer is told so at once (no lock to wait out).
      expect(await backfill.claim(key, 'backfill-2')).toBe('took_over');
      // A plain claim, released, frees the key as before.
      await backfill.complete(key, 'backfill-2');
      const other = newKey();
      expect(await live.claim(other, 'a')).toBe('claimed');
      await live.release(other, 'a');
      expect(await backfill.claim(other, 'b')).toBe('claimed');
    });

    it("record-over-live-claim: a record-mode write that replaces another writer's live claim (taken after its read) reports the race", async () => {
      clock = Date.now();
      const [backfill, live] = overOneTable('record');
      const key = newKey();
      expect(await live.claim(key, 'live')).toBe('claimed'); // the live copy reads first: nothing there
      expect(await backfill.claim(key, 'backfill-1')).toBe('claimed'); // then the backfill claims and publishes
      expect(await live.complete(key, 'live')).toBe('raced'); // both published: the live copy counts it
    });
  });
}

describe('Dedup modes share one DynamoDB table (switching modes on a live table)', () => {
  const dynamo = (mode: DedupMode) => new DynamoDedupStore(client, TABLE, { windowSeconds: WINDOW_S, lockSeconds: LOCK_S, mode });

  it('record mode waits for a claim that claim mode holds, and sees its completion', async () => {
    const key = newKey();
    expect(await dynamo('claim').claim(key, 'a')).toBe('claimed');
    expect(await dynamo('record').claim(key, 'b')).toBe('in_flight');
    await dynamo('claim').complete(key, 'a');
    expect(await dynamo('record').claim(key, 'b')).toBe('duplicate');
  });

  it("claim mode sees record mode's completion as a duplicate", async () => {
    const key = newKey();
    expect(await dynamo('record').claim(key, 'a')).toBe('claimed');
    expect(await dynamo('record').complete(key, 'a')).toBe('completed');
    expect(await dynamo('claim').claim(key, 'b')).toBe('duplicate');
  });
});
