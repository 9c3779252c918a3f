/**
 * Typed client for HeyGen's v3 webhook management API (plain `fetch`).
 *
 * Types come from `schema.d.ts`, generated from `openapi.yaml` by `npm run gen:heygen-types`.
 *
 * Retry rules (each wait bounded by the caller's deadline and AbortSignal):
 * - 429: retried for every method (the request was not processed), waiting `Retry-After`.
 * - 409 `request_in_progress`: a request with the same Idempotency-Key is in flight; retried after
 *   a short wait, after which HeyGen replays the original answer.
 * - 5xx and network errors (incl. a per-attempt timeout): retried only when repeating is safe:
 *   GET, DELETE, or a request carrying an Idempotency-Key.
 * - 401/403: final, {@link HeyGenAuthError}. 404: final, {@link HeyGenNotFoundError}.
 *   409 `conflict`: final, {@link HeyGenConflictError}. Other 4xx: final, {@link HeyGenApiError}.
 */

import { type JsonNode, member, parseLossless } from '../../../../functions/core/canonical-json.js';
import { heygenEventKeyOf } from '../event-key.js';
import {
  HeyGenApiError,
  type HeyGenApiErrorDetails,
  HeyGenAuthError,
  HeyGenConflictError,
  HeyGenDeadlineError,
  HeyGenError,
  HeyGenNetworkError,
  HeyGenNotFoundError,
  HeyGenRateLimitError,
  HeyGenResponseError,
  redact,
} from './errors.js';
import type { components } from './schema.js';

export type WebhookEndpoint = components['schemas']['WebhookEndpointResponse'];
export type WebhookEventType = components['schemas']['WebhookEventType'];
export type CreateEndpointRequest = components['schemas']['CreateWebhookEndpointRequest'];
export type UpdateEndpointRequest = components['schemas']['UpdateWebhookEndpointRequest'];
export type RotatedSecret = components['schemas']['RotateSecretResponseData'];
/**
 * A video as `GET /v3/videos/{video_id}` describes it. Not in openapi.yaml (HeyGen's v3 webhook
 * spec): the shape follows heygen-com/heygen-cli gen/video.go (../../../../shared/reference/heygen-videos.md):
 * `id` and `status` required, the rest nullable; the URLs are presigned and live 7 days.
 */
export interface HeyGenVideo {
  readonly id: string;
  readonly status: string;
  readonly video_url?: string | null;
  readonly captioned_video_url?: string | null;
  readonly subtitle_url?: string | null;
  readonly thumbnail_url?: string | null;
  readonly gif_url?: string | null;
  readonly failure_code?: string | null;
  readonly failure_message?: string | null;
}
export interface EventTypeInfo {
  readonly event_type: string;
  readonly description: string;
}

export const DEFAULT_HEYGEN_API_URL = 'https://api.heygen.com';

/** The Idempotency-Key pattern from the spec. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_\-:.]{1,255}$/;

export interface HeyGenClientOptions {
  /** HeyGen API key, sent as `x-api-key`. Never logged, never put into an error message. */
  readonly apiKey: string;
  /** @default https://api.heygen.com */
  readonly baseUrl?: string;
  /** Milliseconds left for the whole operation (e.g. Lambda `context.getRemainingTimeInMillis`). @default no deadline */
  readonly deadline?: () => number;
  /** Aborts every in-flight request and wait. */
  readonly signal?: AbortSignal;
  /** Upper bound of one HTTP attempt. @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Attempts per call, first one included. @default 5 */
  readonly maxAttempts?: number;
  /** Time kept back from the deadline for the caller to finish (store the secret, log). @default 1_000 */
  readonly reserveMs?: number;
  /** Wait before retrying 409 `request_in_progress` (grows linearly per attempt). @default 500 */
  readonly inProgressWaitMs?: number;
  /** Base of the exponential backoff for 5xx/network errors and 429 without Retry-After. @default 200 */
  readonly backoffBaseMs?: number;
  /** Cap of a single wait, `Retry-After` included. @default 30_000 */
  readonly maxWaitMs?: number;
  /** Injected for tests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Injected for tests: resolves after `ms` or rejects when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Called before each retry wait (for logs/metrics). Receives no secrets. */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  readonly method: string;
  readonly path: string;
  readonly attempt: number;
  readonly reason: 'rate_limited' | 'request_in_progress' | 'server_error' | 'network_error';
  readonly status?: number | undefined;
  readonly waitMs: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Makes the call safe to repeat; must match {@link IDEMPOTENCY_KEY_PATTERN}. */
  readonly idempotencyKey?: string;
}

/** The operations the registrar and rotation need; implemented by {@link HeyGenWebhookClient}. */
export interface HeyGenWebhookApi {
  listEndpoints(options?: CallOptions): Promise<WebhookEndpoint[]>;
  createEndpoint(body: { url: string; events: readonly string[] | null }, options?: CallOptions): Promise<WebhookEndpoint>;
  updateEndpoint(
    endpointId: string,
    body: { url?: string; events?: readonly string[] | null },
    options?: CallOptions,
  ): Promise<WebhookEndpoint>;
  deleteEndpoint(endpointId: string, options?: CallOptions): Promise<void>;
  rotateSecret(endpointId: string, options?: CallOptions): Promise<RotatedSecret>;
  listEventTypes(options?: CallOptions): Promise<EventTypeInfo[]>;
  /** One page of HeyGen's history of delivered events (GET /v3/webhooks/events). */
  listEvents?(query: EventHistoryQuery, options?: CallOptions): Promise<EventHistoryPage>;
}

export interface EventHistoryQuery {
  readonly eventType?: string;
  readonly entityId?: string;
  /** 1-100. @default 100 */
  readonly limit?: number;
  /** `nextToken` of the previous page. */
  readonly token?: string;
}

/** An entry of HeyGen's event history, with what the relay needs to publish and dedupe it. */
export interface HistoryEvent {
  readonly eventId: string;
  readonly eventType: string;
  /** ISO 8601, as HeyGen lists it. */
  readonly createdAt: string;
  /** The shared dedup key of the event (providers/heygen/event-key.ts), the same as its live delivery's. */
  readonly eventKey: string;
  /**
   * A delivery body rebuilt from the entry: `{"event_type":…,"event_data":…}` with `event_data`'s
   * source text exactly as HeyGen sent it (every digit kept), for the provider's normalize.
   */
  readonly body: string;
}

export interface EventHistoryPage {
  readonly events: HistoryEvent[];
  readonly nextToken: string | null;
}

interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  readonly idempotencyKey?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Parses a 2xx body. @default JSON.parse */
  readonly parse?: ((text: string) => unknown) | undefined;
}

const MAX_PAGES = 1_000;

/** A request ready to send (see HeyGenWebhookClient.prepare). */
interface PreparedCall {
  readonly what: string;
  /** Sending it again cannot change anything twice (GET, DELETE, or an Idempotency-Key). */
  readonly repeatable: boolean;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly bodyText: string | undefined;
}

/** A failed attempt that may be retried after `waitMs` (if the budget allows; else `err` is thrown). */
interface Retry {
  readonly reason: RetryInfo['reason'];
  readonly status: number | undefined;
  readonly waitMs: number;
  readonly err: HeyGenError;
}

type Attempt<T> = { readonly value: T } | { readonly retry: Retry };

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses `Retry-After` (delta seconds or HTTP date) into ms; undefined when absent/unparsable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

export class HeyGenWebhookClient implements HeyGenWebhookApi {
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly deadline: () => number;
  private readonly signal: AbortSignal | undefined;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly reserveMs: number;
  private readonly inProgressWaitMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxWaitMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: HeyGenClientOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('HeyGen API key is empty');
    }
    this.apiKey = options.apiKey.trim();
    this.baseUrl = (options.baseUrl ?? DEFAULT_HEYGEN_API_URL).replace(/\/+$/, '');
    this.deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
    this.signal = options.signal;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.reserveMs = options.reserveMs ?? 1_000;
    this.inProgressWaitMs = options.inProgressWaitMs ?? 500;
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
  }

  /** Every endpoint of the account, following `has_more`/`next_token` (query param `token`). */
  async listEndpoints(options: CallOptions = {}): Promise<WebhookEndpoint[]> {
    return this.listAll('list endpoints', '/v3/webhooks/endpoints', { limit: 100 }, options.signal, (item) =>
      assertEndpoint(item, 'list endpoints'),
    );
  }

  /** POST /v3/webhooks/endpoints. The answer carries the signing secret: store it. */
  async createEndpoint(
    body: { url: string; events: readonly string[] | null },
    options: CallOptions = {},
  ): Promise<WebhookEndpoint> {
    const payload: CreateEndpointRequest = {
      url: body.url,
      events: body.events === null ? null : ([...body.events] as WebhookEventType[]),
    };
    const res = await this.request<{ data?: unknown }>({
      method: 'POST',
      path: '/v3/webhooks/endpoints',
      body: payload,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
    return assertEndpoint(res.data, 'create endpoint');
  }

  /** PATCH /v3/webhooks/endpoints/{id}. `events` replaces the whole list (null = all events). */
  async updateEndpoint(
    endpointId: string,
    body: { url?: string; events?: readonly string[] | null },
    options: CallOptions = {},
  ): Promise<WebhookEndpoint> {
    const payload: UpdateEndpointRequest = {};
    if (body.url !== undefined) payload.url = body.url;
    if (body.events !== undefined) {
      payload.events = body.events === null ? null : ([...body.events] as WebhookEventType[]);
    }
    const res = await this.request<{ data?: unknown }>({
      method: 'PATCH',
      path: `/v3/webhooks/endpoints/${encodeURIComponent(endpointId)}`,
      body: payload,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
    return assertEndpoint(res.data, 'update endpoint');
  }

  /** DELETE /v3/webhooks/endpoints/{id}. */
  async deleteEndpoint(endpointId: string, options: CallOptions = {}): Promise<void> {
    await this.request<unknown>({
      method: 'DELETE',
      path: `/v3/webhooks/endpoints/${encodeURIComponent(endpointId)}`,
      signal: options.signal,
    });
  }

  /**
   * POST /v3/webhooks/endpoints/{id}/rotate-secret. HeyGen invalidates the old secret at once.
   * Pass an Idempotency-Key so that a retry (or a crashed-and-retried caller) gets the same secret.
   */
  async rotateSecret(endpointId: string, options: CallOptions = {}): Promise<RotatedSecret> {
    const res = await this.request<{ data?: unknown }>({
      method: 'POST',
      path: `/v3/webhooks/endpoints/${encodeURIComponent(endpointId)}/rotate-secret`,
      idempotencyKey: options.idempotencyKey,
      signal: options.signal,
    });
    const data = res.data as Partial<RotatedSecret> | undefined;
    if (
      typeof data !== 'object' ||
      data === null ||
      typeof data.endpoint_id !== 'string' ||
      typeof data.secret !== 'string' ||
      data.secret === ''
    ) {
      throw new HeyGenResponseError('rotate secret: response lacks endpoint_id/secret');
    }
    return { endpoint_id: data.endpoint_id, secret: data.secret };
  }

  /**
   * GET /v3/webhooks/event-types. The spec defines no query parameters for it; the response has
   * `has_more`/`next_token`, so a further page is fetched with `token` like the other list calls.
   */
  async listEventTypes(options: CallOptions = {}): Promise<EventTypeInfo[]> {
    return this.listAll('list event types', '/v3/webhooks/event-types', {}, options.signal, (item) => {
      const it = item as Partial<EventTypeInfo> | null;
      if (typeof it?.event_type !== 'string') throw new HeyGenResponseError('list event types: item lacks event_type');
      return { event_type: it.event_type, description: typeof it.description === 'string' ? it.description : '' };
    });
  }

  /** Every item of a list call, page by page (`token` = the previous page's `next_token`). */
  private async listAll<T>(
    what: string,
    path: string,
    query: Record<string, number>,
    signal: AbortSignal | undefined,
    item: (raw: unknown) => T,
  ): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.request<{ data?: unknown; has_more?: unknown; next_token?: unknown }>({
        method: 'GET',
        path,
        query: { ...query, token },
        signal,
      });
      if (!Array.isArray(body.data)) throw new HeyGenResponseError(`${what}: \`data\` is not an array`);
      for (const raw of body.data) all.push(item(raw));
      const next = typeof body.next_token === 'string' && body.next_token !== '' ? body.next_token : undefined;
      if (body.has_more !== true || next === undefined) return all;
      if (seen.has(next)) throw new HeyGenResponseError(`${what}: pagination cursor repeated`);
      seen.add(next);
      token = next;
    }
    throw new HeyGenResponseError(`${what}: more than ${MAX_PAGES} pages`);
  }

  /**
   * GET /v3/webhooks/events, one page. The body is parsed losslessly (core/canonical-json.ts), so an
   * entry's `event_data` keeps HeyGen's digits both in its key and in the rebuilt body.
   */
  async listEvents(query: EventHistoryQuery = {}, options: CallOptions = {}): Promise<EventHistoryPage> {
    let source = '';
    const root = await this.request<JsonNode>({
      method: 'GET',
      path: '/v3/webhooks/events',
      query: { event_type: query.eventType, entity_id: query.entityId, limit: query.limit ?? 100, token: query.token },
      signal: options.signal,
      parse: (text) => {
        source = text;
        return parseLossless(text);
      },
    });
    const data = member(root, 'data');
    if (data?.t !== 'array') throw new HeyGenResponseError('list events: `data` is not an array');
    const events = data.items.map((item): HistoryEvent => {
      const field = (name: string) => {
        const v = member(item, name);
        if (v?.t !== 'string') throw new HeyGenResponseError(`list events: an entry lacks ${name}`);
        return v.value;
      };
      const eventType = field('event_type');
      const eventData = member(item, 'event_data');
      if (eventData?.t !== 'object') throw new HeyGenResponseError('list events: an entry has no event_data object');
      return {
        eventId: field('event_id'),
        eventType,
        createdAt: field('created_at'),
        eventKey: heygenEventKeyOf(eventType, eventData, source),
        body: `{"event_type":${JSON.stringify(eventType)},"event_data":${source.slice(eventData.start, eventData.end)}}`,
      };
    });
    const hasMore = member(root, 'has_more');
    const next = member(root, 'next_token');
    const nextToken =
      hasMore?.t === 'literal' && hasMore.text === 'true' && next?.t === 'string' && next.value !== '' ? next.value : null;
    return { events, nextToken };
  }

  /** GET /v3/videos/{video_id}: the video's status and fresh presigned links (HeyGenVideo). */
  async getVideo(videoId: string, options: CallOptions = {}): Promise<HeyGenVideo> {
    const res = await this.request<{ data?: unknown }>({
      method: 'GET',
      path: `/v3/videos/${encodeURIComponent(videoId)}`,
      signal: options.signal,
    });
    const data = res.data as Partial<HeyGenVideo> | null | undefined;
    if (typeof data !== 'object' || data === null || typeof data.id !== 'string' || typeof data.status !== 'string')
      throw new HeyGenResponseError('get video: response lacks id/status');
    return data as HeyGenVideo;
  }

  // ---------------------------------------------------------------------------------------------

  private remaining(): number {
    return this.deadline() - this.reserveMs;
  }

  private combinedSignal(callSignal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
    const signals: AbortSignal[] = [AbortSignal.timeout(Math.max(1, timeoutMs))];
    if (this.signal) signals.push(this.signal);
    if (callSignal) signals.push(callSignal);
    return AbortSignal.any(signals);
  }

  private throwIfAborted(callSignal: AbortSignal | undefined, what: string, cause?: unknown): void {
    if (this.signal?.aborted || callSignal?.aborted) {
      throw new HeyGenDeadlineError(`${what}: aborted by the caller`, {
        cause: cause ?? this.signal?.reason ?? callSignal?.reason,
      });
    }
  }

  /**
   * One call with its retries: network errors and 5xx only when repeating is safe (GET, DELETE, or an
   * Idempotency-Key), 429 after Retry-After, 409 `request_in_progress` after a short wait; every wait
   * within the attempt budget and the deadline (waitBeforeRetry).
   */
  private async request<T>(spec: RequestSpec): Promise<T> {
    const call = this.prepare(spec);
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      this.throwIfAborted(spec.signal, call.what, lastError);
      const left = this.remaining();
      if (left <= 0) {
        throw lastError instanceof HeyGenError
          ? lastError
          : new HeyGenDeadlineError(`${call.what}: no time left before the deadline`, { cause: lastError });
      }
      const outcome = await this.attempt<T>(spec, call, attempt, Math.min(this.requestTimeoutMs, left));
      if ('value' in outcome) return outcome.value;
      lastError = outcome.retry.err;
      await this.waitBeforeRetry(spec, attempt, outcome.retry);
    }
  }

  /** The request's URL, headers and body, and whether it may be sent again. */
  private prepare(spec: RequestSpec): PreparedCall {
    if (spec.idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(spec.idempotencyKey)) {
      throw new TypeError('Idempotency-Key must match ^[A-Za-z0-9_\\-:.]{1,255}$');
    }
    const url = new URL(this.baseUrl + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'x-api-key': this.apiKey };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.idempotencyKey !== undefined) headers['idempotency-key'] = spec.idempotencyKey;
    return {
      what: `${spec.method} ${spec.path}`,
      repeatable: spec.method === 'GET' || spec.method === 'DELETE' || spec.idempotencyKey !== undefined,
      url,
      headers,
      bodyText: spec.body === undefined ? undefined : JSON.stringify(spec.body),
    };
  }

  /** One attempt: the parsed answer, a retry to wait for, or a thrown error (final). */
  private async attempt<T>(spec: RequestSpec, call: PreparedCall, attempt: number, timeoutMs: number): Promise<Attempt<T>> {
    let response: Response;
    try {
      response = await this.fetchImpl(call.url, {
        method: spec.method,
        headers: call.headers,
        body: call.bodyText,
        signal: this.combinedSignal(spec.signal, timeoutMs),
      });
    } catch (err) {
      this.throwIfAborted(spec.signal, call.what, err);
      const netErr = new HeyGenNetworkError(
        `${call.what}: ${isAbortError(err) ? `no answer within ${timeoutMs} ms` : 'network error'} (attempt ${attempt})`,
        { method: spec.method, path: spec.path, attempts: attempt },
        { cause: err },
      );
      if (!call.repeatable) throw netErr;
      return { retry: { reason: 'network_error', status: undefined, waitMs: this.backoff(attempt), err: netErr } };
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) return { retry: this.failure(spec, call, response, text, attempt) };
    if (text.trim() === '') return { value: {} as T };
    try {
      return { value: (spec.parse ?? JSON.parse)(text) as T };
    } catch (err) {
      throw new HeyGenResponseError(`${call.what}: answered ${response.status} with a body that is not JSON`, { cause: err });
    }
  }

  /** A non-2xx answer: the retry it allows (429, 409 in progress, a repeatable 5xx), or the error it is. */
  private failure(spec: RequestSpec, call: PreparedCall, response: Response, text: string, attempt: number): Retry {
    const { status } = response;
    const { code, message } = parseErrorEnvelope(text, status);
    const details: HeyGenApiErrorDetails = {
      status,
      code,
      method: spec.method,
      path: spec.path,
      requestId: response.headers.get('x-request-id') ?? undefined,
      attempts: attempt,
    };
    const safeMessage = redact(message, [this.apiKey]);
    const base = `${call.what} failed: HTTP ${status} ${code}${safeMessage ? ` (${safeMessage})` : ''}`;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const err = new HeyGenRateLimitError(base, { ...details, retryAfterMs });
      return { reason: 'rate_limited', status, waitMs: retryAfterMs ?? this.backoff(attempt), err };
    }
    if (status === 409 && code === 'request_in_progress') {
      const err = new HeyGenConflictError(base, details);
      return { reason: 'request_in_progress', status, waitMs: this.inProgressWaitMs * attempt, err };
    }
    if (status >= 500) {
      const err = new HeyGenApiError(base, details);
      if (!call.repeatable) throw err;
      return { reason: 'server_error', status, waitMs: this.backoff(attempt), err };
    }
    if (status === 401 || status === 403) {
      throw new HeyGenAuthError(
        `${call.what} failed: HeyGen rejected the API key (HTTP ${status} ${code}). Check the key stored for the relay.`,
        details,
      );
    }
    if (status === 404) throw new HeyGenNotFoundError(base, details);
    if (status === 409) throw new HeyGenConflictError(base, details);
    throw new HeyGenApiError(base, details);
  }

  private backoff(attempt: number): number {
    const exp = this.backoffBaseMs * 2 ** (attempt - 1);
    return Math.round(exp / 2 + (exp / 2) * this.random());
  }

  /** Waits before attempt `attempt + 1`, or throws the retry's error when the budget does not allow it. */
  private async waitBeforeRetry(spec: RequestSpec, attempt: number, retry: Retry): Promise<void> {
    const { reason, status, err } = retry;
    if (attempt >= this.maxAttempts) throw err;
    const waitMs = Math.max(0, Math.round(retry.waitMs));
    if (waitMs > this.maxWaitMs) throw err;
    // The wait plus a minimal attempt must fit before the deadline; otherwise give up now.
    if (waitMs + 100 > this.remaining()) throw err;
    this.onRetry?.({ method: spec.method, path: spec.path, attempt, reason, status, waitMs });
    const signals = [this.signal, spec.signal].filter((s): s is AbortSignal => s !== undefined);
    try {
      await this.sleep(waitMs, signals.length > 0 ? AbortSignal.any(signals) : undefined);
    } catch (cause) {
      throw new HeyGenDeadlineError(`${spec.method} ${spec.path}: aborted while waiting to retry`, { cause });
    }
  }
}

function parseErrorEnvelope(text: string, status: number): { code: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof parsed.error?.code === 'string' ? parsed.error.code : `http_${status}`;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : '';
    return { code, message };
  } catch {
    // Gateway HTML or an empty body: keep only the status.
    return { code: `http_${status}`, message: '' };
  }
}

function assertEndpoint(value: unknown, what: string): WebhookEndpoint {
  const v = value as Partial<WebhookEndpoint> | null | undefined;
  if (typeof v !== 'object' || v === null || typeof v.endpoint_id !== 'string' || typeof v.url !== 'string') {
    throw new HeyGenResponseError(`${what}: response lacks endpoint_id/url`);
  }
  const events = Array.isArray(v.events) ? v.events.filter((e): e is string => typeof e === 'string') : null;
  return {
    endpoint_id: v.endpoint_id,
    url: v.url,
    status: typeof v.status === 'string' ? v.status : 'unknown',
    created_at: typeof v.created_at === 'string' ? v.created_at : '',
    events,
    secret: typeof v.secret === 'string' && v.secret !== '' ? v.secret : null,
  };
}
