/**
 * Issue 20, finding 8 (the hot path): the earlier body-key check (DEDUP_LEGACY_BODY_KEYS, on in every
 * deployment) stops reading DynamoDB one dedup window after content keys were first used, but the
 * ingress went on computing the body key (a SHA-256 of every body, 50 µs at 64 KB) for it forever.
 * Once the store knows the window is over (`legacyWindowOpen`), the ingress no longer asks; within
 * the window it still does.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDedupStore, LEGACY_MARKER } from '../../functions/adapters/aws/dynamodb-dedup.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { answerBudgetMs } from '../../providers/runtime.js';
import { captureTelemetry, MockAws } from '../support/aws-mocks.js';
import { heygenRoute } from '../support/heygen-ingress.js';

const SECRET = 'whsec_legacy_window_skip_0123456789abcdef';
const WINDOW_S = 48 * 3600;
const aws = new MockAws();
beforeEach(() => aws.reset());
afterAll(() => {
  aws.ddb.restore();
  aws.eb.restore();
  aws.sm.restore();
});

function relay(eventKeysSinceMs: number, now: () => number) {
  aws.items.set(LEGACY_MARKER, { pk: { S: LEGACY_MARKER }, since: { N: String(eventKeysSinceMs) } });
  const store = new DynamoDedupStore(new DynamoDBClient({ region: 'us-east-1' }), 'dedup', {
    windowSeconds: WINDOW_S,
    lockSeconds: 15,
    mode: 'record',
    legacyBodyKeys: true,
    now,
  });
  const seen: string[] = [];
  const inner = store.seenLegacy?.bind(store);
  Object.defineProperty(store, 'seenLegacy', {
    value: (key: string, signal?: AbortSignal) => {
      seen.push(key);
      return inner?.(key, signal) ?? Promise.resolve(false);
    },
  });
  const pipeline = createIngress({
    maxBodyBytes: 256 * 1024,
    publisher: { publish: async () => {} },
    telemetry: captureTelemetry(),
    now,
    routes: [heygenRoute(SECRET, answerBudgetMs(heygen), store)],
  });
  let n = 0;
  const deliver = async () => {
    const body = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v${n++}` } }));
    const res = await pipeline({
      method: 'POST',
      path: '/heygen',
      headers: { 'heygen-signature': sign(SECRET, body) },
      body,
      requestId: 'r',
    });
    return res.statusCode;
  };
  return { deliver, seen };
}

describe('The earlier body-key check costs nothing once its window is over', () => {
  it('after the window: asked once (which learns the window is over), then the body key is never computed again', async () => {
    const now = Date.now();
    const r = relay(now - (WINDOW_S + 3600) * 1000, () => now);
    expect(await r.deliver()).toBe(200);
    expect(await r.deliver()).toBe(200);
    expect(await r.deliver()).toBe(200);
    expect(r.seen).toHaveLength(1);
  });

  it('within the window: every delivery still checks its body key', async () => {
    const now = Date.now();
    const r = relay(now - 3600 * 1000, () => now);
    for (let i = 0; i < 3; i++) expect(await r.deliver()).toBe(200);
    expect(r.seen).toHaveLength(3);
    expect(r.seen.every((k) => /^heygen:[0-9a-f]{64}$/.test(k))).toBe(true);
  });
});
