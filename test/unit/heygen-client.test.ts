import { beforeEach, describe, expect, it } from 'vitest';
import { type HeyGenClientOptions, HeyGenWebhookClient, parseRetryAfter } from '../../providers/heygen/runtime/api/client.js';
import {
  HeyGenApiError,
  HeyGenAuthError,
  HeyGenConflictError,
  HeyGenDeadlineError,
  HeyGenNetworkError,
  HeyGenNotFoundError,
  HeyGenRateLimitError,
  redact,
} from '../../providers/heygen/runtime/api/errors.js';
import { FAKE_API_KEY } from '../fakes/heygen-api.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const URL_A = 'https://relay.example.com/heygen';

describe('Class: HeyGenWebhookClient', () => {
  const hg = useFakeHeyGenServer();
  let waits: number[];
  beforeEach(() => {
    waits = [];
  });

  const client = (overrides: Partial<HeyGenClientOptions> = {}): HeyGenWebhookClient =>
    new HeyGenWebhookClient({
      apiKey: FAKE_API_KEY,
      baseUrl: hg.fake.url,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
      ...overrides,
    });

  describe('happy paths', () => {
    it('creates an endpoint and returns its secret, sending x-api-key and a spec-valid body', async () => {
      const ep = await client().createEndpoint({ url: URL_A, events: ['avatar_video.success'] }, { idempotencyKey: 'k-1' });
      expect(ep.secret).toMatch(/^whsec_/);
      expect(ep.events).toEqual(['avatar_video.success']);
      const [req] = hg.fake.requestsTo('POST', /^\/v3\/webhooks\/endpoints$/);
      expect(req?.headers['idempotency-key']).toBe('k-1');
      expect(req?.body).toEqual({ url: URL_A, events: ['avatar_video.success'] });
    });

    it('follows has_more/next_token with the `token` query parameter', async () => {
      for (let i = 0; i < 230; i++) hg.fake.seedEndpoint(`https://r${i}.example.com/h`);
      const all = await client().listEndpoints();
      expect(all).toHaveLength(230);
      expect(new Set(all.map((e) => e.endpoint_id)).size).toBe(230);
      const lists = hg.fake.requestsTo('GET', /^\/v3\/webhooks\/endpoints$/);
      expect(lists.map((r) => r.query.token === undefined)).toEqual([true, false, false]);
      expect(lists.every((r) => r.query.limit === '100')).toBe(true);
      expect(all.every((e) => e.secret === null)).toBe(true);
    });

    it('patches events (full replace), rotates, deletes and lists event types', async () => {
      const c = client();
      const ep = await c.createEndpoint({ url: URL_A, events: null });
      const patched = await c.updateEndpoint(ep.endpoint_id, { events: ['avatar_video.fail'] });
      expect(patched.events).toEqual(['avatar_video.fail']);
      const rotated = await c.rotateSecret(ep.endpoint_id, { idempotencyKey: 'rot-1' });
      expect(rotated.secret).not.toBe(ep.secret);
      expect(hg.fake.endpoints.get(ep.endpoint_id)?.secret).toBe(rotated.secret);
      await c.deleteEndpoint(ep.endpoint_id);
      expect(hg.fake.endpoints.size).toBe(0);
      const types = await c.listEventTypes();
      expect(types.map((t) => t.event_type)).toContain('avatar_video.success');
      expect(types).toHaveLength(30);
    });
  });

  describe('retries', () => {
    it('retries 429 on a non-idempotent POST, waiting Retry-After', async () => {
      hg.fake.inject({ method: 'POST', status: 429, retryAfter: '2' });
      const ep = await client().createEndpoint({ url: URL_A, events: null });
      expect(ep.endpoint_id).toBeTruthy();
      expect(waits).toEqual([2000]);
      expect(hg.fake.endpointsFor(URL_A)).toHaveLength(1);
    });

    it('gives up on 429 at once when Retry-After does not fit the deadline', async () => {
      hg.fake.inject({ method: 'GET', status: 429, retryAfter: '30' });
      const err = await client({ deadline: () => 5_000 })
        .listEndpoints()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenRateLimitError);
      expect((err as HeyGenRateLimitError).retryAfterMs).toBe(30_000);
      expect(waits).toEqual([]);
    });

    it('stops after maxAttempts on persistent 429', async () => {
      hg.fake.inject({ status: 429, retryAfter: '0', times: 10 });
      const err = await client({ maxAttempts: 3 })
        .listEndpoints()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenRateLimitError);
      expect(hg.fake.requests).toHaveLength(3);
    });

    it('retries 5xx for GET and DELETE', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      hg.fake.inject({ method: 'GET', status: 503, times: 2 }).inject({ method: 'DELETE', status: 500 });
      expect(await client().listEndpoints()).toHaveLength(1);
      await client().deleteEndpoint(ep.endpoint_id);
      expect(hg.fake.endpoints.size).toBe(0);
      expect(waits).toEqual([150, 300, 150]); // 200 ms base, doubling, jitter fixed at 0.5
    });

    it('does not retry 5xx for a POST without Idempotency-Key', async () => {
      hg.fake.inject({ method: 'POST', status: 502 });
      const err = await client()
        .createEndpoint({ url: URL_A, events: null })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenApiError);
      expect((err as HeyGenApiError).status).toBe(502);
      expect(hg.fake.requests).toHaveLength(1);
    });

    it('retries 5xx for a POST carrying an Idempotency-Key', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      hg.fake.inject({ method: 'POST', status: 500 });
      const rotated = await client().rotateSecret(ep.endpoint_id, { idempotencyKey: 'rot-5xx' });
      expect(rotated.secret).toBe(hg.fake.endpoints.get(ep.endpoint_id)?.secret);
      expect(hg.fake.requests).toHaveLength(2);
    });

    it('never retries 5xx on PATCH (no Idempotency-Key)', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      hg.fake.inject({ method: 'PATCH', status: 500 });
      await expect(client().updateEndpoint(ep.endpoint_id, { events: null })).rejects.toBeInstanceOf(HeyGenApiError);
      expect(hg.fake.requests).toHaveLength(1);
    });

    it('retries a dropped connection for DELETE but not for PATCH', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      hg.fake.inject({ method: 'PATCH', status: 'drop' });
      await expect(client().updateEndpoint(ep.endpoint_id, { events: null })).rejects.toBeInstanceOf(HeyGenNetworkError);
      hg.fake.inject({ method: 'DELETE', status: 'drop' });
      await client().deleteEndpoint(ep.endpoint_id);
      expect(hg.fake.requests.map((r) => `${r.method}:${r.status}`)).toEqual(['PATCH:0', 'DELETE:0', 'DELETE:200']);
    });

    it('treats a per-attempt timeout as a network error and retries a GET', async () => {
      hg.fake.slow({ method: 'GET', ms: 400 });
      const c = client({ requestTimeoutMs: 100 });
      await expect(c.listEndpoints()).resolves.toEqual([]);
      expect(waits).toHaveLength(1);
    });

    it('waits out 409 request_in_progress and gets the replayed answer', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      hg.fake.slow({ method: 'POST', path: /rotate-secret/, ms: 300 });
      const real = client({ sleep: undefined, inProgressWaitMs: 150 });
      const [a, b] = await Promise.all([
        real.rotateSecret(ep.endpoint_id, { idempotencyKey: 'same-key' }),
        new Promise((r) => setTimeout(r, 50)).then(() => real.rotateSecret(ep.endpoint_id, { idempotencyKey: 'same-key' })),
      ]);
      expect(b.secret).toBe(a.secret);
      expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(2); // seed + exactly one rotation
      expect(hg.fake.requests.filter((r) => r.status === 409)).not.toHaveLength(0);
    });
  });

  describe('final errors', () => {
    it('fails 401 at once with a clear error that does not contain the key', async () => {
      const err = await client({ apiKey: 'wrong-key-abcdef' })
        .listEndpoints()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenAuthError);
      expect((err as Error).name).toBe('HeyGenAuthError');
      expect((err as Error).message).toMatch(/rejected the API key/);
      expect((err as Error).message).not.toContain('wrong-key-abcdef');
      expect(hg.fake.requests).toHaveLength(1);
    });

    it('fails 403 as an auth error too', async () => {
      hg.fake.inject({ status: 403, code: 'forbidden' });
      await expect(client().listEndpoints()).rejects.toBeInstanceOf(HeyGenAuthError);
      expect(hg.fake.requests).toHaveLength(1);
    });

    it('maps 404 and 409 conflict to typed errors without retrying', async () => {
      await expect(client().rotateSecret('ep_missing', { idempotencyKey: 'x' })).rejects.toBeInstanceOf(HeyGenNotFoundError);
      hg.fake.seedEndpoint(URL_A);
      const err = await client()
        .createEndpoint({ url: URL_A, events: null }, { idempotencyKey: 'dup' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenConflictError);
      expect((err as HeyGenConflictError).code).toBe('conflict');
      expect(hg.fake.requests).toHaveLength(2);
    });

    it('does not send anything when the deadline has passed', async () => {
      const err = await client({ deadline: () => 500, reserveMs: 1_000 })
        .listEndpoints()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HeyGenDeadlineError);
      expect(hg.fake.requests).toHaveLength(0);
    });

    it('stops waiting when the AbortSignal fires', async () => {
      hg.fake.inject({ method: 'GET', status: 503, times: 5 });
      const controller = new AbortController();
      const c = client({
        signal: controller.signal,
        sleep: undefined,
        backoffBaseMs: 5_000,
      });
      setTimeout(() => controller.abort(new Error('stop')), 50);
      const started = Date.now();
      await expect(c.listEndpoints()).rejects.toBeInstanceOf(HeyGenDeadlineError);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('rejects an Idempotency-Key outside the spec pattern before sending', async () => {
      await expect(client().rotateSecret('ep_1', { idempotencyKey: 'has space' })).rejects.toBeInstanceOf(TypeError);
      expect(hg.fake.requests).toHaveLength(0);
    });
  });

  describe('the fake: idempotency window and signed delivery', () => {
    it('replays a keyed rotate for 24 h, then rotates anew', async () => {
      const ep = hg.fake.seedEndpoint(URL_A);
      const a = await client().rotateSecret(ep.endpoint_id, { idempotencyKey: 'day-key' });
      hg.fake.advanceIdempotencyClock(23 * 3600_000);
      expect((await client().rotateSecret(ep.endpoint_id, { idempotencyKey: 'day-key' })).secret).toBe(a.secret);
      hg.fake.advanceIdempotencyClock(2 * 3600_000);
      expect((await client().rotateSecret(ep.endpoint_id, { idempotencyKey: 'day-key' })).secret).not.toBe(a.secret);
    });

    it('signs deliveries with the current secret and retries non-2xx, counting first-attempt rejections', async () => {
      const { createServer } = await import('node:http');
      const { createHmac } = await import('node:crypto');
      const ep = hg.fake.seedEndpoint(URL_A);
      const seen: { headers: Record<string, unknown>; body: string }[] = [];
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => {
          body += c.toString('utf8');
        });
        req.on('end', () => {
          seen.push({ headers: req.headers, body });
          res.writeHead(seen.length < 3 ? 503 : 204).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const result = await hg.fake.deliver(
          ep.endpoint_id,
          `http://127.0.0.1:${port}/heygen`,
          { event_type: 'avatar_video.success', event_data: { video_id: 'v1' } },
          { backoffBaseMs: 1 },
        );
        expect(result).toMatchObject({ delivered: true, attempts: 3, statuses: [503, 503, 204] });
        const first = seen[0];
        expect(first?.body).toBe('{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}');
        expect(first?.headers['heygen-signature']).toBe(
          createHmac('sha256', ep.secret)
            .update(first?.body ?? '')
            .digest('hex'),
        );
        expect(String(first?.headers['heygen-timestamp'])).toMatch(/^\d{10}$/);
        expect(new Set(seen.map((s) => s.headers['heygen-event-id'])).size).toBe(1);
        expect(hg.fake.stats).toMatchObject({ deliveries: 1, attempts: 3, firstAttemptRejections: 1, delivered: 1 });
      } finally {
        server.close();
      }
    });
  });

  describe('the fake validates requests against the spec', () => {
    it('answers 400 and records a violation for a field the spec forbids', async () => {
      const res = await fetch(`${hg.fake.url}/v3/webhooks/endpoints`, {
        method: 'POST',
        headers: { 'x-api-key': FAKE_API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ url: URL_A, events: null, status: 'enabled' }),
      });
      expect(res.status).toBe(400);
      expect(hg.fake.violations.join()).toMatch(/additional properties/);
      hg.fake.violations.length = 0;
    });

    it('flags unknown event types, bad limits and bodies on body-less operations', async () => {
      const h = { 'x-api-key': FAKE_API_KEY, 'content-type': 'application/json' };
      await fetch(`${hg.fake.url}/v3/webhooks/endpoints`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify({ url: URL_A, events: ['nope'] }),
      });
      await fetch(`${hg.fake.url}/v3/webhooks/endpoints?limit=101`, { headers: h });
      await fetch(`${hg.fake.url}/v3/webhooks/endpoints/ep_1/rotate-secret`, { method: 'POST', headers: h, body: '{}' });
      const v = hg.fake.violations.join('\n');
      expect(v).toMatch(/events\/0 must be equal to one of the allowed values/);
      expect(v).toMatch(/limit must be <= 100/);
      expect(v).toMatch(/rotate-secret: .*defines no request body/);
      hg.fake.violations.length = 0;
    });
  });
});

describe('Function: parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
  });
});

describe('Function: redact', () => {
  it('removes whsec_ secrets and given values', () => {
    expect(redact('bad secret whsec_abc123 for key KEY123456', ['KEY123456'])).toBe(
      'bad secret whsec_[REDACTED] for key [REDACTED]',
    );
  });
});
