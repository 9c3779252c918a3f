/**
 * Issue 20 finding 1, "every source its own tenant": the source id is part of every key that
 * identifies an event (envelope id, dedup record, in-flight slot, parked record, evidence item), so
 * two Standard Webhooks senders using the same `webhook-id`, or two HeyGen accounts delivering the
 * same content, never shadow each other. The DynamoDB side (and the upgrade) is in
 * test/integration/source-keys.test.ts.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { DirectoryParkedStore } from '../../functions/adapters/local/parked-dir.js';
import { sourceEventKey, sourceOfKey, unscopedEventKey } from '../../functions/core/event-key.js';
import { evidenceRecorder, MemoryEvidenceStore } from '../../functions/core/evidence.js';
import { parkedKey } from '../../functions/core/parked.js';
import { eventId } from '../../providers/runtime.js';
import { heygenBody, swBody, TENANTS, tenantDelivery, tenantRelay } from '../support/tenants.js';

const memory = (_t: unknown, mode: 'record' | 'claim') => new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode });
const status = (res: { body: string }) => JSON.parse(res.body) as { status: string; id: string };

describe('Issue 20 finding 1: every source its own tenant', () => {
  it('tenant-sw-same-webhook-id: two Standard Webhooks sources sending the same webhook-id are both published, each once', async () => {
    const { replicate, 'svix-app': svix } = TENANTS;
    const relay = tenantRelay([replicate, svix], memory);
    const a = await relay.ingress(tenantDelivery(replicate, swBody('a'), 'msg_1'));
    const b = await relay.ingress(tenantDelivery(svix, swBody('b'), 'msg_1'));
    expect([a.statusCode, status(a).status, b.statusCode, status(b).status]).toEqual([200, 'published', 200, 'published']);
    expect(relay.published.map((e) => [e.source, e.id])).toEqual([
      ['replicate', eventId('standard-webhooks', Buffer.from(''), { 'webhook-id': 'msg_1' }, 'replicate')],
      ['svix-app', eventId('standard-webhooks', Buffer.from(''), { 'webhook-id': 'msg_1' }, 'svix-app')],
    ]);
    expect(new Set(relay.published.map((e) => e.id)).size).toBe(2);
    // Each sender's own retry is still a duplicate of its own event.
    expect(status(await relay.ingress(tenantDelivery(replicate, swBody('a'), 'msg_1'))).status).toBe('duplicate');
    expect(status(await relay.ingress(tenantDelivery(svix, swBody('b'), 'msg_1'))).status).toBe('duplicate');
    expect(relay.published).toHaveLength(2);
  });

  it('tenant-sw-shared-store: one dedup store (one table) behind both sources keeps them apart, in both modes', async () => {
    for (const mode of ['record', 'claim'] as const) {
      const shared = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode });
      const relay = tenantRelay([TENANTS.replicate, TENANTS['svix-app']], () => shared);
      await relay.ingress(tenantDelivery(TENANTS.replicate, swBody(1), 'msg_42'));
      await relay.ingress(tenantDelivery(TENANTS['svix-app'], swBody(1), 'msg_42'));
      expect(relay.published.map((e) => e.source)).toEqual(['replicate', 'svix-app']);
    }
  });

  it('tenant-heygen-accounts: two HeyGen accounts delivering the same content do not shadow each other, also in flight', async () => {
    const { heygen, 'heygen-staging': staging } = TENANTS;
    const shared = new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const published: string[] = [];
    const relay = tenantRelay([heygen, staging], () => shared, {
      // The first publish waits, so the second account's delivery arrives while the first is in flight.
      publish: {
        publish: async (e) => {
          if (published.length === 0) await gate;
          published.push(`${e.source} ${e.id}`);
        },
      },
    });
    const body = heygenBody('v_same');
    const first = relay.ingress(tenantDelivery(heygen, body));
    const second = relay.ingress(tenantDelivery(staging, body));
    await new Promise((r) => setTimeout(r, 20));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect([status(a).status, status(b).status]).toEqual(['published', 'published']);
    expect(status(a).id).toBe(eventId('heygen', Buffer.from(body)));
    expect(status(b).id).toBe(eventId('heygen', Buffer.from(body), {}, 'heygen-staging'));
    expect(status(b).id).toMatch(/^heygen-staging:evt:[0-9a-f]{64}$/);
    expect(published).toHaveLength(2);
  });

  it('tenant-parked: parked records of two sources with the same webhook-id are two records, under each source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenant-parked-'));
    const parked = new DirectoryParkedStore(dir);
    const relay = tenantRelay([TENANTS.replicate, TENANTS['svix-app']], memory, { parked });
    // A number a double cannot hold: signed, but EventBridge would change it, so it is parked.
    const lossy = JSON.stringify({ type: 'video.completed', data: { id: 'x' } }).replace('"x"', '12345678901234567890');
    const a = await relay.ingress(tenantDelivery(TENANTS.replicate, lossy, 'msg_7'));
    const b = await relay.ingress(tenantDelivery(TENANTS['svix-app'], lossy, 'msg_7'));
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(status(a).id).not.toBe(status(b).id);
    expect(readdirSync(join(dir, 'parked')).sort()).toEqual(['replicate', 'svix-app']);
    const listed = await parked.list();
    expect(listed.map((p) => p.key).sort()).toEqual([parkedKey(status(a).id), parkedKey(status(b).id)].sort());
  });

  it('tenant-evidence: refusals are recorded per source (evidence#<source>), not per provider', async () => {
    const evidence = new MemoryEvidenceStore();
    const record = evidenceRecorder(evidence, { intervalMs: 0 });
    await record('heygen-staging', 401);
    expect([...evidence.items.keys()]).toEqual(['heygen-staging']);
    expect((await evidence.read('heygen')).lastSignatureRejectionAt).toBeNull();
  });
});

describe('The key layout (functions/core/event-key.ts)', () => {
  it('keeps the key of before for a provider default source, and scopes every other source', () => {
    const hex = 'a'.repeat(64);
    const heygenKey = `heygen:evt:${hex}`;
    expect(sourceEventKey('heygen', heygenKey)).toBe(heygenKey);
    expect(sourceEventKey('heygen', heygenKey)).toBe(heygenKey);
    expect(sourceEventKey('heygen-staging', heygenKey)).toBe(`heygen-staging:evt:${hex}`);
    expect(sourceEventKey('replicate', `standard-webhooks:${hex}`)).toBe(`replicate:${hex}`);
    expect(sourceEventKey('joggai-eu', `joggai:${hex}`)).toBe(`joggai-eu:${hex}`);
    // A source id that starts like the provider's name is still its own prefix.
    expect(sourceEventKey('heygen2', heygenKey)).toBe(`heygen2:evt:${hex}`);
    expect(sourceOfKey(`heygen-staging:evt:${hex}`)).toBe('heygen-staging');
    expect(unscopedEventKey(`heygen-staging:evt:${hex}`, 'heygen-staging', 'heygen')).toBe(heygenKey);
    expect(unscopedEventKey(heygenKey, 'heygen', 'heygen')).toBeUndefined();
    expect(unscopedEventKey(`heygen2:evt:${hex}`, 'heygen', 'heygen')).toBeUndefined();
    expect(() => sourceEventKey('x', hex)).toThrow(TypeError);
    // Every key stays a valid envelope id and parked key.
    for (const k of [`heygen-staging:evt:${hex}`, `replicate:${hex}`]) {
      expect(k).toMatch(/^[a-z0-9_-]+:(evt:)?[0-9a-f]{64}$/);
      expect(parkedKey(k)).toMatch(/^parked\/[a-z0-9_-]+\/(evt-)?[0-9a-f]{64}\.json$/);
    }
  });
});
