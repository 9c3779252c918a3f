/**
 * Ports: what the pure core needs from the outside world. AWS adapters (functions/adapters/aws)
 * and local adapters (functions/adapters/local) implement the same interfaces, so the very same
 * handler runs in Lambda, in `npm start` and in tests.
 */
import type { RelayEvent } from './envelope.js';

/** One signing secret version the ingress may accept. */
export interface SigningKey {
  /** The secret string exactly as the provider issued it (e.g. `whsec_...`), used as the HMAC key. */
  readonly secret: string;
  /** Where it came from (e.g. `AWSCURRENT`, `AWSPENDING`, `AWSPREVIOUS`, `local`); for logs, never the value. */
  readonly label: string;
}

/** Reads the signing secrets that are live right now for one provider. */
export interface SigningKeySource {
  /** Cached read. Returns an empty array when no secret has been configured yet. */
  getKeys(signal?: AbortSignal): Promise<readonly SigningKey[]>;
  /**
   * Re-read after a verification miss. Implementations rate-limit the real re-read
   * (at most once per `minRefreshIntervalMs`) and otherwise return the cached keys.
   */
  refresh(signal?: AbortSignal): Promise<readonly SigningKey[]>;
}

/**
 * `took_over`: go ahead as for `claimed`, but the key was held by an unfinished claim of another
 * owner whose lock had passed (docs/guarantees.md, "The dedup record"): that writer died or lost an
 * answer, maybe after its PutEvents landed, so publishing now may put a second copy (same id) on the
 * bus. The caller counts it (`PossibleDuplicatePublished` reason `took_over`, `BackfillUncertain`).
 */
export type ClaimResult = 'claimed' | 'took_over' | 'duplicate' | 'in_flight';

/**
 * How a dedup store keeps a delivery from being published twice. Neither mode can lose an event:
 * nothing is marked published before PutEvents has succeeded, and a failure leaves the key free.
 * - `record`: a consistent read before publishing, one write after it (1 read + 1 write unit per
 *   new delivery). A retry after the first answer is a 200 duplicate; a copy that arrives while
 *   the first is still publishing can be published too (counted as `ConcurrentDuplicate`).
 * - `claim`: a conditional write claims the key before publishing and an update marks it published
 *   (2 write units). A copy that arrives while the first is in flight gets 409 and is retried.
 */
export type DedupMode = 'record' | 'claim';

/**
 * `raced`: published, but another delivery of the same body was recorded first, or (`record` mode)
 * held a live claim that this record overwrote (both were, or may be, published).
 */
export type CompleteResult = 'completed' | 'raced';

/** Deduplication keyed on the event's relay key (`<source>:<rest>`, functions/core/event-key.ts). */
export interface DedupStore {
  /**
   * Before publishing, on behalf of `owner` (unique per request): `duplicate` = already published;
   * `in_flight` = another request holds an unexpired claim; `claimed` = go ahead and publish (in
   * `claim` mode the key is now held by `owner`; in `record` mode nothing was written); `took_over`
   * = the same, over another owner's unfinished claim whose lock passed (maybe published: count it).
   */
  claim(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult>;
  /** After publishing: mark the key as published, keeping it for the dedup window. */
  complete(key: string, owner: string, signal?: AbortSignal): Promise<CompleteResult>;
  /**
   * Release `owner`'s claim after a failure so the provider's retry can succeed. Releases nothing
   * that is completed or held by another owner. Must not throw.
   */
  release(key: string, owner: string): Promise<void>;
  /**
   * Whether `key` of an earlier key scheme (a provider whose events are now keyed by content, see
   * `ProviderIngress.eventKey`, was keyed by sha256 of the raw body) is recorded as published. A read
   * that writes nothing. Stores may stop reading (answer false) once every item of the earlier
   * scheme has expired, one dedup window after the new keys were first used.
   */
  seenLegacy?(key: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * False once the store knows no record of the earlier scheme can still be live (its window is
   * over): callers then skip even computing the earlier key (a SHA-256 of the body). Absent or true:
   * call `seenLegacy`.
   */
  legacyWindowOpen?(): boolean;
}

/** The one durable write of a request. Resolves only when the event is stored. */
export interface EventPublisher {
  /**
   * `detail` is `JSON.stringify(event)`, already computed by the core (for the size check); an
   * adapter uses it instead of serializing again. Throws `UnpublishableError` when the bus refuses
   * the entry permanently.
   */
  publish(event: RelayEvent, signal?: AbortSignal, detail?: string): Promise<void>;
  /**
   * Whether a failure `publish` threw certainly left the event off the bus (the bus refused it, or
   * was never reached). Otherwise the event may be stored although the call failed (its answer was
   * lost), and the provider's retry then publishes a second copy: the core counts that as
   * `PossibleDuplicatePublished` (docs/guarantees.md). Absent: every failure may have stored it.
   */
  notStored?(error: unknown): boolean;
}

/** Why a signed delivery was parked instead of published. */
export type ParkReason =
  | 'too_large' // the envelope exceeds EventBridge's 256 KB entry limit
  | 'too_deep' // nesting beyond the 1,100 levels PutEvents processes
  | 'lossy_number' // a number JSON cannot carry exactly (beyond double precision or range)
  | 'duplicate_key' // an object repeats a key (JSON.parse would keep only the last)
  | 'invalid_utf8' // the body is not UTF-8 (decoding would replace bytes with U+FFFD)
  | 'rejected_by_bus'; // EventBridge refused the entry permanently (e.g. MalformedDetail)

/** A signed delivery kept, with its reason, because EventBridge can never take it as it is. */
export interface ParkedDelivery {
  /**
   * The event's relay key (`<source>:<rest>`, functions/core/event-key.ts), its envelope id: parking the
   * same event of one source twice overwrites one record; two sources never share one.
   */
  readonly id: string;
  readonly provider: string;
  /** The source (provider account) it came through, when not the provider's default source. */
  readonly source?: string;
  readonly reason: ParkReason;
  /** A sentence for operators; never body content. EventBridge's error code, if any, is in `busCode`. */
  readonly message: string;
  readonly busCode?: string;
  /** ISO-8601 UTC. */
  readonly receivedAt: string;
  readonly path: string;
  /** The delivery's headers without its signature (signatures never leave the request). */
  readonly headers: Readonly<Record<string, string>>;
  /** Which secret version verified it (a label, never the value). */
  readonly keyLabel: string;
  /** The raw signed body, byte for byte. */
  readonly body: Buffer;
}

/** Durable storage for parked deliveries. `park` resolves only when the delivery is stored. */
export interface ParkedStore {
  park(delivery: ParkedDelivery, signal?: AbortSignal): Promise<void>;
}

/** Signing-secret storage for the registrar and rotation (provider-agnostic). */
export interface StoredSigningSecret {
  /** The provider's signing secret, or null while none has been issued. */
  readonly secret: string | null;
  /** The provider endpoint the secret belongs to. */
  readonly endpointId?: string | null;
  /** The URL that endpoint delivers to. */
  readonly url?: string | null;
  /** On a rotation's pending value: the current version it replaces. */
  readonly replaces?: string | null;
}
