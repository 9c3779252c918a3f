/**
 * Issue 19 (url-edited-away-and-back): the registrar's sightings of our endpoint for the backfill's
 * subscription log (providers/heygen/runtime/sightings.ts), the same contract in memory and in the state
 * table on moto with the real SDK (functions/adapters/aws/dynamodb-sightings.ts: a string set on its own
 * item, ADD by the registrar, DELETE of what a backfill run merged). Set operations: a record retried
 * after a lost answer is one element; a drop removes only what it names, never one added meanwhile.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSightingInbox } from '../../functions/adapters/aws/dynamodb-sightings.js';
import { type DatedSighting, MemorySightingInbox, type SightingInbox } from '../../providers/heygen/runtime/sightings.js';
import { motoStateTable } from '../support/state-table.js';

let table: Awaited<ReturnType<typeof motoStateTable>>;
let n = 0;
beforeAll(async () => {
  table = await motoStateTable('sightings');
});
afterAll(() => {
  table.client.destroy();
});

const inboxes: [string, () => SightingInbox][] = [
  ['memory', () => new MemorySightingInbox()],
  ['DynamoDB (moto)', () => new DynamoSightingInbox(table.client, table.name, `heygen-${++n}`)],
];

const away: DatedSighting = { atMs: 1_000, found: false, events: null };
const back: DatedSighting = { atMs: 2_000, found: true, events: ['avatar_video.success', 'avatar_video.fail'], createdAtMs: 10 };

describe.each(inboxes)('sighting inbox (%s)', (_name, make) => {
  it('a record retried after a lost answer is one sighting; every field comes back (types in any order are one set)', async () => {
    const inbox = make();
    expect(await inbox.read()).toEqual([]);
    await inbox.record(away);
    await inbox.record(away); // the SDK's retry of a write whose answer was lost
    await inbox.record(back);
    await inbox.record({ ...back, events: ['avatar_video.fail', 'avatar_video.success'] });
    const read = (await inbox.read()).map((x) => x.sighting).sort((a, b) => a.atMs - b.atMs);
    expect(read).toEqual([
      { ...away, createdAtMs: null },
      { ...back, events: ['avatar_video.fail', 'avatar_video.success'] },
    ]);
  });

  it('a drop removes what the backfill merged, not a sighting the registrar added meanwhile; a drop again changes nothing', async () => {
    const inbox = make();
    await inbox.record(away);
    const merged = await inbox.read(); // the backfill reads...
    await inbox.record(back); // ...the registrar adds one...
    await inbox.drop(merged.map((x) => x.raw)); // ...the backfill drops what it merged
    expect((await inbox.read()).map((x) => x.sighting.atMs)).toEqual([back.atMs]);
    await inbox.drop(merged.map((x) => x.raw)); // a drop whose answer was lost, sent again
    await inbox.drop([]);
    expect((await inbox.read()).map((x) => x.sighting.atMs)).toEqual([back.atMs]);
    await inbox.drop((await inbox.read()).map((x) => x.raw));
    expect(await inbox.read()).toEqual([]);
  });
});

it('DynamoDB (moto): an element this code cannot read is left alone (never merged, never dropped)', async () => {
  const provider = `heygen-${++n}`;
  const inbox = new DynamoSightingInbox(table.client, table.name, provider);
  await table.client.send(
    new UpdateItemCommand({
      TableName: table.name,
      Key: { pk: { S: `backfill#${provider}#sightings` } },
      UpdateExpression: 'ADD sightings :one',
      ExpressionAttributeValues: { ':one': { SS: ['{"atMs":"soon"}'] } },
    }),
  );
  await inbox.record(away);
  const read = await inbox.read();
  expect(read.map((x) => x.sighting.atMs)).toEqual([away.atMs]);
  await inbox.drop(read.map((x) => x.raw));
  expect(await inbox.read()).toEqual([]);
  const item = await table.client.send(
    new GetItemCommand({ TableName: table.name, Key: { pk: { S: `backfill#${provider}#sightings` } }, ConsistentRead: true }),
  );
  expect(item.Item?.sightings?.SS).toEqual(['{"atMs":"soon"}']); // the unreadable one stays
});
