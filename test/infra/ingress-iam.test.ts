/**
 * Issue 20 finding 7: the ingress (the function strangers reach) may write only the DynamoDB items
 * it writes: its sources' dedup records and the two scheme markers, and its sources' evidence items;
 * never a lease or a backfill checkpoint in the state table. The role's policies are evaluated item
 * by item (Allow statements, their actions, resources and `dynamodb:LeadingKeys` conditions; a
 * condition this evaluator does not know counts as no condition), so any widening fails here.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { DynamoDedupStore } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { DynamoEvidenceStore, staleKeyItem } from '../../functions/adapters/aws/dynamodb-evidence.js';
import { DEDUP_META_KEYS } from '../../functions/core/event-key.js';
import { evidenceRecorder } from '../../functions/core/evidence.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { HeyGenRelay } from '../../lib/heygen-relay.js';
import { HeyGenRelayStack } from '../../lib/relay-stack.js';
import { eventId } from '../../providers/runtime.js';
import { manySources } from '../support/sources.js';
import { heygenBody, swBody, TENANTS, tenantDelivery } from '../support/tenants.js';

/** The relay with two HeyGen accounts, JoggAI and a Standard Webhooks source; `change` runs before synth. */
function synthRelay(change: (relay: HeyGenRelay) => void = () => {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new HeyGenRelayStack(app, 'TestRelay', {
    env: { account: '123456789012', region: 'us-east-1' },
    relay: { sources: manySources() },
  });
  change(stack.relay);
  return Template.fromStack(stack);
}

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const ITEM_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

function ingressStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes('RelayIngressServiceRole'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function tableId(template: Template, prefix: string): string {
  const id = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((k) => k.startsWith(prefix));
  if (!id) throw new Error(`no table ${prefix}`);
  return id;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/** Whether `statement` lets `action` reach the item with partition key `key` of table `table`. */
function allows(statement: Statement, action: string, table: string, key: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  const service = action.split(':')[0];
  if (![statement.Action].flat().some((a) => a === '*' || a === `${service}:*` || glob(a).test(action))) return false;
  const resource = JSON.stringify(statement.Resource);
  if (!(statement.Resource === '*' || resource.includes(`"${table}"`))) return false;
  const conditions = Object.entries(statement.Condition ?? {});
  return conditions.every(([op, values]) => {
    if (op !== 'ForAllValues:StringLike' && op !== 'ForAllValues:StringEquals') return true; // unknown: no limit
    const keys = values['dynamodb:LeadingKeys'];
    if (keys === undefined) return true;
    const patterns = [keys].flat() as string[];
    return patterns.some((p) => (op.endsWith('StringLike') ? glob(p).test(key) : p === key));
  });
}

function allowed(statements: readonly Statement[], action: string, table: string, key: string): boolean {
  return statements.some((s) => allows(s, action, table, key));
}

const SOURCES = { heygen: 'heygen', 'heygen-staging': 'heygen', joggai: 'joggai', replicate: 'standard-webhooks' } as const;
const MODES: Record<string, 'record' | 'claim'> = {
  heygen: 'record',
  'heygen-staging': 'record',
  joggai: 'claim',
  replicate: 'claim',
};
const body = Buffer.from('{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}');
const headers = { 'webhook-id': 'msg_1' };

/** The findings of an ingress policy: what it may write that it must not, and what it must write but may not. */
function violations(template: Template): string[] {
  const statements = ingressStatements(template);
  const dedup = tableId(template, 'RelayDedupTable');
  const state = tableId(template, 'RelayStateTable');
  const found: string[] = [];
  const forbidden = [
    'lease#heygen:arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
    'backfill#heygen',
    'backfill#heygen-staging',
  ];
  for (const key of forbidden)
    for (const action of [...ITEM_WRITES, 'dynamodb:GetItem'])
      if (allowed(statements, action, state, key)) found.push(`${action} on state item ${key}`);
  for (const action of [...ITEM_WRITES, 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchGetItem'])
    for (const key of ['evidence#stranger', 'evidence#stranger#refused#heygen:evt:00'])
      if (allowed(statements, action, state, key)) found.push(`${action} on state item ${key}`);
  for (const action of ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable'])
    if (allowed(statements, action, dedup, 'heygen:x')) found.push(`${action} on the dedup table`);
  for (const key of ['lease#x', 'stranger:evt:00', 'dedup-meta#other'])
    for (const action of ITEM_WRITES) if (allowed(statements, action, dedup, key)) found.push(`${action} on dedup item ${key}`);
  for (const [source, provider] of Object.entries(SOURCES)) {
    const key = eventId(provider, body, headers, source);
    const needs =
      MODES[source] === 'claim'
        ? ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']
        : ['dynamodb:GetItem', 'dynamodb:PutItem'];
    for (const action of needs) if (!allowed(statements, action, dedup, key)) found.push(`missing ${action} on ${key}`);
    if (MODES[source] === 'record')
      for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'])
        if (allowed(statements, action, dedup, key)) found.push(`${action} on ${source}'s records (record mode)`);
    if (!allowed(statements, 'dynamodb:UpdateItem', state, `evidence#${source}`)) found.push(`missing evidence#${source}`);
    // One item per refused key (functions/adapters/aws/dynamodb-evidence.ts), written, never read.
    // And one per key refused as stale with a valid signature (proof rule 5), inside the same grant.
    for (const refused of [`evidence#${source}#refused#${source}:evt:00`, staleKeyItem(source, `${source}:evt:00`)]) {
      if (!allowed(statements, 'dynamodb:UpdateItem', state, refused)) found.push(`missing ${refused}`);
      if (allowed(statements, 'dynamodb:GetItem', state, refused)) found.push(`GetItem on ${refused}`);
    }
  }
  // A second account reads its provider's earlier keys (one dedup window), never writes them.
  if (!allowed(statements, 'dynamodb:GetItem', dedup, eventId('heygen', body))) found.push('missing read of earlier keys');
  for (const marker of DEDUP_META_KEYS)
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem'])
      if (!allowed(statements, action, dedup, marker)) found.push(`missing ${action} on ${marker}`);
  return found;
}

describe('Issue 20 finding 7: the ingress reaches only the DynamoDB items it writes', () => {
  it('ingress-iam: leases and checkpoints out of reach, each source its own records and evidence item', () => {
    expect(violations(synthRelay())).toEqual([]);
  });

  it('ingress-iam: every DynamoDB statement of the ingress is conditioned on dynamodb:LeadingKeys and lists item actions only', () => {
    const dynamo = ingressStatements(synthRelay()).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const s of dynamo) {
      expect([s.Action].flat().every((a) => /^dynamodb:(GetItem|PutItem|UpdateItem|DeleteItem)$/.test(a))).toBe(true);
      expect(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toBeDefined();
    }
  });

  it('ingress-iam-runtime: every DynamoDB call the ingress makes on a multi-source stack is allowed (claims, records, releases, earlier-key and body-key reads, markers, evidence, parked records)', async () => {
    const template = synthRelay();
    const statements = ingressStatements(template);
    const tables: Record<string, string> = {
      dedup: tableId(template, 'RelayDedupTable'),
      state: tableId(template, 'RelayStateTable'),
    };
    const calls: { action: string; table: string; key: string }[] = [];
    // A DynamoDB that records each call (action, table, partition key) and holds nothing.
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const input = command.input as { TableName: string; Key?: { pk: { S: string } }; Item?: { pk: { S: string } } };
        const key = (input.Key ?? input.Item)?.pk.S ?? '(none)';
        calls.push({ action: `dynamodb:${command.constructor.name.replace(/Command$/, '')}`, table: input.TableName, key });
        return {};
      },
    } as unknown as DynamoDBClient;
    const tenants = [TENANTS.heygen, TENANTS['heygen-staging'], TENANTS.replicate];
    const sources = Object.fromEntries(tenants.map((t) => [t.source, t.provider.name]));
    const stores = new Map<string, DynamoDedupStore>();
    const store = (mode: 'record' | 'claim'): DynamoDedupStore => {
      let st = stores.get(mode);
      if (!st) {
        st = new DynamoDedupStore(client, 'dedup', { windowSeconds: 3600, lockSeconds: 15, mode, legacyBodyKeys: true, sources });
        stores.set(mode, st);
      }
      return st;
    };
    let failPublish = false;
    const ingress = createIngress({
      maxBodyBytes: 1 << 20,
      publisher: {
        publish: async () => {
          if (failPublish) throw new Error('EventBridge unavailable');
        },
      },
      parked: { park: async () => {} },
      telemetry: { debug() {}, info() {}, warn() {}, error() {}, count() {} },
      onTrouble: evidenceRecorder(new DynamoEvidenceStore(client, 'state'), { intervalMs: 0 }),
      routes: tenants.map((t) => ({
        provider: t.provider,
        ...(t.source === t.provider.name ? {} : { source: t.source }),
        path: `/${t.source}`,
        keys: {
          getKeys: async () => [{ secret: t.secret, label: 'AWSCURRENT' }],
          refresh: async () => [{ secret: t.secret, label: 'AWSCURRENT' }],
        },
        timestampToleranceSeconds: 0,
        budgetMs: 5_000,
        dedup: store(MODES[t.source] ?? 'claim'),
      })),
    });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 1200; i++) deep = { d: deep };
    for (const t of tenants) {
      const body = (n: string) => (t.provider.name === 'heygen' ? heygenBody(`v_${t.source}_${n}`) : swBody(`${t.source}_${n}`));
      expect((await ingress(tenantDelivery(t, body('a'), `msg_${t.source}_a`))).statusCode).toBe(200); // published
      failPublish = true;
      expect((await ingress(tenantDelivery(t, body('b'), `msg_${t.source}_b`))).statusCode).toBe(503); // released, failure evidence
      failPublish = false;
      const parkedBody =
        t.provider.name === 'heygen'
          ? JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: 'v', deep } })
          : JSON.stringify({ type: 'video.completed', data: { id: 'v', deep } });
      expect((await ingress(tenantDelivery(t, parkedBody, `msg_${t.source}_deep`))).statusCode).toBe(202); // parked, recorded
      const forged = { ...tenantDelivery(t, body('c'), `msg_${t.source}_c`) };
      forged.headers = Object.fromEntries(
        Object.entries(forged.headers).map(([k, v]) => [
          k,
          k.endsWith('signature') && v ? v.replace(/[0-9a-f]/, (c) => (c === '0' ? '1' : '0')) : v,
        ]),
      );
      expect((await ingress(forged)).statusCode).toBe(401); // refusal evidence
    }
    const kinds = new Set(calls.map((c) => `${c.action} ${c.table}`));
    expect([...kinds].sort()).toEqual(
      ['DeleteItem dedup', 'GetItem dedup', 'PutItem dedup', 'UpdateItem dedup', 'UpdateItem state'].map((k) => `dynamodb:${k}`),
    );
    const refused = calls.filter((c) => !allowed(statements, c.action, tables[c.table] as string, c.key));
    expect(refused).toEqual([]);
  });

  it('ingress-iam: the check catches a widened grant (the table-wide UpdateItem of before)', () => {
    const before = synthRelay((relay) => relay.stateTable?.grant(relay.ingress, 'dynamodb:UpdateItem'));
    expect(violations(before)).toContain('dynamodb:UpdateItem on state item backfill#heygen');
    const dedupTableWide = synthRelay((relay) => relay.dedupTable?.grant(relay.ingress, 'dynamodb:PutItem'));
    expect(violations(dedupTableWide)).toContain('dynamodb:PutItem on dedup item lease#x');
    const wide = synthRelay((relay) =>
      relay.ingress.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] })),
    );
    expect(violations(wide).length).toBeGreaterThan(5);
  });

  it('parked records are per source: each HeyGen backfill may put only under parked/<its source id>/', () => {
    const template = synthRelay();
    const puts = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => /Backfill/.test(JSON.stringify(p.Properties.Roles)))
      .map((p) => ({
        role: JSON.stringify(p.Properties.Roles),
        resources: (p.Properties.PolicyDocument.Statement as Statement[])
          .filter((st) => [st.Action].flat().includes('s3:PutObject'))
          .map((st) => JSON.stringify(st.Resource)),
      }));
    const staging = puts.find((p) => /heygenstaging/i.test(p.role));
    const main = puts.find((p) => !/heygenstaging/i.test(p.role));
    expect(staging?.resources).toEqual([expect.stringContaining('/parked/heygen-staging/*')]);
    expect(main?.resources).toEqual([expect.stringContaining('/parked/heygen/*')]);
  });
});
