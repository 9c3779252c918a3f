/**
 * A stateful fake of HeyGen's v3 webhook management API on a loopback port, faithful to
 * providers/heygen/runtime/api/openapi.yaml:
 *
 * - endpoints CRUD with `limit`/`token` pagination (`has_more`, `next_token`), `secret` only on
 *   create and rotate-secret, `null` in lists;
 * - `Idempotency-Key` (create, rotate-secret): replay of the original answer for 24 h (per route and
 *   path parameter), `409 request_in_progress` while the first call with that key is in flight;
 * - `409 conflict` on a duplicate URL; rotate-secret invalidates the old secret at once;
 * - `401 authentication_failed` without the right `x-api-key`;
 * - fault injection: 429 with Retry-After, 5xx, dropped connections, slow answers;
 * - every request is validated against the spec with openapi-backend; a violation is answered
 *   `400 invalid_parameter` and recorded in {@link FakeHeyGenApi.violations} (tests assert it is empty),
 *   and every answer the fake gives is validated against the spec too;
 * - signed webhook delivery (Heygen-Signature = lowercase hex HMAC-SHA256(raw body, secret)),
 *   retrying non-2xx answers with a bounded backoff, counting first-attempt rejections;
 * - the event history (`GET /v3/webhooks/events`, newest first, `limit`/`token`, filters
 *   `event_type`/`entity_id`): every event HeyGen delivered or tried to, whatever the relay answered,
 *   and events {@link FakeHeyGenApi.emit} records without delivering (the relay was down). Its
 *   `event_id` differs from the delivery's `Heygen-Event-Id` (their relation is not documented).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAPIBackend from 'openapi-backend';
import { parse } from 'yaml';

export const SPEC_PATH = join(__dirname, '..', '..', 'providers', 'heygen', 'runtime', 'api', 'openapi.yaml');
export const FAKE_API_KEY = 'test-api-key-0123456789';
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface FakeEndpoint {
  endpoint_id: string;
  url: string;
  events: string[] | null;
  status: 'enabled' | 'disabled';
  created_at: string;
  entity_id: string | null;
  /** The one live signing secret. */
  secret: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly status: number;
}

export interface Fault {
  /** Which requests it applies to. Default: all. */
  readonly method?: string;
  readonly path?: RegExp;
  /** HTTP status to answer, or 'drop' to destroy the socket without an answer. */
  readonly status: number | 'drop';
  /** Retry-After header value (seconds) for 429. */
  readonly retryAfter?: string;
  /** How many matching requests it affects. @default 1 */
  times?: number;
  /** Error code in the envelope. */
  readonly code?: string;
  /**
   * The request is processed (a rotate-secret rotates) and then answered with `status`; for a call
   * with an Idempotency-Key that failure is the key's answer, replayed for 24 h (the worst case of a
   * provider that replays whatever it answered). Not with 'drop'.
   */
  readonly processed?: boolean;
}

export interface Slowdown {
  readonly method?: string;
  readonly path?: RegExp;
  readonly ms: number;
  times?: number;
}

export interface DeliveryOptions {
  /** Attempts in all, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** Backoff base (doubles per retry, capped at 1 s). @default 20 */
  readonly backoffBaseMs?: number;
  /** Per-attempt timeout, like HeyGen's 10 s. @default 10_000 */
  readonly timeoutMs?: number;
  /** Override the event id header. */
  readonly eventId?: string;
  /** Called before every attempt (tests can rotate in between). */
  readonly beforeAttempt?: (attempt: number) => Promise<void> | void;
}

export interface DeliveryResult {
  readonly delivered: boolean;
  readonly attempts: number;
  readonly statuses: number[];
  readonly eventId: string;
  readonly body: string;
}

export interface DeliveryStats {
  deliveries: number;
  attempts: number;
  firstAttemptRejections: number;
  delivered: number;
  undelivered: number;
}

/** An entry of the fake's event history (what GET /v3/webhooks/events lists). */
export interface FakeHistoryEvent {
  readonly event_id: string;
  readonly event_type: string;
  readonly event_data: Record<string, unknown>;
  readonly created_at: string;
  /** For the entity_id filter: the endpoint it went to. */
  readonly endpoint_id: string;
}

export interface FakeHeyGenOptions {
  readonly apiKey?: string;
  /** Validate requests against the spec. @default true */
  readonly validate?: boolean;
  /** Clock for idempotency expiry, created_at and the history's retention. @default Date.now (see {@link FakeHeyGenApi.useClock}) */
  readonly now?: () => number;
  /** Also accept `http://127.0.0.1` / `http://localhost` endpoint URLs (the sandbox's ingress). @default false */
  readonly allowLoopbackHttp?: boolean;
  /**
   * How long the event history keeps an entry (older ones are no longer listed). HeyGen documents no
   * retention; a model picks one to try a history that does not reach back far enough. @default unbounded
   */
  readonly historyRetentionMs?: number;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

interface IdempotencyEntry {
  state: 'in_flight' | 'done';
  reply?: Reply;
  expiresAt: number;
}

function loadDefinition(): Record<string, unknown> {
  const def = parse(readFileSync(SPEC_PATH, 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  // openapi-backend addresses operations by operationId; the spec leaves some out.
  for (const [path, item] of Object.entries(def.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op === 'object' && op !== null && !op.operationId) op.operationId = `${method} ${path}`;
    }
  }
  return def as unknown as Record<string, unknown>;
}

function eventTypesFromSpec(def: Record<string, unknown>): string[] {
  const schemas = (def.components as { schemas: Record<string, { enum?: string[] }> }).schemas;
  return [...(schemas.WebhookEventType?.enum ?? [])];
}

function err(status: number, code: string, message: string, param: string | null = null): Reply {
  return { status, body: { error: { code, message, param, doc_url: null } } };
}

export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

export class FakeHeyGenApi {
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly requests: RecordedRequest[] = [];
  /** Spec violations found in requests (client bugs) and in the fake's own answers (fake bugs). */
  readonly violations: string[] = [];
  readonly faults: Fault[] = [];
  readonly slowdowns: Slowdown[] = [];
  readonly stats: DeliveryStats = { deliveries: 0, attempts: 0, firstAttemptRejections: 0, delivered: 0, undelivered: 0 };
  /** Every secret ever issued per endpoint, oldest first (for assertions). */
  readonly issuedSecrets = new Map<string, string[]>();
  readonly eventTypes: string[];
  /** The event history, oldest first (listed newest first). */
  readonly history: FakeHistoryEvent[] = [];
  /** Videos `GET /v3/videos/{id}` describes (not in openapi.yaml: shape of heygen-videos.md), by id. */
  readonly videos = new Map<string, Record<string, unknown>>();
  /** Page size cap used by the fake for event-types (all in one page, like the CLI describes). */
  apiKey: string;

  private readonly api: InstanceType<typeof OpenAPIBackend>;
  private readonly idempotency = new Map<string, IdempotencyEntry>();
  private now: () => number;
  /** See {@link FakeHeyGenOptions.historyRetentionMs}. */
  historyRetentionMs: number;
  private readonly validate: boolean;
  private readonly urlPattern: RegExp;
  private server: Server | undefined;
  private seq = 0;
  url = '';

  private constructor(options: FakeHeyGenOptions, def: Record<string, unknown>) {
    this.apiKey = options.apiKey ?? FAKE_API_KEY;
    this.now = options.now ?? (() => Date.now());
    this.historyRetentionMs = options.historyRetentionMs ?? Number.POSITIVE_INFINITY;
    this.validate = options.validate ?? true;
    this.urlPattern = options.allowLoopbackHttp ? /^(https:\/\/[^/]|http:\/\/(127\.0\.0\.1|localhost)[:/])/ : /^https:\/\/[^/]/;
    this.eventTypes = eventTypesFromSpec(def);
    // quick: skip openapi-backend's OpenAPI 3.0 meta-validation (this spec is 3.1).
    this.api = new OpenAPIBackend({ definition: def as never, quick: true, strict: false, validate: true });
  }

  static async start(options: FakeHeyGenOptions = {}): Promise<FakeHeyGenApi> {
    const fake = new FakeHeyGenApi(options, loadDefinition());
    await fake.api.init();
    const server = createServer((req, res) => {
      fake.handle(req, res).catch((e: unknown) => {
        fake.violations.push(`fake crashed: ${String(e)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  // --- test controls ------------------------------------------------------------------------

  /** Forgets all state: endpoints, idempotency records, faults, recorded requests and stats. */
  reset(): void {
    this.endpoints.clear();
    this.idempotency.clear();
    this.requests.length = 0;
    this.violations.length = 0;
    this.faults.length = 0;
    this.slowdowns.length = 0;
    this.issuedSecrets.clear();
    this.history.length = 0;
    this.videos.clear();
    Object.assign(this.stats, { deliveries: 0, attempts: 0, firstAttemptRejections: 0, delivered: 0, undelivered: 0 });
  }

  /**
   * Moves the fake onto `now` (a model's virtual clock shared by every fake): idempotency expiry,
   * endpoint created_at, the history's created_at and retention all read it from here on.
   */
  useClock(now: () => number): this {
    this.now = now;
    return this;
  }

  /** Injects a fault for the next `times` matching requests. */
  inject(fault: Fault): this {
    this.faults.push({ times: 1, ...fault });
    return this;
  }

  /** Makes the next `times` matching requests take `ms` before they are processed. */
  slow(slowdown: Slowdown): this {
    this.slowdowns.push({ times: 1, ...slowdown });
    return this;
  }

  /** Adds an endpoint as if created elsewhere (skips the duplicate-URL check, e.g. to model duplicates). */
  seedEndpoint(url: string, events: string[] | null = null): FakeEndpoint {
    return this.addEndpoint(url, events, null);
  }

  /** Deletes an endpoint as if a user did it in the HeyGen dashboard. */
  deleteBehindOurBack(endpointId: string): void {
    this.endpoints.delete(endpointId);
  }

  endpointsFor(url: string): FakeEndpoint[] {
    return [...this.endpoints.values()].filter((e) => e.url === url);
  }

  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** Forgets idempotency records older than `ms` (as if time passed). */
  advanceIdempotencyClock(ms: number): void {
    for (const entry of this.idempotency.values()) entry.expiresAt -= ms;
  }

  // --- webhook delivery ---------------------------------------------------------------------

  /**
   * The endpoints HeyGen addresses an event of `type` to at this moment: the enabled ones whose
   * subscribed types (`events`, null: every type) hold it. An endpoint is sent only the types it
   * subscribes to WHEN the event happens (the v3 spec's `events`: "Event types this endpoint subscribes
   * to"; PATCH replaces the list): a type added later does not reach back, a type removed stops at once.
   */
  subscribersOf(type: string): FakeEndpoint[] {
    return [...this.endpoints.values()].filter(
      (e) => e.status === 'enabled' && (e.events === null || e.events.includes(type)),
    );
  }

  /**
   * An event happens in the account now (or at `at`): listed in the history once, addressed to every
   * endpoint subscribed to its type then ({@link subscribersOf}); with no subscriber nothing is
   * delivered and nothing listed. Returns the entry and the endpoints it was addressed to. Unlike
   * {@link emit}, which records an entry for the endpoint a test names.
   */
  occur(
    event: { event_type: string; event_data: Record<string, unknown> },
    at?: number,
  ): { entry: FakeHistoryEvent | undefined; addressed: FakeEndpoint[] } {
    const addressed = this.subscribersOf(event.event_type);
    const first = addressed[0];
    return { entry: first ? this.emit(first.endpoint_id, event, at) : undefined, addressed };
  }

  /**
   * Records an event in the history as delivered to `endpointId` (at `at`, default now) without
   * sending it: the relay was down, or every attempt failed. {@link deliver} records too.
   */
  emit(endpointId: string, event: { event_type: string; event_data: Record<string, unknown> }, at?: number): FakeHistoryEvent {
    const entry: FakeHistoryEvent = {
      event_id: `whe_${randomUUID().replace(/-/g, '')}`,
      event_type: event.event_type,
      event_data: event.event_data,
      created_at: new Date(at ?? this.now()).toISOString(),
      endpoint_id: endpointId,
    };
    this.history.push(entry);
    return entry;
  }

  /**
   * Delivers one signed event to `target` with the endpoint's current secret, retrying non-2xx
   * answers (and network errors) with a bounded exponential backoff. Each attempt is signed with
   * the secret live at that moment.
   */
  async deliver(
    endpointId: string,
    target: string,
    event: { event_type: string; event_data: Record<string, unknown> },
    options: DeliveryOptions = {},
  ): Promise<DeliveryResult> {
    const maxAttempts = options.maxAttempts ?? 6;
    const base = options.backoffBaseMs ?? 20;
    const eventId = options.eventId ?? `evt_${randomUUID().replace(/-/g, '')}`;
    const body = JSON.stringify(event);
    const statuses: number[] = [];
    this.stats.deliveries++;
    if (!this.endpoints.has(endpointId)) throw new Error(`deliver: endpoint ${endpointId} does not exist`);
    this.emit(endpointId, event);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      await options.beforeAttempt?.(attempt);
      const endpoint = this.endpoints.get(endpointId);
      if (!endpoint) throw new Error(`deliver: endpoint ${endpointId} does not exist`);
      this.stats.attempts++;
      let status = 0;
      try {
        const res = await fetch(target, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'heygen-signature': signBody(body, endpoint.secret),
            'heygen-timestamp': String(Math.floor(this.now() / 1000)),
            'heygen-event-id': eventId,
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        status = 0;
      }
      statuses.push(status);
      if (status >= 200 && status < 300) {
        this.stats.delivered++;
        return { delivered: true, attempts: attempt, statuses, eventId, body };
      }
      if (attempt === 1) this.stats.firstAttemptRejections++;
      if (attempt < maxAttempts) {
        await new Promise((r) => setTimeout(r, Math.min(1_000, base * 2 ** (attempt - 1))));
      }
    }
    this.stats.undelivered++;
    return { delivered: false, attempts: maxAttempts, statuses, eventId, body };
  }

  // --- HTTP handling ------------------------------------------------------------------------

  private addEndpoint(url: string, events: string[] | null, entityId: string | null): FakeEndpoint {
    this.seq++;
    const id = `ep_${this.seq.toString(36)}${randomBytes(6).toString('hex')}`;
    const endpoint: FakeEndpoint = {
      endpoint_id: id,
      url,
      events,
      status: 'enabled',
      created_at: new Date(this.now() + this.seq).toISOString(),
      entity_id: entityId,
      secret: this.newSecret(id),
    };
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  private newSecret(endpointId: string): string {
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const list = this.issuedSecrets.get(endpointId) ?? [];
    list.push(secret);
    this.issuedSecrets.set(endpointId, list);
    return secret;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    }
    const answer = await this.answer((req.method ?? 'GET').toUpperCase(), req.url ?? '/', headers, raw);
    if (answer === 'drop') {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.text);
  }

  /**
   * The same API without a socket: a `fetch` for HeyGenWebhookClient that runs every request
   * through exactly the path the HTTP server uses (faults, auth, OpenAPI validation, idempotency),
   * in-process. For tests that schedule interleavings deterministically (no I/O timing involved).
   */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k.toLowerCase()] = v;
    });
    const raw = typeof init?.body === 'string' ? init.body : '';
    const answer = await this.answer((init?.method ?? 'GET').toUpperCase(), `${url.pathname}${url.search}`, headers, raw);
    if (answer === 'drop') throw new TypeError('fetch failed (connection dropped)');
    return new Response(answer.status === 204 ? null : answer.text, { status: answer.status, headers: answer.headers });
  };

  private async answer(
    method: string,
    target: string,
    headers: Record<string, string>,
    raw: string,
  ): Promise<{ status: number; headers: Record<string, string>; text: string } | 'drop'> {
    const url = new URL(target, 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    let body: unknown;
    let bodyParseError = false;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        bodyParseError = true;
      }
    }

    const record = (status: number): void => {
      const { 'x-api-key': _key, ...safeHeaders } = headers;
      this.requests.push({ method, path: url.pathname, query, headers: safeHeaders, body, status });
    };

    const send = (reply: Reply) => {
      record(reply.status);
      return {
        status: reply.status,
        headers: { 'content-type': 'application/json', 'x-request-id': `req_${randomUUID()}`, ...(reply.headers ?? {}) },
        text: JSON.stringify(reply.body),
      };
    };

    // Fault injection happens "in front of" the API: nothing is processed or remembered.
    const fault = this.take(this.faults, method, url.pathname);
    const failAfter = fault?.processed === true && fault.status !== 'drop' ? fault.status : undefined;
    if (fault && failAfter === undefined) {
      if (fault.status === 'drop') {
        record(0);
        return 'drop';
      }
      const code = fault.code ?? (fault.status === 429 ? 'rate_limit_exceeded' : 'internal_error');
      return send({
        ...err(fault.status, code, fault.status === 429 ? 'Too many requests.' : 'Injected failure.'),
        headers: fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {},
      });
    }

    if (headers['x-api-key'] !== this.apiKey) {
      return send(err(401, 'authentication_failed', 'Invalid or expired API key. Verify your x-api-key header.'));
    }

    const video = method === 'GET' ? /^\/v3\/videos\/([^/]+)$/.exec(url.pathname) : null;
    if (video?.[1]) {
      const v = this.videos.get(decodeURIComponent(video[1]));
      return send(v ? { status: 200, body: { data: v } } : err(404, 'not_found', 'Video not found.'));
    }
    const opRequest = { method: method.toLowerCase(), path: url.pathname, headers, query, body };
    const operation = this.api.matchOperation(opRequest);
    if (!operation) {
      return send(err(404, 'not_found', `No route ${method} ${url.pathname}.`));
    }
    if (this.validate) {
      const problems: string[] = [];
      if (bodyParseError) problems.push('body is not JSON');
      if (raw !== '' && !operation.requestBody) problems.push(`${operation.operationId}: the spec defines no request body`);
      if (raw !== '' && headers['content-type']?.startsWith('application/json') !== true) {
        problems.push('content-type is not application/json');
      }
      const result = this.api.validateRequest(opRequest, operation);
      if (!result.valid) {
        for (const e of result.errors ?? []) problems.push(`${operation.operationId}: ${e.instancePath} ${e.message}`);
      }
      if (problems.length > 0) {
        this.violations.push(...problems.map((p) => `request ${method} ${url.pathname}: ${p}`));
        return send(err(400, 'invalid_parameter', problems.join('; ')));
      }
    }

    const reply = await this.dispatch(method, url.pathname, query, headers, body, operation.operationId ?? '', failAfter);
    if (this.validate && reply.status < 300) {
      const check = this.api.validateResponse(reply.body, operation, reply.status);
      if (check.errors && check.errors.length > 0) {
        this.violations.push(
          ...check.errors.map((e) => `response ${operation.operationId} ${reply.status}: ${e.instancePath} ${e.message}`),
        );
      }
    }
    return send(reply);
  }

  private take<T extends { method?: string; path?: RegExp; times?: number }>(
    list: T[],
    method: string,
    path: string,
  ): T | undefined {
    const idx = list.findIndex((f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)));
    if (idx < 0) return undefined;
    const item = list[idx] as T;
    item.times = (item.times ?? 1) - 1;
    if (item.times <= 0) list.splice(idx, 1);
    return item;
  }

  private async dispatch(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body: unknown,
    operationId: string,
    failAfter?: number,
  ): Promise<Reply> {
    const key = headers['idempotency-key'];
    const keyed = key !== undefined && (operationId === 'createWebhookEndpoint' || operationId === 'rotateWebhookEndpointSecret');
    const scope = `${method} ${path} ${key}`;
    if (keyed) {
      const entry = this.idempotency.get(scope);
      if (entry && entry.expiresAt > this.now()) {
        if (entry.state === 'in_flight') {
          return err(409, 'request_in_progress', 'A request with this Idempotency-Key is already in progress. Retry shortly.');
        }
        return entry.reply as Reply;
      }
      this.idempotency.set(scope, { state: 'in_flight', expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
    }
    try {
      const slow = this.take(this.slowdowns, method, path);
      if (slow) await new Promise((r) => setTimeout(r, slow.ms));
      const processed = this.process(method, path, query, body, operationId);
      const reply = failAfter === undefined ? processed : err(failAfter, 'internal_error', 'Injected failure after processing.');
      if (keyed && failAfter !== undefined) {
        this.idempotency.set(scope, { state: 'done', reply, expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
      } else if (keyed) {
        // Like Stripe-style idempotency: answers produced by processing are replayed, 5xx are not.
        if (reply.status >= 500) this.idempotency.delete(scope);
        else this.idempotency.set(scope, { state: 'done', reply, expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
      }
      return reply;
    } catch (e) {
      if (keyed) this.idempotency.delete(scope);
      throw e;
    }
  }

  private process(method: string, path: string, query: Record<string, string>, body: unknown, operationId: string): Reply {
    const idMatch = /^\/v3\/webhooks\/endpoints\/([^/]+)/.exec(path);
    const endpointId = idMatch?.[1] ? decodeURIComponent(idMatch[1]) : undefined;
    const view = (e: FakeEndpoint, withSecret: boolean) => ({
      endpoint_id: e.endpoint_id,
      url: e.url,
      events: e.events,
      status: e.status,
      created_at: e.created_at,
      secret: withSecret ? e.secret : null,
    });
    switch (operationId) {
      case 'get /v3/webhooks/endpoints': {
        const limit = query.limit !== undefined ? Number(query.limit) : 10;
        let offset = 0;
        if (query.token !== undefined) {
          const decoded = Number(Buffer.from(query.token, 'base64url').toString('utf8').replace(/^off:/, ''));
          if (!Number.isInteger(decoded) || decoded < 0) return err(400, 'invalid_parameter', 'Invalid token.', 'token');
          offset = decoded;
        }
        const all = [...this.endpoints.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
        const page = all.slice(offset, offset + limit);
        const hasMore = offset + limit < all.length;
        return {
          status: 200,
          body: {
            data: page.map((e) => view(e, false)),
            has_more: hasMore,
            next_token: hasMore ? Buffer.from(`off:${offset + limit}`).toString('base64url') : null,
          },
        };
      }
      case 'createWebhookEndpoint': {
        const b = body as { url: string; events?: string[] | null; entity_id?: string | null };
        if (!this.urlPattern.test(b.url)) {
          return err(400, 'invalid_parameter', "'url' must be a publicly accessible HTTPS URL.", 'url');
        }
        if (this.endpointsFor(b.url).length > 0) {
          return err(409, 'conflict', 'A webhook endpoint with this URL already exists for this account.');
        }
        const e = this.addEndpoint(b.url, b.events ?? null, b.entity_id ?? null);
        return { status: 200, body: { data: view(e, true) } };
      }
      case 'updateWebhookEndpoint': {
        const e = endpointId ? this.endpoints.get(endpointId) : undefined;
        if (!e) return err(404, 'webhook_not_found', 'Webhook endpoint not found.');
        const b = body as { url?: string | null; events?: string[] | null };
        if (!('url' in b) && !('events' in b)) {
          return err(400, 'invalid_parameter', "At least one of 'url' or 'events' must be provided.");
        }
        if (typeof b.url === 'string' && b.url !== e.url) {
          if (this.endpointsFor(b.url).length > 0) {
            return err(409, 'conflict', 'A webhook endpoint with this URL already exists for this account.');
          }
          e.url = b.url;
        }
        if ('events' in b) e.events = b.events ?? null;
        return { status: 200, body: { data: view(e, false) } };
      }
      case 'delete /v3/webhooks/endpoints/{endpoint_id}': {
        if (!endpointId || !this.endpoints.delete(endpointId)) {
          return err(404, 'webhook_not_found', 'Webhook endpoint not found.');
        }
        return { status: 200, body: { data: {}, error: null } };
      }
      case 'rotateWebhookEndpointSecret': {
        const e = endpointId ? this.endpoints.get(endpointId) : undefined;
        if (!e) return err(404, 'webhook_not_found', 'Webhook endpoint not found.');
        e.secret = this.newSecret(e.endpoint_id); // the old one is invalid from now on
        return { status: 200, body: { data: { endpoint_id: e.endpoint_id, secret: e.secret } } };
      }
      case 'get /v3/webhooks/event-types':
        return {
          status: 200,
          body: {
            data: this.eventTypes.map((t) => ({ event_type: t, description: `Fires on ${t}.` })),
            has_more: false,
            next_token: null,
          },
        };
      case 'listWebhookEvents': {
        const limit = query.limit !== undefined ? Number(query.limit) : 10;
        let offset = 0;
        if (query.token !== undefined) {
          const decoded = Number(Buffer.from(query.token, 'base64url').toString('utf8').replace(/^evt:/, ''));
          if (!Number.isInteger(decoded) || decoded < 0) return err(400, 'invalid_parameter', 'Invalid token.', 'token');
          offset = decoded;
        }
        const retainedFrom = this.now() - this.historyRetentionMs;
        const all = [...this.history]
          .reverse()
          .filter(
            (e) =>
              Date.parse(e.created_at) >= retainedFrom &&
              (query.event_type === undefined || e.event_type === query.event_type) &&
              (query.entity_id === undefined || e.endpoint_id === query.entity_id),
          );
        const page = all.slice(offset, offset + limit);
        const hasMore = offset + limit < all.length;
        return {
          status: 200,
          body: {
            data: page.map(({ endpoint_id: _e, ...e }) => e),
            has_more: hasMore,
            next_token: hasMore ? Buffer.from(`evt:${offset + limit}`).toString('base64url') : null,
          },
        };
      }
      default:
        return err(404, 'not_found', `The fake does not implement ${method} ${path}.`);
    }
  }
}
