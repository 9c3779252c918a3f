/**
 * The ingress pipeline, pure: route → verify → normalize → dedup → publish. It knows no AWS; every
 * side effect goes through a port (functions/core/ports.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ProviderIngress } from '../providers/types.js';
import { ENVELOPE_VERSION, type RelayEvent } from './envelope.js';
import {
  DeadlineExceededError,
  DependencyError,
  InFlightError,
  MethodNotAllowedError,
  NotConfiguredError,
  NotFoundError,
  PayloadTooLargeError,
  RelayError,
  SignatureVerificationError,
  StaleDeliveryError,
  toRelayError,
} from './errors.js';
import { errorResponse, jsonResponse, type RelayRequest, type RelayResponse } from './http.js';
import type { DedupStore, EventPublisher, SigningKey, SigningKeySource } from './ports.js';
import { verifyWithFallback } from './verify.js';

export interface Telemetry {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /** Adds 1 to a count metric. */
  count(metric: MetricName, dimensions?: Record<string, string>): void;
}

export type MetricName = 'Received' | 'Published' | 'Duplicate' | 'ConcurrentDuplicate' | 'Rejected' | 'Failed';

export interface ProviderRoute {
  readonly provider: ProviderIngress;
  /** Route, e.g. `/heygen`. */
  readonly path: string;
  readonly keys: SigningKeySource;
  /** 0 turns the staleness check off. */
  readonly timestampToleranceSeconds: number;
  /** Time budget for one request; must be below the provider's answer deadline. */
  readonly budgetMs: number;
  /**
   * Also route `<path>/<segment>` (one segment of letters, digits, `-`, `_`) here. Gives a provider
   * several distinct URLs into the same route, e.g. for a rotation that overlaps two endpoints.
   * @default false
   */
  readonly acceptSubpaths?: boolean;
  /** This provider's dedup store (its mode: functions/core/ports.ts `DedupMode`), or `noDedup`. */
  readonly dedup: DedupStore;
}

export interface IngressOptions {
  readonly routes: readonly ProviderRoute[];
  readonly maxBodyBytes: number;
  readonly publisher: EventPublisher;
  readonly telemetry: Telemetry;
  /** Clock in ms (tests replace it). */
  readonly now?: () => number;
}

export type IngressPipeline = (request: RelayRequest) => Promise<RelayResponse>;

/** Dedup key: provider + sha256(raw body). The body is what the provider signs. */
export function dedupKey(provider: string, body: Uint8Array): string {
  return `${provider}:${createHash('sha256').update(body).digest('hex')}`;
}

function normalizePath(path: string): string {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return p.toLowerCase();
}

/** How long marking a published delivery complete may run past the request's budget (within the provider's deadline). */
const COMPLETE_GRACE_MS = 500;

/** `<route>/<segment>`: a sub-path of a route that accepts them. */
const SUBPATH = /^(\/.+)\/[a-z0-9_-]{1,64}$/;

/** The dedup claim a request holds until it has published (so a deadline can release it). */
interface HeldClaim {
  readonly dedup: DedupStore;
  id: string | undefined;
  owner: string;
  /** Once true the answer is 200 whatever the clock says: the event is on the bus. */
  published: boolean;
}

export function createIngress(options: IngressOptions): IngressPipeline {
  const { maxBodyBytes, publisher, telemetry } = options;
  const now = options.now ?? Date.now;
  const routes = new Map(options.routes.map((r) => [normalizePath(r.path), r]));

  function routeFor(path: string): ProviderRoute | undefined {
    const normalized = normalizePath(path);
    const exact = routes.get(normalized);
    if (exact) return exact;
    const parent = SUBPATH.exec(normalized)?.[1];
    const route = parent === undefined ? undefined : routes.get(parent);
    return route?.acceptSubpaths ? route : undefined;
  }

  function reject(route: ProviderRoute | undefined, err: RelayError, extra: Record<string, unknown> = {}): RelayResponse {
    const provider = route?.provider.name ?? 'none';
    if (err.status >= 500) {
      telemetry.count('Failed', { provider, reason: err.code });
      telemetry.error('Delivery failed; the provider will retry', {
        provider,
        status: err.status,
        code: err.code,
        cause: err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : undefined,
        ...extra,
      });
    } else {
      telemetry.count('Rejected', { provider, reason: err.code });
      telemetry.warn('Delivery rejected', { provider, status: err.status, code: err.code, ...extra });
    }
    const headers: Record<string, string> = err instanceof MethodNotAllowedError ? { allow: err.allow } : {};
    return errorResponse(err, headers);
  }

  async function verifiedKey(route: ProviderRoute, req: RelayRequest, signal: AbortSignal): Promise<SigningKey> {
    let keys: readonly SigningKey[];
    try {
      keys = await route.keys.getKeys(signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DependencyError('secrets', 'Could not read the signing secret', { cause: err });
    }
    if (keys.length === 0) {
      // A secret may have been set since the last read: re-read (rate-limited) before answering 503.
      keys = await route.keys.refresh(signal).catch(() => keys);
      if (keys.length === 0) throw new NotConfiguredError(route.provider.name);
    }
    const signature = req.headers[route.provider.signatureHeader]?.trim();
    if (!signature) throw new SignatureVerificationError('missing_signature', 'Signature header is missing');
    let key = verifyWithFallback(keys, req.body, signature);
    if (!key) {
      // A miss may mean the provider switched secrets (rotation): re-read once, rate-limited.
      const refreshed = await route.keys.refresh(signal).catch(() => keys);
      if (refreshed !== keys) key = verifyWithFallback(refreshed, req.body, signature);
    }
    if (!key) throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
    return key;
  }

  async function deliver(route: ProviderRoute, req: RelayRequest, signal: AbortSignal, held: HeldClaim): Promise<RelayResponse> {
    const started = now();
    const provider = route.provider.name;
    const key = await verifiedKey(route, req, signal);
    // Only now is the body trusted enough to be parsed.
    const delivery = route.provider.normalize(req.body, req.headers);
    if (route.timestampToleranceSeconds > 0 && delivery.sentAt !== undefined) {
      const skew = Math.abs(now() / 1000 - delivery.sentAt);
      if (skew > route.timestampToleranceSeconds)
        throw new StaleDeliveryError(`Timestamp is outside the tolerance of ${route.timestampToleranceSeconds} s`);
    }
    const id = dedupKey(provider, req.body);
    const logAttrs = { provider, type: delivery.type, id, deliveryId: delivery.deliveryId, keyLabel: key.label };

    const { dedup } = held;
    const owner = randomUUID();
    held.id = id;
    held.owner = owner;
    let claim: Awaited<ReturnType<DedupStore['claim']>>;
    try {
      claim = await dedup.claim(id, owner, signal);
    } catch (err) {
      // The write may have landed before the failure: release our claim, if any.
      held.id = undefined;
      await dedup.release(id, owner);
      if (signal.aborted) throw err;
      throw new DependencyError('dedup', 'Could not record the delivery', { cause: err });
    }
    if (claim !== 'claimed') held.id = undefined;
    if (claim === 'duplicate') {
      telemetry.count('Duplicate', { provider });
      telemetry.info('Duplicate delivery; already published', logAttrs);
      return jsonResponse(200, { status: 'duplicate', id });
    }
    if (claim === 'in_flight') throw new InFlightError();

    const event: RelayEvent = {
      version: ENVELOPE_VERSION,
      id,
      provider,
      type: delivery.type,
      subject: delivery.subject,
      callbackId: delivery.callbackId,
      deliveryId: delivery.deliveryId,
      receivedAt: new Date(now()).toISOString(),
      data: delivery.data,
    };
    try {
      await publisher.publish(event, signal);
      held.id = undefined; // published: never release from here on
      held.published = true;
    } catch (err) {
      // Not published: free the key so the provider's retry is processed, then answer 5xx.
      held.id = undefined;
      await dedup.release(id, owner);
      if (signal.aborted) throw signal.reason;
      throw err instanceof RelayError ? err : new DependencyError('publish', 'Could not publish the event', { cause: err });
    }
    try {
      // The request's deadline no longer cuts this short: once published it only arms a grace timer.
      if ((await dedup.complete(id, owner, signal)) === 'raced') {
        // `record` mode: a copy that arrived while this one was publishing was published too.
        telemetry.count('ConcurrentDuplicate', { provider });
        telemetry.warn('Published a copy of a delivery that another request published at the same time', logAttrs);
      }
    } catch (err) {
      // Published: answer 200 regardless. The claim stays in progress until its lock expires.
      telemetry.warn('Published, but could not mark the dedup record complete', { ...logAttrs, error: String(err) });
    }
    telemetry.count('Published', { provider });
    // DEBUG: a line per published delivery costs more in CloudWatch Logs than the rest of the
    // logging together; counts are in the metrics, and rejections and failures log at WARN/ERROR.
    telemetry.debug('Delivery published', { ...logAttrs, ms: now() - started });
    return jsonResponse(200, { status: 'published', id });
  }

  return async function ingress(req: RelayRequest): Promise<RelayResponse> {
    const route = routeFor(req.path);
    telemetry.count('Received', { provider: route?.provider.name ?? 'none' });
    if (!route) return reject(undefined, new NotFoundError());
    if (req.method === 'OPTIONS') return jsonResponse(200, { status: 'ok' }, { allow: 'POST, OPTIONS' });
    if (req.method !== 'POST') return reject(route, new MethodNotAllowedError(req.method));
    if (req.body.length > maxBodyBytes) return reject(route, new PayloadTooLargeError(maxBodyBytes));

    // One deadline per request: the answer races it, and its signal aborts the SDK calls in flight
    // (whose failure paths release the dedup claim). A port that ignores the signal cannot hold the
    // answer either: the race answers without it.
    const held: HeldClaim = { dedup: route.dedup, id: undefined, owner: '', published: false };
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, rejectDeadline) => {
      timer = setTimeout(() => {
        if (held.published) {
          // Only the dedup bookkeeping is left: give it a short grace, then cut it; the answer is 200.
          timer = setTimeout(() => controller.abort(new DeadlineExceededError(route.budgetMs)), COMPLETE_GRACE_MS);
          return;
        }
        const err = new DeadlineExceededError(route.budgetMs);
        controller.abort(err);
        rejectDeadline(err);
      }, route.budgetMs);
    });
    try {
      return await Promise.race([deliver(route, req, controller.signal, held), deadline]);
    } catch (err) {
      // Out of time with a claim but no publish (e.g. a port that ignores its signal): free the key.
      if (held.id !== undefined) await held.dedup.release(held.id, held.owner);
      const relayError =
        err instanceof DeadlineExceededError || controller.signal.aborted
          ? new DeadlineExceededError(route.budgetMs, { cause: err })
          : toRelayError(err);
      return reject(route, relayError);
    } finally {
      clearTimeout(timer);
    }
  };
}
