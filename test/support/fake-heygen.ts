/**
 * The fake HeyGen harness the backfill and registrar tests share: one fake HeyGen API for the describe
 * block, on a virtual clock the test moves, reset before each test, with a client of it that never
 * sleeps, and a check after each test that nothing the test (or the code under test) sent broke the
 * OpenAPI contract the fake validates against.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { FAKE_API_KEY, FakeHeyGenApi } from '../fakes/heygen-api.js';

/** Where the virtual clock stands at the start of each test. */
export const FAKE_HEYGEN_START = Date.parse('2026-11-29T00:00:00Z');

export interface FakeHeyGen {
  /** The fake HeyGen API: started once for the describe block, reset before each test. */
  readonly fake: FakeHeyGenApi;
  /** The one clock the fake and the test share (set `clock.t` to move time); back at FAKE_HEYGEN_START before each test. */
  readonly clock: { t: number };
  /** A fresh client of the fake for each test; its retries do not sleep. */
  readonly client: HeyGenWebhookClient;
}

/** Registers the hooks in the calling describe block and returns the harness (read its fields inside tests). */
export function useFakeHeyGen(): FakeHeyGen {
  const clock = { t: FAKE_HEYGEN_START };
  let fake: FakeHeyGenApi | undefined;
  let client: HeyGenWebhookClient | undefined;
  beforeAll(async () => {
    fake = await FakeHeyGenApi.start({ now: () => clock.t });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    clock.t = FAKE_HEYGEN_START;
    const api = started(fake);
    api.reset();
    client = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: 'http://fake', fetch: api.fetch, sleep: async () => {} });
  });
  afterEach(() => {
    expect(started(fake).violations).toEqual([]);
  });
  return {
    clock,
    get fake() {
      return started(fake);
    },
    get client() {
      return started(client);
    },
  };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('useFakeHeyGen: read the harness inside a test or hook, not while collecting');
  return value;
}
