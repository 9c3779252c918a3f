/**
 * A stateful fake of JoggAI's v2 webhook API on loopback, and of its deliveries.
 *
 * API: GET /v2/endpoints, POST /v2/endpoint, PUT /v2/endpoint/{id}, DELETE /v2/endpoint/{id},
 * GET /v2/events. Requests are validated against providers/joggai/runtime/api/openapi.yaml with
 * openapi-backend (the document has no operationIds; the fake names them `<method> <path>`).
 * Answers use JoggAI's envelope `{code, msg, data}`: 0 ok, 10104 not found, 10105 invalid key,
 * 40000 parameter error, 50000 system error (injectable). [ASSUMPTION] business errors come with
 * HTTP 200, as the OpenAPI only documents 200; the client does not depend on it.
 * The account holds at most 20 endpoints (JoggAI's documented limit).
 *
 * Deliveries: `deliver(event)` POSTs the body to every enabled endpoint subscribed to the event,
 * signed with that endpoint's secret (X-Webhook-Signature, X-Webhook-Event), and retries a non-2xx
 * or a network error up to `maxRetries` times, `retryDelayMs` apart (JoggAI v1: 3 × 5 s).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import addFormats from 'ajv-formats';
import { type Request as OabRequest, OpenAPIBackend } from 'openapi-backend';
import { parse } from 'yaml';
import { JOGGAI_EVENT_TYPES } from '../../providers/joggai/runtime/events.js';

export const OPENAPI_PATH = join(__dirname, '..', '..', 'providers', 'joggai', 'runtime', 'api', 'openapi.yaml');

export interface FakeEndpoint {
  endpoint_id: string;
  url: string;
  secret: string;
  status: 'enabled' | 'disabled';
  events: string[];
  username: string;
  created_at: number;
}

export type FakeOperation = 'list' | 'create' | 'update' | 'delete' | 'events';

export interface DeliveryAttempt {
  readonly endpointId: string;
  readonly url: string;
  readonly eventKey: string;
  readonly attempt: number;
  /** HTTP status, or 0 for a network error. */
  readonly status: number;
}

export interface DeliveryResult {
  readonly eventKey: string;
  /** Per endpoint the event was sent to: did some attempt get a 2xx? */
  readonly endpoints: { endpointId: string; delivered: boolean; attempts: number }[];
}

export interface FakeJoggAiOptions {
  readonly apiKey?: string;
  readonly limit?: number;
  /** JoggAI requires public HTTPS; the fake lets loopback http through unless this is set. */
  readonly requireHttps?: boolean;
  readonly maxRetries?: number;
  readonly retryDelayMs?: number;
}

interface Envelope {
  code: number;
  msg: string;
  data?: unknown;
}

let definitionCache: unknown;
function definition(): unknown {
  if (!definitionCache) {
    const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
    doc.paths = Object.fromEntries(Object.entries(doc.paths).filter(([p]) => /^\/v2\/(endpoints?|events)(\/|$)/.test(p)));
    for (const [p, item] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(item))
        if (op && typeof op === 'object' && !op.operationId) op.operationId = `${m} ${p}`;
    definitionCache = doc;
  }
  return structuredClone(definitionCache);
}

export class FakeJoggAi {
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly calls: { method: string; path: string; code: number }[] = [];
  readonly attempts: DeliveryAttempt[] = [];
  apiKey: string;
  limit: number;
  maxRetries: number;
  retryDelayMs: number;
  private readonly requireHttps: boolean;
  private readonly failures: { op: FakeOperation; code: number }[] = [];
  private server: Server | undefined;
  private api: OpenAPIBackend | undefined;
  private seq = 0;
  url = '';

  constructor(options: FakeJoggAiOptions = {}) {
    this.apiKey = options.apiKey ?? 'jogg_test_key';
    this.limit = options.limit ?? 20;
    this.requireHttps = options.requireHttps ?? false;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 5_000;
  }

  async start(): Promise<string> {
    this.api = new OpenAPIBackend({
      definition: definition() as never,
      strict: false,
      validate: true,
      quick: false,
      ajvOpts: { strict: false },
      customizeAjv: (ajv) => {
        addFormats(ajv as never);
        return ajv;
      },
    });
    await this.api.init();
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** The next `times` calls of `op` answer `code` (e.g. 50000) instead of doing anything. */
  failNext(op: FakeOperation, code: number, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ op, code });
  }

  /** Adds an endpoint directly (someone else's, or one left behind). */
  seed(partial: Partial<FakeEndpoint> & { url: string }): FakeEndpoint {
    const e = this.newEndpoint(partial.url, partial.status ?? 'enabled', partial.events ?? [...JOGGAI_EVENT_TYPES]);
    Object.assign(e, partial);
    this.endpoints.set(e.endpoint_id, e);
    return e;
  }

  private newEndpoint(url: string, status: 'enabled' | 'disabled', events: string[]): FakeEndpoint {
    this.seq++;
    return {
      endpoint_id: `wh_${String(100000000 + this.seq)}`,
      url,
      secret: `whsec_${randomBytes(12).toString('hex')}`,
      status,
      events: [...events],
      username: 'relay-test',
      created_at: Math.floor(Date.now() / 1000) + this.seq, // strictly increasing
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = (req.method ?? 'GET').toLowerCase();
    const send = (env: Envelope, http = 200) => {
      this.calls.push({ method: method.toUpperCase(), path, code: env.code });
      res.writeHead(http, { 'content-type': 'application/json' });
      res.end(JSON.stringify(env));
    };
    const api = this.api;
    if (!api) return send({ code: 50000, msg: 'not started' }, 500);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send({ code: 40000, msg: 'invalid JSON body' });
      }
    }
    const oabReq: OabRequest = { method, path, headers: req.headers as Record<string, string>, body };
    const operation = api.matchOperation(oabReq);
    if (!operation) return send({ code: 10104, msg: 'route not found' }, 404);
    if (req.headers['x-api-key'] !== this.apiKey) return send({ code: 10105, msg: 'invalid api key' });
    const validation = api.validateRequest(oabReq, operation);
    if (!validation.valid)
      return send({
        code: 40000,
        msg: `parameter error: ${(validation.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ')}`,
      });
    const op: FakeOperation | undefined = (
      {
        'get /v2/endpoints': 'list',
        'post /v2/endpoint': 'create',
        'put /v2/endpoint/{endpoint_id}': 'update',
        'delete /v2/endpoint/{endpoint_id}': 'delete',
        'get /v2/events': 'events',
      } as Record<string, FakeOperation>
    )[operation.operationId ?? ''];
    const injected = this.failures.findIndex((f) => f.op === op);
    if (injected >= 0) {
      const [f] = this.failures.splice(injected, 1);
      return send({ code: f?.code ?? 50000, msg: f?.code === 50000 ? 'system error' : 'injected error' });
    }
    const id = decodeURIComponent(path.split('/')[3] ?? '');
    const input = body as { url: string; status: 'enabled' | 'disabled'; events: string[] };
    const known = new Set<string>(JOGGAI_EVENT_TYPES);
    const badInput = (): string | null => {
      if (this.requireHttps && !input.url.startsWith('https://')) return 'url must be public https';
      const unknown = input.events.find((e) => !known.has(e));
      return unknown ? `unknown event ${unknown}` : input.events.length === 0 ? 'events must not be empty' : null;
    };
    switch (op) {
      case 'list':
        return send({
          code: 0,
          msg: 'Success',
          data: { endpoints: [...this.endpoints.values()].map((e) => ({ ...e, events: [...e.events] })) },
        });
      case 'events':
        return send({ code: 0, msg: 'Success', data: { events: [...JOGGAI_EVENT_TYPES] } });
      case 'create': {
        const bad = badInput();
        if (bad) return send({ code: 40000, msg: bad });
        if (this.endpoints.size >= this.limit) return send({ code: 40000, msg: `endpoint limit of ${this.limit} reached` });
        const e = this.newEndpoint(input.url, input.status, input.events);
        this.endpoints.set(e.endpoint_id, e);
        return send({ code: 0, msg: 'Success', data: { ...e } });
      }
      case 'update': {
        const e = this.endpoints.get(id);
        if (!e) return send({ code: 10104, msg: 'record not found' });
        const bad = badInput();
        if (bad) return send({ code: 40000, msg: bad });
        Object.assign(e, { url: input.url, status: input.status, events: [...input.events] });
        return send({ code: 0, msg: 'Success', data: { ...e } });
      }
      case 'delete': {
        if (!this.endpoints.delete(id)) return send({ code: 10104, msg: 'record not found' });
        return send({ code: 0, msg: 'Success', data: { message: 'webhook deleted' } });
      }
      default:
        return send({ code: 10104, msg: 'route not found' }, 404);
    }
  }

  /**
   * Delivers one event (the body object, serialized once per endpoint exactly as JoggAI would) to
   * every enabled endpoint subscribed to it, with retries. Endpoints are taken as of the call.
   */
  async deliver(event: { event: string; event_id?: string; [k: string]: unknown }): Promise<DeliveryResult> {
    const body = JSON.stringify(event);
    const eventKey = event.event_id ?? body;
    const targets = [...this.endpoints.values()].filter((e) => e.status === 'enabled' && e.events.includes(event.event));
    const endpoints = await Promise.all(
      targets.map(async (e) => {
        const signature = createHmac('sha256', e.secret).update(body).digest('hex');
        for (let attempt = 1; attempt <= 1 + this.maxRetries; attempt++) {
          let status = 0;
          try {
            const res = await fetch(e.url, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'x-webhook-event': event.event,
                'x-webhook-signature': signature,
                'user-agent': 'JoggAI-Webhook/2.0',
              },
              body,
            });
            status = res.status;
            await res.arrayBuffer();
          } catch {
            status = 0;
          }
          this.attempts.push({ endpointId: e.endpoint_id, url: e.url, eventKey, attempt, status });
          if (status >= 200 && status < 300) return { endpointId: e.endpoint_id, delivered: true, attempts: attempt };
          if (attempt <= this.maxRetries) await new Promise((r) => setTimeout(r, this.retryDelayMs));
        }
        return { endpointId: e.endpoint_id, delivered: false, attempts: 1 + this.maxRetries };
      }),
    );
    return { eventKey, endpoints };
  }
}
