/**
 * The ingress pipeline, pure: route → verify → normalize → dedup → publish. It knows no AWS; every
 * side effect goes through a port (functions/core/ports.ts).
 */

import { isUtf8 } from 'node:buffer';
import { createHash, randomUUID } from 'node:crypto';
import type { NormalizedDelivery, ProviderIngress } from '../providers/types.js';
import { abortable } from './abortable.js';
import { knownCleanScan } from './body-facts.js';
import { bodyText, isAsciiBody } from './body-text.js';
import { ENVELOPE_VERSION, type RelayEvent, type RelayOrigin } from './envelope.js';
import {
  BadRequestError,
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
  UnpublishableError,
} from './errors.js';
import { sourceEventKey } from './event-key.js';
import { depthOf, scanBody } from './fidelity.js';
import { errorResponse, jsonResponse, type RelayRequest, type RelayResponse } from './http.js';
import type { DedupStore, EventPublisher, ParkedStore, ParkReason, SigningKey, SigningKeySource } from './ports.js';
import { entrySizeIfAbove, MAX_DETAIL_DEPTH, MAX_ENTRY_BYTES } from './publish-limits.js';
import { hmacHexBody } from './verify.js';

export interface Telemetry {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /** Adds 1 to a count metric. */
  count(metric: MetricName, dimensions?: Record<string, string>): void;
}

export type MetricName =
  | 'Received'
  | 'Published'
  | 'Duplicate'
  | 'ConcurrentDuplicate'
  | 'PossibleDuplicatePublished'
  | 'Rejected'
  | 'Failed'
  | 'Parked';

/**
 * Why a copy of an event may be (or is) on the bus twice, the `reason` of `PossibleDuplicatePublished`
 * (docs/guarantees.md has the table): `publish_unconfirmed` PutEvents failed without proof that it
 * stored nothing (answered 5xx; the retry publishes again); `record_not_written` published, but its
 * dedup record could not be written (a later copy or the backfill may publish again); `late_publish`
 * a publish that landed after the deadline's 5xx, whose key another copy had claimed meanwhile;
 * `concurrent_copy` (`record` mode) two copies in flight at once were both published; `took_over`
 * published over another writer's unfinished claim (ports.ts `ClaimResult`), which may have published.
 */
export type DuplicateReason = 'publish_unconfirmed' | 'record_not_written' | 'late_publish' | 'concurrent_copy' | 'took_over';

export interface ProviderRoute {
  readonly provider: ProviderIngress;
  /**
   * The source (provider account) this route serves: the envelope's `source`, the metrics' and
   * evidence's `provider` label. Tells two accounts of one provider apart. @default the provider's name
   */
  readonly source?: string;
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
  /**
   * Where signed deliveries EventBridge can never take are kept (answered 202 `parked`). Without
   * one they are answered 503, so the provider retries until its horizon.
   */
  readonly parked?: ParkedStore;
  readonly telemetry: Telemetry;
  /** Clock in ms (tests replace it). */
  readonly now?: () => number;
  /**
   * Called with a routed delivery's provider and status when the answer is 4xx/5xx, before the
   * answer is returned (core/evidence.ts `evidenceRecorder`: signature refusals and failures, the
   * evidence the registrar's secret check and the backfill read). Must not throw.
   */
  readonly onTrouble?: (provider: string, status: number) => Promise<void>;
}

export type IngressPipeline = (request: RelayRequest) => Promise<RelayResponse>;

/** The route's source id: what metrics, logs and evidence are labelled with. */
function sourceOf(route: ProviderRoute): string {
  return route.source ?? route.provider.name;
}

/**
 * A provider's body key: provider + sha256(raw body) (the body is what the provider signs). The
 * relay's key of the event is this per source (core/event-key.ts `sourceEventKey`).
 */
export function dedupKey(provider: string, body: Uint8Array): string {
  return `${provider}:${createHash('sha256').update(body).digest('hex')}`;
}

function normalizePath(path: string): string {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return p.toLowerCase();
}

/** How long marking a published delivery complete may run past the request's budget (within the provider's deadline). */
const COMPLETE_GRACE_MS = 500;

/** How long recording a publish that landed after the deadline's 5xx may take (the answer is already out). */
const LATE_RECORD_MS = 1_500;

/**
 * Of the time between the budget and the provider's deadline, what the deadline's release of a claim
 * leaves for the failure evidence (core/evidence.ts caps its write at 500 ms) and the way back.
 */
const ANSWER_RESERVE_MS = 750;

/** Waits for `promise` at most `ms` (it runs on after that). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** `<route>/<segment>`: a sub-path of a route that accepts them. */
const SUBPATH = /^(\/.+)\/[a-z0-9_-]{1,64}$/;

/** What became of a delivery; copies waiting on it in the same execution environment answer from it. */
type Outcome = 'published' | 'parked' | 'failed';

/** A signed delivery that cannot reach the bus as it is: parked, never retried forever. */
export class Unpublishable {
  constructor(
    readonly reason: ParkReason,
    readonly message: string,
    readonly busCode?: string,
  ) {}
}

/**
 * Records a parked delivery in the dedup store: it verified with a live secret and is kept, so it is
 * no delivery our secret refused (the registrar's proof) and the backfill does not park it again.
 * Best effort: the parked record is what keeps the event.
 */
async function recordParked(dedup: DedupStore, id: string, signal: AbortSignal): Promise<void> {
  const owner = randomUUID();
  try {
    const claim = await dedup.claim(id, owner, signal);
    if (claim === 'claimed' || claim === 'took_over') await dedup.complete(id, owner, signal);
  } catch {
    await dedup.release(id, owner);
  }
}

/** Headers worth keeping with a parked delivery: all but the signature (and anything credential-like). */
function parkableHeaders(headers: RelayRequest['headers'], signatureHeader: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && k !== signatureHeader && !/signature|authorization|cookie|token|secret/i.test(k)) out[k] = v;
  return out;
}

/** The dedup claim a request holds until it has published (so a deadline can release it). */
interface HeldClaim {
  readonly dedup: DedupStore;
  id: string | undefined;
  owner: string;
  /** Once true the answer is 200 whatever the clock says: the event is on the bus. */
  published: boolean;
  /** The 200 answer once published: what the deadline answers if the dedup write after it hangs. */
  answer: RelayResponse | undefined;
  /**
   * Called by the deadline (before the answer) when it cuts the request short: frees this request's
   * in-flight slot, so a port that ignores the signal cannot hold the key for the environment's lifetime.
   */
  abandon: (() => void) | undefined;
  /** The deadline's release of the claim (set when it answered 5xx with a claim held). */
  released: Promise<void> | undefined;
}

/**
 * A delivery being processed in this environment. Copies that arrive meanwhile wait for its outcome;
 * the promise they wait on is only made when a copy arrives (the common case has none).
 */
class InFlight {
  private waiters: ((o: Outcome) => void)[] | undefined;
  private outcome: Outcome | undefined;
  wait(): Promise<Outcome> {
    if (this.outcome !== undefined) return Promise.resolve(this.outcome);
    return new Promise((resolve) => {
      this.waiters ??= [];
      this.waiters.push(resolve);
    });
  }
  settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters) for (const w of waiters) w(outcome);
  }
}

/**
 * A delivery recorded before its provider's events were keyed by content (under the body key) is a
 * duplicate: mark the content key too (completing our claim), so later copies need one read. The
 * earlier-scheme read (`legacy`, started together with the claim: one round trip for both) only
 * counts once the claim went ahead.
 */
async function alreadyUnderBodyKey(
  dedup: DedupStore,
  legacy: Promise<boolean>,
  id: string,
  owner: string,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    if (!(await legacy)) return false;
  } catch (err) {
    await dedup.release(id, owner);
    if (signal.aborted) throw err;
    throw new DependencyError('dedup', 'Could not read the delivery record', { cause: err });
  }
  await dedup.complete(id, owner, signal).catch(() => dedup.release(id, owner));
  return true;
}

/**
 * `JSON.stringify(event)`, with `data` written as `dataJson` when given (its JSON.stringify, which
 * the provider had from the body's text): `data` and `origin` are the envelope's last members.
 */
function serializeEvent(event: RelayEvent, dataJson: string | undefined): string {
  if (dataJson === undefined) return JSON.stringify(event);
  // The members before `data`, in the envelope's order (test/unit/detail-from-source.test.ts holds it to JSON.stringify).
  const head = JSON.stringify({
    version: event.version,
    id: event.id,
    provider: event.provider,
    source: event.source,
    type: event.type,
    subject: event.subject,
    callbackId: event.callbackId,
    deliveryId: event.deliveryId,
    receivedAt: event.receivedAt,
  });
  const origin = event.origin === undefined ? '' : `,"origin":${JSON.stringify(event.origin)}`;
  return `${head.slice(0, -1)},"data":${dataJson}${origin}}`;
}

/**
 * The envelope of a verified, normalized delivery and its serialized `Detail`, or why EventBridge
 * can never take it as it is (the body's bytes or numbers would change, too deep, too large).
 * Shared by the ingress and the operators' re-publish of parked deliveries.
 */
export function prepareEvent(
  provider: string,
  body: Buffer,
  delivery: NormalizedDelivery,
  id: string,
  receivedAt: string,
  options: { readonly exact?: boolean; readonly origin?: RelayOrigin; readonly source?: string } = {},
): { event: RelayEvent; detail: string } | Unpublishable {
  // A body whose one walk found it clean (core/body-facts.ts) needs no scan of its text.
  const scan = ((isAsciiBody(body) || isUtf8(body)) && knownCleanScan(body)) || scanBody(body, bodyText(body));
  if (scan.problem && options.exact !== false) return new Unpublishable(scan.problem.reason, scan.problem.message);
  const event: RelayEvent = {
    version: ENVELOPE_VERSION,
    id,
    provider,
    source: options.source ?? provider,
    type: delivery.type,
    subject: delivery.subject,
    callbackId: delivery.callbackId,
    deliveryId: delivery.deliveryId,
    receivedAt,
    data: delivery.data,
    origin: options.origin ?? 'delivery',
  };
  // The body's depth bounds the envelope's (`data` is inside the body); look closer only past the limit.
  if (scan.depth > MAX_DETAIL_DEPTH && depthOf(event.data) + 1 > MAX_DETAIL_DEPTH)
    return new Unpublishable('too_deep', `The event nests beyond the ${MAX_DETAIL_DEPTH} levels EventBridge processes`);
  let detail: string;
  try {
    detail = serializeEvent(event, delivery.dataJson);
  } catch {
    return new Unpublishable('too_deep', 'The event cannot be serialized (nesting overflowed)');
  }
  // Counted only when it might be too large: UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const size = entrySizeIfAbove(MAX_ENTRY_BYTES, { source: provider, detailType: event.type, detail, hasTime: true });
  if (size > MAX_ENTRY_BYTES)
    return new Unpublishable('too_large', `The event entry would be ${size} bytes; EventBridge takes at most ${MAX_ENTRY_BYTES}`);
  return { event, detail };
}

export function createIngress(options: IngressOptions): IngressPipeline {
  const { maxBodyBytes, publisher, telemetry } = options;
  const now = options.now ?? Date.now;
  const routes = new Map(options.routes.map((r) => [normalizePath(r.path), r]));
  /**
   * Deliveries being processed in this execution environment, by dedup key. A copy that arrives
   * meanwhile waits for the first one's outcome instead of publishing too: at most one publish per
   * key in flight per environment, whatever the dedup mode.
   */
  const inFlight = new Map<string, InFlight>();

  function routeFor(path: string): ProviderRoute | undefined {
    const normalized = normalizePath(path);
    const exact = routes.get(normalized);
    if (exact) return exact;
    const parent = SUBPATH.exec(normalized)?.[1];
    const route = parent === undefined ? undefined : routes.get(parent);
    return route?.acceptSubpaths ? route : undefined;
  }

  /** Counts a copy that may be (or is) on the bus twice; consumers drop copies by envelope `id`. */
  function possibleDuplicate(provider: string, reason: DuplicateReason, attrs?: Record<string, unknown>): void {
    telemetry.count('PossibleDuplicatePublished', { provider, reason });
    if (attrs)
      telemetry.warn('The event may be on the bus although the delivery failed; its retry may publish a copy', {
        ...attrs,
        reason,
      });
  }

  function reject(route: ProviderRoute | undefined, err: RelayError, extra: Record<string, unknown> = {}): RelayResponse {
    const provider = route ? sourceOf(route) : 'none';
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
    const scheme = route.provider.signature ?? hmacHexBody(route.provider.signatureHeader);
    scheme.precheck(req.body, req.headers);
    let key = scheme.match(keys, req.body, req.headers);
    if (!key) {
      // A miss may mean the provider switched secrets (rotation): re-read once, rate-limited.
      const refreshed = await route.keys.refresh(signal).catch(() => keys);
      if (refreshed !== keys) key = scheme.match(refreshed, req.body, req.headers);
    }
    if (!key) throw new SignatureVerificationError('invalid_signature', 'Signature does not match');
    return key;
  }

  /** Keeps a signed delivery EventBridge can never take, with its reason; answers 202 `parked`. */
  async function park(
    route: ProviderRoute,
    req: RelayRequest,
    id: string,
    key: SigningKey,
    why: Unpublishable,
    signal: AbortSignal,
  ): Promise<RelayResponse> {
    const provider = route.provider.name;
    if (!options.parked)
      throw new DependencyError('parked', 'The delivery cannot be published and no parked store is configured');
    try {
      await options.parked.park(
        {
          id,
          provider,
          ...(route.source ? { source: route.source } : {}),
          reason: why.reason,
          message: why.message,
          ...(why.busCode ? { busCode: why.busCode } : {}),
          receivedAt: new Date(now()).toISOString(),
          path: req.path,
          headers: parkableHeaders(req.headers, route.provider.signatureHeader),
          keyLabel: key.label,
          body: req.body,
        },
        signal,
      );
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DependencyError('parked', 'Could not keep the unpublishable delivery', { cause: err });
    }
    await recordParked(route.dedup, id, signal);
    telemetry.count('Parked', { provider: sourceOf(route), reason: why.reason });
    telemetry.warn('Delivery parked: EventBridge can never take it as it is; list and re-publish it after a fix', {
      provider: sourceOf(route),
      id,
      reason: why.reason,
      busCode: why.busCode,
      keyLabel: key.label,
    });
    return jsonResponse(202, { status: 'parked', id, reason: why.reason });
  }

  /** Checks the staleness of a verified delivery (only when the check is on: 0 means off). */
  function checkTimestamp(route: ProviderRoute, delivery: NormalizedDelivery): void {
    const tolerance = route.timestampToleranceSeconds;
    if (tolerance <= 0) return;
    if (delivery.timestampInvalid) throw new BadRequestError('invalid_timestamp', 'The timestamp must be unix seconds');
    if (delivery.sentAt === undefined) {
      if (route.provider.requiresTimestamp)
        throw new BadRequestError('missing_timestamp', 'The signed body has no timestamp, and the staleness check is on');
      return;
    }
    if (Math.abs(now() / 1000 - delivery.sentAt) > tolerance)
      throw new StaleDeliveryError(`Timestamp is outside the tolerance of ${tolerance} s`);
  }

  async function deliver(route: ProviderRoute, req: RelayRequest, signal: AbortSignal, held: HeldClaim): Promise<RelayResponse> {
    const key = await verifiedKey(route, req, signal);
    // Only now is the body trusted enough to be parsed.
    const delivery = route.provider.normalize(req.body, req.headers);
    checkTimestamp(route, delivery);
    // The body key is computed only when it is the id, or for the check of earlier-scheme records.
    const eventKey = route.provider.eventKey?.(req.body, req.headers);
    // Per source: two sources (accounts) never share a key (core/event-key.ts).
    const id = sourceEventKey(sourceOf(route), eventKey ?? dedupKey(route.provider.name, req.body));
    // One publish per key in flight in this environment: a copy waits for the first one's outcome.
    for (let waiting = inFlight.get(id); waiting; waiting = inFlight.get(id)) {
      const outcome = await abortable(waiting.wait(), signal);
      if (outcome === 'published') {
        telemetry.count('Duplicate', { provider: sourceOf(route) });
        telemetry.info('Duplicate delivery; published by a copy in flight', { provider: sourceOf(route), id });
        return jsonResponse(200, { status: 'duplicate', id });
      }
      // Parked or failed: this copy goes through the pipeline itself (parking again is idempotent).
    }
    // Past the deadline (a port that ignored the signal returned late): the answer is out and the
    // deadline that frees slots has fired, so take none (a hang from here would hold it for good).
    if (signal.aborted) throw signal.reason;
    const mine = new InFlight();
    inFlight.set(id, mine);
    const done = (outcome: Outcome) => {
      if (inFlight.get(id) === mine) inFlight.delete(id);
      mine.settle(outcome);
    };
    // The deadline frees the key even if a port ignores the signal and never returns.
    held.abandon = () => done(held.published ? 'published' : 'failed');
    let outcome: Outcome = 'failed';
    try {
      const res = await publishOnce(
        route,
        req,
        signal,
        held,
        key,
        delivery,
        id,
        eventKey !== undefined && route.provider.legacyBodyKeys === true,
      );
      // 200 is published now or before (duplicate); 202 parked; anything else failed.
      outcome = held.published || res.statusCode === 200 ? 'published' : res.statusCode === 202 ? 'parked' : 'failed';
      return res;
    } finally {
      held.abandon = undefined;
      done(outcome);
    }
  }

  async function publishOnce(
    route: ProviderRoute,
    req: RelayRequest,
    signal: AbortSignal,
    held: HeldClaim,
    key: SigningKey,
    delivery: NormalizedDelivery,
    id: string,
    /** `id` is a content key: deliveries recorded under the body key may be earlier copies. */
    contentKeyed: boolean,
  ): Promise<RelayResponse> {
    const started = now();
    const provider = sourceOf(route);
    const logAttrs = { provider, type: delivery.type, id, deliveryId: delivery.deliveryId, keyLabel: key.label };

    // What EventBridge can never take as it is, decided before anything is claimed.
    const prepared = prepareEvent(route.provider.name, req.body, delivery, id, new Date(now()).toISOString(), {
      source: provider,
    });
    if (prepared instanceof Unpublishable) return park(route, req, id, key, prepared, signal);
    const { event, detail } = prepared;

    const { dedup } = held;
    const owner = randomUUID();
    held.id = id;
    held.owner = owner;
    // A content key may have a copy recorded under the earlier body key: read that at the same time
    // as the claim (read-only, so nothing to undo when the claim says duplicate).
    const bodyKey =
      contentKeyed && dedup.seenLegacy && dedup.legacyWindowOpen?.() !== false ? dedupKey(route.provider.name, req.body) : id;
    const legacy = bodyKey !== id ? dedup.seenLegacy?.(bodyKey, signal) : undefined;
    // Settled below only if the claim went ahead; never an unhandled rejection otherwise.
    legacy?.catch(() => undefined);
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
    // Over another writer's unfinished claim: go ahead, and count the copy once published.
    const tookOver = claim === 'took_over';
    if (tookOver) claim = 'claimed';
    if (claim === 'claimed' && legacy && (await alreadyUnderBodyKey(dedup, legacy, id, owner, signal))) {
      held.id = undefined;
      claim = 'duplicate';
    }
    if (claim !== 'claimed') held.id = undefined;
    if (claim === 'duplicate') {
      telemetry.count('Duplicate', { provider });
      telemetry.info('Duplicate delivery; already published', logAttrs);
      return jsonResponse(200, { status: 'duplicate', id });
    }
    if (claim === 'in_flight') throw new InFlightError();

    try {
      await publisher.publish(event, signal, detail);
      held.id = undefined; // published: never release from here on
      held.published = true;
      held.answer = jsonResponse(200, { status: 'published', id });
      telemetry.count('Published', { provider });
      if (tookOver) {
        possibleDuplicate(provider, 'took_over');
        telemetry.warn('Published over an unfinished claim of another writer, which may have published it too', logAttrs);
      }
    } catch (err) {
      // Not published: free the key so the provider's retry is processed, then answer 5xx (or park).
      held.id = undefined;
      await dedup.release(id, owner);
      // Unless the bus proves it stored nothing, the event may be on it: the retry publishes a second copy.
      if (!(err instanceof UnpublishableError) && !publisher.notStored?.(err))
        possibleDuplicate(provider, 'publish_unconfirmed', logAttrs);
      if (signal.aborted) throw signal.reason;
      if (err instanceof UnpublishableError)
        return park(route, req, id, key, new Unpublishable('rejected_by_bus', err.message, err.busCode), signal);
      throw err instanceof RelayError ? err : new DependencyError('publish', 'Could not publish the event', { cause: err });
    }
    // Published after the deadline answered 5xx and freed the key (a port that finished despite
    // the signal): record it, with a time limit of its own, so the provider's retry is answered
    // duplicate instead of being published again. A copy that claimed the key meanwhile wins.
    const late = signal.aborted;
    try {
      if (late) await held.released;
      const recordSignal = late ? AbortSignal.timeout(LATE_RECORD_MS) : signal;
      if (late && (await dedup.claim(id, owner, recordSignal)) !== 'claimed')
        throw new Error('The key was claimed by another request after the deadline');
      // The request's deadline no longer cuts this short: once published it only arms a grace timer.
      if ((await dedup.complete(id, owner, recordSignal)) === 'raced') {
        // `record` mode: a copy that arrived while this one was publishing was published too.
        telemetry.count('ConcurrentDuplicate', { provider });
        telemetry.warn('Published a copy of a delivery that another request published at the same time', logAttrs);
        possibleDuplicate(provider, 'concurrent_copy');
      }
    } catch (err) {
      // Published: answer 200 regardless. The claim stays in progress until its lock expires.
      telemetry.warn('Published, but could not mark the dedup record complete', { ...logAttrs, error: String(err) });
      possibleDuplicate(provider, late ? 'late_publish' : 'record_not_written');
    }
    // DEBUG: a line per published delivery costs more in CloudWatch Logs than the rest of the
    // logging together; counts are in the metrics, and rejections and failures log at WARN/ERROR.
    telemetry.debug('Delivery published', { ...logAttrs, ms: now() - started });
    return held.answer ?? jsonResponse(200, { status: 'published', id });
  }

  const onTrouble = options.onTrouble;
  const answer = async (req: RelayRequest): Promise<RelayResponse> => {
    const response = await respond(req);
    const troubled = onTrouble && response.statusCode >= 400 ? routeFor(req.path) : undefined;
    const provider = troubled && sourceOf(troubled);
    if (provider) await onTrouble?.(provider, response.statusCode).catch(() => undefined);
    return response;
  };
  return answer;

  async function respond(req: RelayRequest): Promise<RelayResponse> {
    const route = routeFor(req.path);
    telemetry.count('Received', { provider: route ? sourceOf(route) : 'none' });
    if (!route) return reject(undefined, new NotFoundError());
    if (req.method === 'OPTIONS') return jsonResponse(200, { status: 'ok' }, { allow: 'POST, OPTIONS' });
    if (req.method !== 'POST') return reject(route, new MethodNotAllowedError(req.method));
    if (req.tooLarge || req.body.length > maxBodyBytes) return reject(route, new PayloadTooLargeError(maxBodyBytes));

    // One deadline per request (one timer, no listener): it answers with 503 if `deliver` has not,
    // and its signal aborts the SDK calls in flight (whose failure paths release the dedup claim). A
    // port that ignores the signal cannot hold the answer either: the deadline answers without it.
    const held: HeldClaim = {
      dedup: route.dedup,
      id: undefined,
      owner: '',
      published: false,
      answer: undefined,
      abandon: undefined,
      released: undefined,
    };
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      // The answer: what `deliver` returns, or the deadline's error if that comes first (one promise).
      return await new Promise<RelayResponse>((resolve, rejectDeadline) => {
        timer = setTimeout(() => {
          // Copies waiting in this environment stop waiting: published, or failed.
          held.abandon?.();
          if (held.published) {
            // Only the dedup bookkeeping is left: give it a short grace, then cut it and answer 200
            // (even if that write ignores the signal: the event is on the bus).
            timer = setTimeout(() => {
              controller.abort(new DeadlineExceededError(route.budgetMs));
              if (held.answer) resolve(held.answer);
            }, COMPLETE_GRACE_MS);
            return;
          }
          const err = new DeadlineExceededError(route.budgetMs);
          controller.abort(err);
          rejectDeadline(err);
        }, route.budgetMs);
        deliver(route, req, controller.signal, held).then(resolve, rejectDeadline);
      });
    } catch (err) {
      // Out of time with a claim but no publish (e.g. a port that ignores its signal): free the key.
      // Waited for only while the provider's deadline allows (a hanging DynamoDB takes the store's
      // full cap): a release cut short goes on after the answer, or the claim's lock frees the key.
      if (held.id !== undefined) {
        held.released = held.dedup.release(held.id, held.owner);
        await within(held.released, route.provider.answerWithinMs - route.budgetMs - ANSWER_RESERVE_MS);
      }
      const relayError =
        err instanceof DeadlineExceededError || controller.signal.aborted
          ? new DeadlineExceededError(route.budgetMs, { cause: err })
          : toRelayError(err);
      return reject(route, relayError);
    } finally {
      clearTimeout(timer);
    }
  }
}
