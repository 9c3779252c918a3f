/**
 * Issue 20 finding 1 on DynamoDB (moto), through the ingress core and the real dedup store: two
 * sources of one provider never share a record, and the upgrade to per-source keys loses no dedup:
 * records the earlier code wrote (`<provider>:<rest>`, for every source of a provider) are written
 * here item by item in that code's format, then the new code runs against them.
 */
import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDedupStore, SOURCE_KEYS_MARKER } from '../../functions/adapters/aws/dynamodb-dedup.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import type { DedupMode } from '../../functions/core/ports.js';
import { backfill } from '../../providers/heygen/runtime/backfill.js';
import { heygenEventKey } from '../../providers/heygen/runtime/event-key.js';
import { eventId } from '../../providers/runtime.js';
import { createPkTable } from '../support/dedup-table.js';
import { awsClientConfig } from '../support/moto.js';
import { heygenBody, swBody, TENANTS, type Tenant, tenantDelivery, tenantRelay } from '../support/tenants.js';

const WINDOW_S = 3600;
let client: DynamoDBClient;
const tables: string[] = [];

async function freshTable(): Promise<string> {
  const name = `source-keys-${randomBytes(4).toString('hex')}`;
  await createPkTable(client, name);
  tables.push(name);
  return name;
}

beforeAll(() => {
  client = new DynamoDBClient(awsClientConfig(inject('motoEndpoint')));
});

afterAll(async () => {
  for (const t of tables) await client?.send(new DeleteTableCommand({ TableName: t })).catch(() => {});
  client?.destroy();
});

/** The ingress's stores as functions/entries/ingress.ts builds them: one per mode, knowing every route's source. */
function storesFor(table: string, tenants: readonly Tenant[], now: () => number = Date.now) {
  const sources = Object.fromEntries(tenants.map((t) => [t.source, t.provider.name]));
  const stores = new Map<DedupMode, DynamoDedupStore>();
  return (_t: Tenant, mode: DedupMode) => {
    let s = stores.get(mode);
    if (!s) {
      s = new DynamoDedupStore(client, table, {
        windowSeconds: WINDOW_S,
        lockSeconds: 15,
        mode,
        legacyBodyKeys: true,
        sources,
        now,
      });
      stores.set(mode, s);
    }
    return s;
  };
}

/** A record exactly as the code before per-source keys wrote it (record mode's PutItem; claim mode's UpdateItem leaves the same attributes). */
async function writeOldRecord(table: string, key: string, nowMs = Date.now()): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: key },
        status: { S: 'COMPLETED' },
        owner: { S: 'before-the-upgrade' },
        expiresAt: { N: String(Math.floor(nowMs / 1000) + WINDOW_S) },
      },
    }),
  );
}

const status = (res: { body: string }) => JSON.parse(res.body) as { status: string; id: string };

describe('DynamoDB (moto): every source its own tenant', () => {
  it('source-keys-moto: two Standard Webhooks sources with the same webhook-id on one table are both published, each once', async () => {
    const table = await freshTable();
    const tenants = [TENANTS.replicate, TENANTS['svix-app']];
    const relay = tenantRelay(tenants, storesFor(table, tenants));
    for (const t of tenants)
      expect(status(await relay.ingress(tenantDelivery(t, swBody(t.source), 'msg_1'))).status).toBe('published');
    for (const t of tenants)
      expect(status(await relay.ingress(tenantDelivery(t, swBody(t.source), 'msg_1'))).status).toBe('duplicate');
    expect(relay.published.map((e) => e.source)).toEqual(['replicate', 'svix-app']);
    const items = (await client.send(new ScanCommand({ TableName: table }))).Items ?? [];
    const records = items.map((i) => i.pk?.S ?? '').filter((k) => !k.startsWith('dedup-meta#'));
    expect(records.sort()).toEqual(relay.published.map((e) => e.id).sort());
    expect(records.every((k) => /^(replicate|svix-app):[0-9a-f]{64}$/.test(k))).toBe(true);
  });
});

describe('DynamoDB (moto): the upgrade to per-source keys (records of before recognised for one dedup window)', () => {
  for (const mode of ['record', 'claim'] as const)
    it(`source-keys-migration (${mode}): a second account's event recorded under the old key is a duplicate; the default account's key never changed`, async () => {
      const table = await freshTable();
      const staging: Tenant = {
        ...TENANTS['heygen-staging'],
        provider: { ...TENANTS['heygen-staging'].provider, defaultDedupMode: mode },
      };
      const heygen: Tenant = { ...TENANTS.heygen, provider: { ...TENANTS.heygen.provider, defaultDedupMode: mode } };
      const replicate: Tenant = { ...TENANTS.replicate, provider: { ...TENANTS.replicate.provider, defaultDedupMode: mode } };
      const before = { staging: heygenBody('v_staging_before'), heygen: heygenBody('v_default_before'), sw: swBody('before') };
      // Before the upgrade: every source of a provider wrote `<provider>:<rest>`.
      await writeOldRecord(table, eventId('heygen', Buffer.from(before.staging)));
      await writeOldRecord(table, eventId('heygen', Buffer.from(before.heygen)));
      await writeOldRecord(table, eventId('standard-webhooks', Buffer.from(''), { 'webhook-id': 'msg_before' }));
      expect(eventId('heygen', Buffer.from(before.staging))).toMatch(/^heygen:evt:/);

      const tenants = [heygen, staging, replicate];
      const relay = tenantRelay(tenants, storesFor(table, tenants));
      const again = [
        await relay.ingress(tenantDelivery(staging, before.staging)),
        await relay.ingress(tenantDelivery(heygen, before.heygen)),
        await relay.ingress(tenantDelivery(replicate, before.sw, 'msg_before')),
      ];
      expect(again.map((r) => [r.statusCode, status(r).status])).toEqual([
        [200, 'duplicate'],
        [200, 'duplicate'],
        [200, 'duplicate'],
      ]);
      expect(relay.published).toHaveLength(0);
      // The default source's key is the key of before; the others are per source now.
      expect(status(again[1] as { body: string }).id).toBe(eventId('heygen', Buffer.from(before.heygen)));
      expect(status(again[0] as { body: string }).id).toMatch(/^heygen-staging:evt:/);
      expect(status(again[2] as { body: string }).id).toMatch(/^replicate:[0-9a-f]{64}$/);
      if (mode === 'claim') {
        // The new key is marked too: later copies need one read.
        const got = await client.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: status(again[0] as { body: string }).id } },
            ConsistentRead: true,
          }),
        );
        expect(got.Item?.status?.S).toBe('COMPLETED');
      }
      const marker = await client.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: SOURCE_KEYS_MARKER } }, ConsistentRead: true }),
      );
      expect(Number(marker.Item?.since?.N)).toBeGreaterThan(0);
      // New events of every source are published once.
      for (const t of tenants) {
        const body = t.provider.name === 'heygen' ? heygenBody(`v_${t.source}_after`) : swBody('after');
        expect(status(await relay.ingress(tenantDelivery(t, body, 'msg_after'))).status).toBe('published');
      }
      expect(relay.published.map((e) => e.source)).toEqual(['heygen', 'heygen-staging', 'replicate']);
    });

  it('source-keys-migration-window: one dedup window after the first per-source key, the old keys are no longer read', async () => {
    const table = await freshTable();
    let now = Date.now();
    const tenants = [TENANTS['heygen-staging']];
    const relay = tenantRelay(
      tenants,
      storesFor(table, tenants, () => now),
      { now: () => now },
    );
    // The first delivery after the upgrade starts the window (the marker).
    expect(status(await relay.ingress(tenantDelivery(TENANTS['heygen-staging'], heygenBody('v_first')))).status).toBe(
      'published',
    );
    // An old record still live in DynamoDB, but written before the upgrade (its scheme's window is over).
    now += (WINDOW_S + 1) * 1000;
    const body = heygenBody('v_late');
    await writeOldRecord(table, eventId('heygen', Buffer.from(body)), now);
    const fresh = tenantRelay(
      tenants,
      storesFor(table, tenants, () => now),
      { now: () => now },
    );
    expect(status(await fresh.ingress(tenantDelivery(TENANTS['heygen-staging'], body))).status).toBe('published');
  });

  it("source-keys-migration-default-source: a second Standard Webhooks source's new message is published though the default source recorded the same webhook-id after the upgrade", async () => {
    const table = await freshTable();
    // The provider's default source (id `standard-webhooks`: its keys are the keys of before) and a second sender.
    const primary: Tenant = {
      source: 'standard-webhooks',
      provider: TENANTS.replicate.provider,
      secret: 'whsec_ZGVmYXVsdC1zdy1zb3VyY2Utc2VjcmV0LTAxMjM0NTY3',
    };
    const tenants = [primary, TENANTS.replicate];
    const relay = tenantRelay(tenants, storesFor(table, tenants));
    // Sequential message ids are common: both senders send `msg_1`, each its own message, after the upgrade.
    expect(status(await relay.ingress(tenantDelivery(primary, swBody('primary'), 'msg_1'))).status).toBe('published');
    const second = await relay.ingress(tenantDelivery(TENANTS.replicate, swBody('replicate'), 'msg_1'));
    expect([second.statusCode, status(second).status]).toEqual([200, 'published']);
    expect(relay.published.map((e) => e.source)).toEqual(['standard-webhooks', 'replicate']);
  });

  it('source-keys-migration-backfill: the backfill of a second account finds an event recorded under the old key, and its own live deliveries', async () => {
    const table = await freshTable();
    const recordedBefore = heygenBody('v_backfill_before');
    const liveAfter = heygenBody('v_backfill_after');
    await writeOldRecord(table, eventId('heygen', Buffer.from(recordedBefore)));
    const staging = TENANTS['heygen-staging'];
    const relay = tenantRelay([staging], storesFor(table, [staging]));
    expect(status(await relay.ingress(tenantDelivery(staging, liveAfter))).status).toBe('published');
    // The backfill's stores as providers/heygen/runtime/entries/backfill.ts builds them for RELAY_SOURCE=heygen-staging.
    const options = { windowSeconds: WINDOW_S, legacyBodyKeys: true, sources: { 'heygen-staging': 'heygen' } };
    const now = Date.now();
    const entry = (body: string, n: number) => ({
      eventId: `whe_${n}`,
      eventType: 'avatar_video.success',
      createdAt: new Date(now - 3_600_000).toISOString(),
      body,
      eventKey: heygenEventKey(body),
    });
    const bus: RelayEvent[] = [];
    const summary = await backfill(
      { sinceMs: now - 7_200_000 },
      {
        history: { listEvents: async () => ({ events: [entry(recordedBefore, 1), entry(liveAfter, 2)], nextToken: null }) },
        check: new DynamoDedupStore(client, table, { ...options, lockSeconds: 15, mode: 'record' }),
        claim: new DynamoDedupStore(client, table, { ...options, lockSeconds: 360, mode: 'claim' }),
        publisher: { publish: async (e) => void bus.push(e) },
        source: 'heygen-staging',
        now: () => now,
      },
    );
    expect([summary.backfilled, summary.alreadyPublished, bus.length]).toEqual([0, 2, 0]);
  });
});
