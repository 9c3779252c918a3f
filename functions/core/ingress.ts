/**
 * The ingress pipeline, pure: route → verify → normalize → dedup → publish. It knows no AWS; every
 * side effect goes through a port (functions/core/ports.ts).
 */

import { isUtf8 } from 'node:buffer';
import { createHash, randomUUID } from 'node:crypto';
import type { NormalizedDelivery, ProviderIngress } from '../../providers/types.js';
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
import type { TroubleHook } from './evidence.js';
import { depthOf, scanBody } from './fidelity.js';
import { errorResponse, jsonResponse, type RelayRequest, type RelayResponse } from './http.js';
import type { ClaimResult, DedupStore, EventPublisher, ParkedStore, ParkReason, SigningKey, SigningKeySource } from './ports.js';
import { entrySizeIfAbove, MAX_DETAIL_DEPTH, MAX_ENTRY_BYTES } from './publish-limits.js';
import { RequestController } from './request-signal.js';
import { hmacHexBody } from './verify.js';

export interface Telemetry {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  /** Adds 1 to a count metric. */
  count(metric: MetricName, dimensions?: Record<string, string>): void;
  /**
   * False when a `debug` line would be dropped (its level is off and nothing buffers it): the hot
   * path then skips building it. Absent: every line is built.
   */
  debugEnabled?(): boolean;
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
   * evidence the registrar's secret check and the backfill read). For a 401 it is also given the
   * refused body's event key (`refusedKey`: the relay's key, core/event-key.ts; computed only then,
   * never for an accepted delivery; none when the body gives no event key) and why (`refusal`:
   * `signature`, no live key matched, or `stale`, a live key matched but the timestamp is outside the
   * tolerance). Must not throw.
   */
  readonly onTrouble?: TroubleHook;
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

/**
 * The event key of a refused delivery's body, as the provider computes it (the refusal path only: the
 * registrar's proof matches it against the missed history entry's key). A body that does not parse,
 * or whose key is only its hash (the provider found no event in it), gives none.
 */
function refusedEventKey(route: ProviderRoute, req: RelayRequest): string | undefined {
  const eventKey = route.provider.eventKey;
  if (!eventKey || req.body.length === 0) return undefined;
  try {
    const key = eventKey(req.body, req.headers);
    if (key === undefined || key === dedupKey(route.provider.name, req.body)) return undefined;
    return sourceEventKey(sourceOf(route), key);
  } catch {
    return undefined; // not JSON, or no event in it
  }
}

/** The router's key of a request path (one trailing slash dropped, lower case); the registrar's URL identity uses it too (providers/heygen/runtime/route-url.ts). */
export function normalizePath(path: string): string {
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

/** The last second `isoTime` wrote, and its text up to the milliseconds (`2026-12-07T13:45:10.`). */
let isoSecond = Number.NaN;
let isoPrefix = '';

/** `new Date(ms).toISOString()`, making one Date per second instead of one per request. */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const text = new Date(second * 1000).toISOString();
    // Years past 9999 (and before 0) print with more characters: no shortcut for them.
    if (text.length !== 24) return new Date(ms).toISOString();
    isoPrefix = text.slice(0, 20);
    isoSecond = second;
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

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

/**
 * The pipeline: one `Ingress` per set of routes. Read the methods top to bottom to follow a request:
 * `answer` → `respond` (read: route, method, size) → `withinDeadline` → `deliver`: `verify` (the
 * signature) → `normalize` (parse, staleness, the event's key) → `oneCopyAtATime` (dedup within this
 * environment) → `publishOnce`: `prepareEvent` (what EventBridge can take, else `park`) → `claim`
 * (dedup across environments) → `publish` → `recordPublished`. A refusal or failure comes back to
 * `answer` as its RelayError: `reject` answers it, and `onTrouble` hears of it.
 */
export function createIngress(options: IngressOptions): IngressPipeline {
  const ingress = new Ingress(options);
  return (req) => ingress.answer(req);
}

/** A delivery whose signature verified and whose body parsed: what the steps after `normalize` share. */
interface Verified {
  readonly route: ProviderRoute;
  readonly req: RelayRequest;
  readonly signal: AbortSignal;
  readonly held: HeldClaim;
  readonly key: SigningKey;
  readonly delivery: NormalizedDelivery;
  /** The relay's key of the event (core/event-key.ts): envelope id, dedup and parked record. */
  readonly id: string;
  /** `id` is a content key: deliveries recorded under the body key may be earlier copies. */
  readonly contentKeyed: boolean;
}

/** What the logs of a verified delivery carry (with `ms`, the time it took, when given). */
function logAttrsOf(v: Verified, ms?: number): Record<string, unknown> {
  const { delivery } = v;
  const attrs: Record<string, unknown> = {
    provider: sourceOf(v.route),
    type: delivery.type,
    id: v.id,
    deliveryId: delivery.deliveryId,
    keyLabel: v.key.label,
  };
  if (ms !== undefined) attrs.ms = ms;
  return attrs;
}

class Ingress {
  private readonly telemetry: Telemetry;
  private readonly now: () => number;
  private readonly routes: Map<string, ProviderRoute>;
  /**
   * Deliveries being processed in this execution environment, by dedup key. A copy that arrives
   * meanwhile waits for the first one's outcome instead of publishing too: at most one publish per
   * key in flight per environment, whatever the dedup mode.
   */
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly options: IngressOptions) {
    this.telemetry = options.telemetry;
    this.now = options.now ?? Date.now;
    this.routes = new Map(options.routes.map((r) => [normalizePath(r.path), r]));
  }

  /** The answer to a request; a routed 4xx/5xx is reported to `onTrouble` first. */
  async answer(req: RelayRequest): Promise<RelayResponse> {
    const route = this.routeFor(req.path);
    const outcome = await this.respond(route, req);
    if (!(outcome instanceof RelayError)) return outcome;
    const response = this.reject(route, outcome);
    const provider = route && sourceOf(route);
    if (!provider || !this.options.onTrouble) return response;
    // A signature MISS names a refused key (the registrar's proof of a dead secret). A stale timestamp
    // is a 401 too, but its signature matched a live key (review3-stale-timestamp-rotates): its key is
    // named as stale, which proves its entry's miss was the clock's (review3-stale-signed-no-heal).
    const refusal =
      outcome instanceof SignatureVerificationError ? 'signature' : outcome instanceof StaleDeliveryError ? 'stale' : undefined;
    const refusedKey = refusal && refusedEventKey(route, req);
    await this.options.onTrouble(provider, response.statusCode, refusedKey, refusal).catch(() => undefined);
    return response;
  }

  private routeFor(path: string): ProviderRoute | undefined {
    const normalized = normalizePath(path);
    const exact = this.routes.get(normalized);
    if (exact) return exact;
    const parent = SUBPATH.exec(normalized)?.[1];
    const route = parent === undefined ? undefined : this.routes.get(parent);
    return route?.acceptSubpaths ? route : undefined;
  }

  /** Read: the route, the method and the size; then the delivery, within the route's budget. A refusal is its error. */
  private async respond(route: ProviderRoute | undefined, req: RelayRequest): Promise<RelayResponse | RelayError> {
    this.telemetry.count('Received', { provider: route ? sourceOf(route) : 'none' });
    if (!route) return new NotFoundError();
    if (req.method === 'OPTIONS') return jsonResponse(200, { status: 'ok' }, { allow: 'POST, OPTIONS' });
    if (req.method !== 'POST') return new MethodNotAllowedError(req.method);
    if (req.tooLarge || req.body.length > this.options.maxBodyBytes) return new PayloadTooLargeError(this.options.maxBodyBytes);
    return this.withinDeadline(route, req);
  }

  /**
   * `deliver`, within one deadline per request (one timer, no listener): it answers with 503 if
   * `deliver` has not, and its signal aborts the SDK calls in flight (whose failure paths release the
   * dedup claim). A port that ignores the signal cannot hold the answer either: the deadline answers without it.
   */
  private async withinDeadline(route: ProviderRoute, req: RelayRequest): Promise<RelayResponse | RelayError> {
    const held: HeldClaim = {
      dedup: route.dedup,
      id: undefined,
      owner: '',
      published: false,
      answer: undefined,
      abandon: undefined,
      released: undefined,
    };
    // The deadline's signal (a light AbortSignal: core/request-signal.ts).
    const controller = new RequestController();
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
        this.deliver(route, req, controller.signal, held).then(resolve, rejectDeadline);
      });
    } catch (err) {
      // Out of time with a claim but no publish (e.g. a port that ignores its signal): free the key.
      // Waited for only while the provider's deadline allows (a hanging DynamoDB takes the store's
      // full cap): a release cut short goes on after the answer, or the claim's lock frees the key.
      if (held.id !== undefined) {
        held.released = held.dedup.release(held.id, held.owner);
        await within(held.released, route.provider.answerWithinMs - route.budgetMs - ANSWER_RESERVE_MS);
      }
      return err instanceof DeadlineExceededError || controller.signal.aborted
        ? new DeadlineExceededError(route.budgetMs, { cause: err })
        : toRelayError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Verify, normalize, then publish once per key in flight in this environment. */
  private async deliver(route: ProviderRoute, req: RelayRequest, signal: AbortSignal, held: HeldClaim): Promise<RelayResponse> {
    const key = await this.verify(route, req, signal);
    const v = this.normalize(route, req, signal, held, key);
    return this.oneCopyAtATime(v);
  }

  /** The live signing key the delivery's signature matches, or 401 (`SignatureVerificationError`). */
  private async verify(route: ProviderRoute, req: RelayRequest, signal: AbortSignal): Promise<SigningKey> {
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

  /** Only now is the body trusted enough to be parsed: the delivery, its staleness and its key. */
  private normalize(route: ProviderRoute, req: RelayRequest, signal: AbortSignal, held: HeldClaim, key: SigningKey): Verified {
    const delivery = route.provider.normalize(req.body, req.headers);
    this.checkTimestamp(route, delivery);
    // The body key is computed only when it is the id, or for the check of earlier-scheme records.
    const eventKey = route.provider.eventKey?.(req.body, req.headers);
    // Per source: two sources (accounts) never share a key (core/event-key.ts).
    const id = sourceEventKey(sourceOf(route), eventKey ?? dedupKey(route.provider.name, req.body));
    const contentKeyed = eventKey !== undefined && route.provider.legacyBodyKeys === true;
    return { route, req, signal, held, key, delivery, id, contentKeyed };
  }

  /** Checks the staleness of a verified delivery (only when the check is on: 0 means off). */
  private checkTimestamp(route: ProviderRoute, delivery: NormalizedDelivery): void {
    const tolerance = route.timestampToleranceSeconds;
    if (tolerance <= 0) return;
    if (delivery.timestampInvalid) throw new BadRequestError('invalid_timestamp', 'The timestamp must be unix seconds');
    if (delivery.sentAt === undefined) {
      if (route.provider.requiresTimestamp)
        throw new BadRequestError('missing_timestamp', 'The signed body has no timestamp, and the staleness check is on');
      return;
    }
    if (Math.abs(this.now() / 1000 - delivery.sentAt) > tolerance)
      throw new StaleDeliveryError(`Timestamp is outside the tolerance of ${tolerance} s`);
  }

  /**
   * Dedup within this environment: one publish per key in flight; a copy waits for the first one's
   * outcome and answers `duplicate` when it published (parked or failed: it goes through itself).
   */
  private async oneCopyAtATime(v: Verified): Promise<RelayResponse> {
    const { id, signal, held } = v;
    for (let waiting = this.inFlight.get(id); waiting; waiting = this.inFlight.get(id)) {
      const outcome = await abortable(waiting.wait(), signal);
      if (outcome === 'published')
        return this.duplicate(v, 'Duplicate delivery; published by a copy in flight', { provider: sourceOf(v.route), id });
      // Parked or failed: this copy goes through the pipeline itself (parking again is idempotent).
    }
    // Past the deadline (a port that ignored the signal returned late): the answer is out and the
    // deadline that frees slots has fired, so take none (a hang from here would hold it for good).
    if (signal.aborted) throw signal.reason;
    const mine = new InFlight();
    this.inFlight.set(id, mine);
    const done = (outcome: Outcome) => {
      if (this.inFlight.get(id) === mine) this.inFlight.delete(id);
      mine.settle(outcome);
    };
    // The deadline frees the key even if a port ignores the signal and never returns.
    held.abandon = () => done(held.published ? 'published' : 'failed');
    let outcome: Outcome = 'failed';
    try {
      const res = await this.publishOnce(v);
      // 200 is published now or before (duplicate); 202 parked; anything else failed.
      outcome = held.published || res.statusCode === 200 ? 'published' : res.statusCode === 202 ? 'parked' : 'failed';
      return res;
    } finally {
      held.abandon = undefined;
      done(outcome);
    }
  }

  /** Prepare the envelope (or park), claim the key, publish, record: the event once on the bus. */
  private async publishOnce(v: Verified): Promise<RelayResponse> {
    const started = this.now();
    const provider = sourceOf(v.route);
    // What EventBridge can never take as it is, decided before anything is claimed.
    const prepared = prepareEvent(v.route.provider.name, v.req.body, v.delivery, v.id, isoTime(this.now()), {
      source: provider,
    });
    if (prepared instanceof Unpublishable) return this.park(v, prepared);
    const owner = randomUUID();
    const claim = await this.claim(v, owner);
    if (claim === 'duplicate') return this.duplicate(v, 'Duplicate delivery; already published', logAttrsOf(v));
    if (claim === 'in_flight') throw new InFlightError();
    const parked = await this.publish(v, owner, prepared, claim === 'took_over');
    if (parked) return parked;
    await this.recordPublished(v, owner);
    // DEBUG: a line per published delivery costs more in CloudWatch Logs than the rest of the
    // logging together; counts are in the metrics, and rejections and failures log at WARN/ERROR.
    if (this.telemetry.debugEnabled?.() !== false)
      this.telemetry.debug('Delivery published', logAttrsOf(v, this.now() - started));
    return v.held.answer ?? jsonResponse(200, { status: 'published', id: v.id });
  }

  /** Answers 200 `duplicate`: the event is on the bus already. */
  private duplicate(v: Verified, message: string, attrs: Record<string, unknown>): RelayResponse {
    this.telemetry.count('Duplicate', { provider: sourceOf(v.route) });
    this.telemetry.info(message, attrs);
    return jsonResponse(200, { status: 'duplicate', id: v.id });
  }

  /**
   * Dedup across environments: claims the key in the dedup store (held by `v.held` until published,
   * so the deadline can release it). A content key's copy recorded under the earlier body key counts
   * as `duplicate`.
   */
  private async claim(v: Verified, owner: string): Promise<ClaimResult> {
    const { held, id, signal } = v;
    const { dedup } = held;
    held.id = id;
    held.owner = owner;
    // A content key may have a copy recorded under the earlier body key: read that at the same time
    // as the claim (read-only, so nothing to undo when the claim says duplicate).
    const bodyKey =
      v.contentKeyed && dedup.seenLegacy && dedup.legacyWindowOpen?.() !== false
        ? dedupKey(v.route.provider.name, v.req.body)
        : id;
    const legacy = bodyKey !== id ? dedup.seenLegacy?.(bodyKey, signal) : undefined;
    // Settled below only if the claim went ahead; never an unhandled rejection otherwise.
    legacy?.catch(() => undefined);
    let claim: ClaimResult;
    try {
      claim = await dedup.claim(id, owner, signal);
    } catch (err) {
      // The write may have landed before the failure: release our claim, if any.
      held.id = undefined;
      await dedup.release(id, owner);
      if (signal.aborted) throw err;
      throw new DependencyError('dedup', 'Could not record the delivery', { cause: err });
    }
    // Over another writer's unfinished claim (`took_over`): go ahead like `claimed`; the caller counts
    // the copy once published.
    const ahead = claim === 'claimed' || claim === 'took_over';
    if (ahead && legacy && (await alreadyUnderBodyKey(dedup, legacy, id, owner, signal))) {
      held.id = undefined;
      return 'duplicate';
    }
    if (!ahead) held.id = undefined;
    return claim;
  }

  /** PutEvents; on failure frees the key and answers 5xx, or parks what the bus can never take. */
  private async publish(
    v: Verified,
    owner: string,
    prepared: { event: RelayEvent; detail: string },
    tookOver: boolean,
  ): Promise<RelayResponse | undefined> {
    const { held, id, signal } = v;
    const provider = sourceOf(v.route);
    try {
      await this.options.publisher.publish(prepared.event, signal, prepared.detail);
      held.id = undefined; // published: never release from here on
      held.published = true;
      held.answer = jsonResponse(200, { status: 'published', id });
      this.telemetry.count('Published', { provider });
      if (tookOver) {
        this.possibleDuplicate(provider, 'took_over');
        this.telemetry.warn(
          'Published over an unfinished claim of another writer, which may have published it too',
          logAttrsOf(v),
        );
      }
      return undefined;
    } catch (err) {
      // Not published: free the key so the provider's retry is processed, then answer 5xx (or park).
      held.id = undefined;
      await held.dedup.release(id, owner);
      // Unless the bus proves it stored nothing, the event may be on it: the retry publishes a second copy.
      if (!(err instanceof UnpublishableError) && !this.options.publisher.notStored?.(err))
        this.possibleDuplicate(provider, 'publish_unconfirmed', logAttrsOf(v));
      if (signal.aborted) throw signal.reason;
      if (err instanceof UnpublishableError) return this.park(v, new Unpublishable('rejected_by_bus', err.message, err.busCode));
      throw err instanceof RelayError ? err : new DependencyError('publish', 'Could not publish the event', { cause: err });
    }
  }

  /**
   * Marks the published delivery's dedup record complete. Published after the deadline answered 5xx
   * and freed the key (a port that finished despite the signal): records it, with a time limit of
   * its own, so the provider's retry is answered duplicate instead of being published again. A copy
   * that claimed the key meanwhile wins.
   */
  private async recordPublished(v: Verified, owner: string): Promise<void> {
    const { held, id, signal } = v;
    const provider = sourceOf(v.route);
    const late = signal.aborted;
    try {
      if (late) await held.released;
      const recordSignal = late ? AbortSignal.timeout(LATE_RECORD_MS) : signal;
      if (late && (await held.dedup.claim(id, owner, recordSignal)) !== 'claimed')
        throw new Error('The key was claimed by another request after the deadline');
      // The request's deadline no longer cuts this short: once published it only arms a grace timer.
      if ((await held.dedup.complete(id, owner, recordSignal)) === 'raced') {
        // `record` mode: a copy that arrived while this one was publishing was published too.
        this.telemetry.count('ConcurrentDuplicate', { provider });
        this.telemetry.warn('Published a copy of a delivery that another request published at the same time', logAttrsOf(v));
        this.possibleDuplicate(provider, 'concurrent_copy');
      }
    } catch (err) {
      // Published: answer 200 regardless. The claim stays in progress until its lock expires.
      this.telemetry.warn('Published, but could not mark the dedup record complete', { ...logAttrsOf(v), error: String(err) });
      this.possibleDuplicate(provider, late ? 'late_publish' : 'record_not_written');
    }
  }

  /** Keeps a signed delivery EventBridge can never take, with its reason; answers 202 `parked`. */
  private async park(v: Verified, why: Unpublishable): Promise<RelayResponse> {
    const { route, req, id, key, signal } = v;
    const parked = this.options.parked;
    if (!parked) throw new DependencyError('parked', 'The delivery cannot be published and no parked store is configured');
    try {
      await parked.park(
        {
          id,
          provider: route.provider.name,
          ...(route.source ? { source: route.source } : {}),
          reason: why.reason,
          message: why.message,
          ...(why.busCode ? { busCode: why.busCode } : {}),
          receivedAt: isoTime(this.now()),
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
    const provider = sourceOf(route);
    this.telemetry.count('Parked', { provider, reason: why.reason });
    this.telemetry.warn('Delivery parked: EventBridge can never take it as it is; list and re-publish it after a fix', {
      provider,
      id,
      reason: why.reason,
      busCode: why.busCode,
      keyLabel: key.label,
    });
    return jsonResponse(202, { status: 'parked', id, reason: why.reason });
  }

  /** Counts a copy that may be (or is) on the bus twice; consumers drop copies by envelope `id`. */
  private possibleDuplicate(provider: string, reason: DuplicateReason, attrs?: Record<string, unknown>): void {
    this.telemetry.count('PossibleDuplicatePublished', { provider, reason });
    if (attrs)
      this.telemetry.warn('The event may be on the bus although the delivery failed; its retry may publish a copy', {
        ...attrs,
        reason,
      });
  }

  /** The error's answer, counted and logged: 5xx as a failure (the provider retries), 4xx as a rejection. */
  private reject(route: ProviderRoute | undefined, err: RelayError): RelayResponse {
    const provider = route ? sourceOf(route) : 'none';
    if (err.status >= 500) {
      this.telemetry.count('Failed', { provider, reason: err.code });
      this.telemetry.error('Delivery failed; the provider will retry', {
        provider,
        status: err.status,
        code: err.code,
        cause: err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : undefined,
      });
    } else {
      this.telemetry.count('Rejected', { provider, reason: err.code });
      this.telemetry.warn('Delivery rejected', { provider, status: err.status, code: err.code });
    }
    const headers: Record<string, string> = err instanceof MethodNotAllowedError ? { allow: err.allow } : {};
    return errorResponse(err, headers);
  }
}
