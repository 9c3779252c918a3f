/**
 * The DynamoDB dedup store's earlier-scheme check (`seenLegacy`, DEDUP_LEGACY_BODY_KEYS) against
 * moto, through the ingress core: a delivery recorded under the body key by the earlier code stays
 * recognised in both modes, its content key is marked, and with the check off the store has none.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDedupStore, LEGACY_MARKER } from '../../functions/adapters/aws/dynamodb-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { createMotoDedupTable, dropMotoDedupTable } from '../support/dedup-table.js';
import { heygenRoute } from '../support/heygen-ingress.js';

const SECRET = 'whsec_test_dedup_legacy_0123456789';
const TABLE = `dedup-legacy-${randomBytes(4).toString('hex')}`;
let client: DynamoDBClient;

beforeAll(async () => {
  client = await createMotoDedupTable(TABLE);
});

afterAll(() => dropMotoDedupTable(client, TABLE));

const store = (mode: 'record' | 'claim', legacyBodyKeys = true) =>
  new DynamoDedupStore(client, TABLE, { windowSeconds: 3600, lockSeconds: 15, mode, legacyBodyKeys });

function ingressOver(dedup: DynamoDedupStore, published: RelayEvent[]) {
  return createIngress({
    maxBodyBytes: 1 << 16,
    publisher: { publish: async (e) => void published.push(e) },
    telemetry: captureTelemetry(),
    routes: [heygenRoute(SECRET, 5_000, dedup)],
  });
}

describe('DynamoDB (moto): deliveries recorded under the earlier body key', () => {
  for (const mode of ['record', 'claim'] as const)
    it(`mode ${mode}: recognised as a duplicate, the content key marked; a new body is published once`, async () => {
      const published: RelayEvent[] = [];
      const ingress = ingressOver(store(mode), published);
      const b = Buffer.from(
        JSON.stringify({
          event_type: 'avatar_video.success',
          event_data: { video_id: `v_${mode}_${randomBytes(4).toString('hex')}` },
        }),
      );
      // The earlier code recorded it under heygen:<sha256 of the body>, in record mode's shape.
      const old = store('record', false);
      const bodyKey = `heygen:${createHash('sha256').update(b).digest('hex')}`;
      expect(await old.claim(bodyKey, 'before-upgrade')).toBe('claimed');
      await old.complete(bodyKey, 'before-upgrade');
      const r = { method: 'POST', path: '/heygen', headers: { 'heygen-signature': sign(SECRET, b) }, body: b, requestId: 'r' };
      const res = await ingress(r);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'duplicate' });
      expect(published).toHaveLength(0);
      const id = JSON.parse(res.body).id as string;
      const item = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: id } }, ConsistentRead: true }));
      expect(item.Item?.status?.S).toBe('COMPLETED');
      const marker = await client.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: LEGACY_MARKER } }, ConsistentRead: true }),
      );
      expect(Number(marker.Item?.since?.N)).toBeGreaterThan(0);
      const fresh = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `n_${mode}` } }));
      const ok = await ingress({ ...r, headers: { 'heygen-signature': sign(SECRET, fresh) }, body: fresh });
      expect(JSON.parse(ok.body).status).toBe('published');
      expect(published).toHaveLength(1);
    });

  it('with the check off the store has no seenLegacy (the ingress then never computes the body key)', () => {
    expect(store('record', false).seenLegacy).toBeUndefined();
    expect(store('record', true).seenLegacy).toBeTypeOf('function');
  });
});
