import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import { parseRelayEvent } from '../../functions/core/envelope.js';
import { sign } from '../../functions/core/verify.js';
import { sampleBody } from '../support/heygen.js';

const SECRET = 'whsec_local_test_secret_0123456789';

describe('Local relay: the same handler over HTTP with a file sink', () => {
  let relay: LocalRelay;
  let sink: string;
  beforeAll(async () => {
    sink = join(mkdtempSync(join(tmpdir(), 'relay-')), 'events.jsonl');
    relay = await startLocalRelay({
      providers: [{ name: 'heygen', secrets: [SECRET] }],
      sinkPath: sink,
      maxBodyBytes: 4096,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
  });
  afterAll(() => relay.close());

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${relay.url}/heygen`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  it('appends one JSON line per published event and deduplicates', async () => {
    const body = sampleBody('avatar_video.success');
    const headers = { 'heygen-signature': sign(SECRET, body), 'heygen-timestamp': String(Math.floor(Date.now() / 1000)) };
    const first = await post(body, headers);
    const second = await post(body, headers);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ status: 'duplicate' });
    const lines = readFileSync(sink, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = parseRelayEvent({ body: lines[0] ?? '' });
    expect(event).toMatchObject({ provider: 'heygen', type: 'avatar_video.success', callbackId: 'order-1042' });
  });

  it('answers 401, 405, 413 with JSON error bodies', async () => {
    const unsigned = await post(sampleBody('avatar_video.fail'));
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ error: { code: 'missing_signature', message: expect.any(String) } });
    const get = await fetch(`${relay.url}/heygen`);
    expect(get.status).toBe(405);
    const big = 'x'.repeat(10_000);
    const tooLarge = await post(big, { 'heygen-signature': sign(SECRET, big) });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});
