/**
 * Issue 19 finding 3, the ingress's side ("duplicates are honest"), against the real Lambda entry and
 * the real SDK v3 clients, with the fault proxy (./fault-proxy.ts) between the ingress and moto:
 * - (b) PutEvents stores the event but its answer is lost, on every attempt while the fault lasts
 *   (a slow EventBridge): the SDK's own retries used to add a copy per attempt (3 copies, then
 *   HeyGen's retry a 4th). Now an attempt that may have stored the event is not retried: one copy
 *   per delivery attempt, each extra copy counted (`PossibleDuplicatePublished`, `publish_unconfirmed`).
 * - (a) the dedup record cannot be written after PutEvents succeeded: answered 200, counted
 *   (`record_not_written`), since a later copy (the backfill) may publish it again.
 * Every copy carries the same envelope `id`. docs/guarantees.md has the whole table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DedupMode } from '../../functions/core/ports.js';
import { eventId } from '../../providers/runtime.js';
import {
  dedupModeEnv,
  type EmulatorStack,
  envelopes,
  type IngressHandler,
  lambdaContext,
  loadIngressEntry,
  type QueueCollector,
} from '../support/emulator-stack.js';
import { behindFaultProxy, relayStackWithSecret, stopFaultedRelay } from '../support/fault-relay.js';
import { functionUrlEvent } from '../support/heygen.js';
import { capturedLines, registerEventSignature, registerSensitive } from '../support/log-capture.js';
import type { FaultProxy } from './fault-proxy.js';

const secret = `whsec_${randomBytes(24).toString('hex')}`;
registerSensitive(secret, 'secret');
const PUT_EVENTS = /^AWSEvents\.PutEvents$/;
const PUT_ITEM = /^DynamoDB_20120810\.PutItem$/;
const UPDATE_ITEM = /^DynamoDB_20120810\.UpdateItem$/;

let stack: EmulatorStack;
let proxy: FaultProxy;
let collector: QueueCollector;
let defaultQueueId: string;

beforeAll(async () => {
  stack = await relayStackWithSecret(secret, 'ep_dup');
  ({ proxy, collector, defaultQueueId } = await behindFaultProxy(stack));
});

afterAll(() => stopFaultedRelay(proxy, stack));

function newBody(tag: string) {
  const body = JSON.stringify({
    event_type: 'avatar_video.success',
    event_data: { video_id: `v_${tag}_${randomUUID()}`, url: 'https://files.example/x.mp4' },
  });
  const id = eventId('heygen', Buffer.from(body));
  return { body, id, hex: id.split(':').at(-1) as string };
}

async function deliver(handler: IngressHandler, body: string) {
  const ev = functionUrlEvent(body, { secret });
  registerEventSignature(ev);
  const res = await handler(ev, lambdaContext());
  return { status: res.statusCode ?? 0, body: JSON.parse(res.body ?? '{}') as { status?: string; id?: string } };
}

async function environment(mode: DedupMode): Promise<IngressHandler> {
  const h = await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint, env: dedupModeEnv(stack, mode) });
  expect((await deliver(h, newBody('warm').body)).status).toBe(200);
  return h;
}

/** `PossibleDuplicatePublished` data points (EMF) with `reason`, from the captured log lines. */
function possibleDuplicates(reason: string): number {
  return capturedLines().filter((l) => l.includes('"PossibleDuplicatePublished"') && l.includes(`"reason":"${reason}"`)).length;
}

describe('Issue 19 finding 3 (ingress): duplicates are honest', () => {
  it('dup-lost-answer: PutEvents stores but its answers are lost: one attempt per delivery (not the SDK three), every copy one id, each extra copy counted', async () => {
    const lostAnswers: { id: string; attempts: number; first: number; retry: number }[] = [];
    const before = possibleDuplicates('publish_unconfirmed');
    for (const mode of ['record', 'claim'] as const) {
      const h = await environment(mode);
      const b = newBody(`lost-${mode}`);
      const label = `lose-${mode}`;
      proxy.inject(label, { target: PUT_EVENTS, bodyIncludes: b.hex, fault: { kind: 'lose-answer' } });
      const first = await deliver(h, b.body);
      const attempts = proxy.hits(label);
      proxy.clear(label);
      const retry = await deliver(h, b.body); // HeyGen's retry, once the bus answers again
      lostAnswers.push({ id: b.id, attempts, first: first.status, retry: retry.status });
    }
    const after = possibleDuplicates('publish_unconfirmed');

    const rowsNotWritten: { id: string; status: number; published?: string }[] = [];
    const beforeNotWritten = possibleDuplicates('record_not_written');
    for (const mode of ['record', 'claim'] as const) {
      const h = await environment(mode);
      const b = newBody(`unrecorded-${mode}`);
      // record: the one PutItem after the publish; claim: the UpdateItem that marks the claim published.
      const label = `unrecorded-${mode}`;
      proxy.inject(label, {
        target: mode === 'record' ? PUT_ITEM : UPDATE_ITEM,
        bodyIncludes: b.hex,
        fault: { kind: 'error', status: 500, type: 'InternalServerError' },
      });
      const res = await deliver(h, b.body);
      proxy.clear(label);
      rowsNotWritten.push({ id: b.id, status: res.status, ...(res.body.status ? { published: res.body.status } : {}) });
    }
    const afterNotWritten = possibleDuplicates('record_not_written');

    await new Promise((r) => setTimeout(r, 300));
    const got = envelopes((await collector.stop()).get(defaultQueueId) ?? []);
    const copies = (id: string) => got.filter((e) => e.id === id).length;

    for (const row of lostAnswers) {
      expect(row.attempts, 'PutEvents attempts while its answers were lost').toBe(1);
      expect([row.first, row.retry]).toEqual([503, 200]);
      // The lost answer's copy and the retry's: two copies, one id.
      expect(copies(row.id)).toBe(2);
    }
    expect(after - before).toBe(lostAnswers.length);
    for (const row of rowsNotWritten) {
      expect([row.status, row.published]).toEqual([200, 'published']);
      expect(copies(row.id)).toBe(1);
    }
    expect(afterNotWritten - beforeNotWritten).toBe(rowsNotWritten.length);
  }, 60_000);
});
