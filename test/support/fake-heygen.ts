/**
 * The fake HeyGen harness the backfill and registrar tests share: one fake HeyGen API for the describe
 * block, on a virtual clock the test moves, reset before each test, with a client of it that never
 * sleeps, and a check after each test that nothing the test (or the code under test) sent broke the
 * OpenAPI contract the fake validates against.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import { FAKE_API_KEY, FakeHeyGenApi, type FakeHeyGenOptions } from '../fakes/heygen-api.js';

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

/**
 * The fake HeyGen API for the chaos model's tests: one server for the file, started and closed with it,
 * no reset between tests (each model run resets what it uses) and no per-test violation check (the
 * model judges the run itself).
 */
export function useChaosHeyGen(): { readonly fake: FakeHeyGenApi } {
  let fake: FakeHeyGenApi | undefined;
  beforeAll(async () => {
    fake = await FakeHeyGenApi.start();
  });
  afterAll(async () => {
    await fake?.close();
  });
  return {
    get fake() {
      return started(fake);
    },
  };
}

/**
 * The fake HeyGen API for the calling describe block: started before its tests, closed after them,
 * reset before each test, and after each test no request it saw broke the OpenAPI contract.
 */
export function useFakeHeyGenServer(options: FakeHeyGenOptions = {}): { readonly fake: FakeHeyGenApi } {
  let fake: FakeHeyGenApi | undefined;
  beforeAll(async () => {
    fake = await FakeHeyGenApi.start(options);
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    started(fake).reset();
  });
  afterEach(() => {
    expect(started(fake).violations).toEqual([]);
  });
  return {
    get fake() {
      return started(fake);
    },
  };
}

/** useFakeHeyGenServer on a virtual clock, with a fresh client of it for each test (read the fields inside tests). */
export function useFakeHeyGen(): FakeHeyGen {
  const clock = { t: FAKE_HEYGEN_START };
  let client: HeyGenWebhookClient | undefined;
  beforeEach(() => {
    clock.t = FAKE_HEYGEN_START; // before the fake's reset, as the tests always had it
  });
  const server = useFakeHeyGenServer({ now: () => clock.t });
  beforeEach(() => {
    client = new HeyGenWebhookClient({
      apiKey: FAKE_API_KEY,
      baseUrl: 'http://fake',
      fetch: server.fake.fetch,
      sleep: async () => {},
    });
  });
  return {
    clock,
    get fake() {
      return server.fake;
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
