/**
 * What a provider plug-in brings to the ingress. A provider is a folder under providers
 * that exports one `ProviderIngress`; the core knows nothing provider-specific.
 */
import type { RelaySubject } from '../functions/core/envelope.js';
import type { DedupMode } from '../functions/core/ports.js';
import type { SignatureScheme } from '../functions/core/verify.js';

/** Headers with lowercase names (Function URL events already are). */
export type Headers = Readonly<Record<string, string | undefined>>;

/** What a provider makes of a verified body. */
export interface NormalizedDelivery {
  readonly type: string;
  readonly subject: RelaySubject;
  readonly callbackId: string | null;
  readonly deliveryId: string | null;
  readonly data: Record<string, unknown>;
  /** `JSON.stringify(data)`, when the provider has it from the body's text (the core then skips serializing `data`). */
  readonly dataJson?: string;
  /**
   * When the provider says it sent the delivery (unix seconds), if it says so; the core rejects it
   * when it is outside the configured tolerance.
   */
  readonly sentAt?: number;
  /**
   * The timestamp is present but not unix seconds. The core answers 400 `invalid_timestamp` only
   * when the staleness check is on: tolerance 0 means the timestamp is not read at all.
   */
  readonly timestampInvalid?: boolean;
}

export interface ProviderIngress {
  /** Provider name: the bus `source`, the envelope `provider`, the dedup key prefix. */
  readonly name: string;
  /** Lowercase name of the header carrying the signature (never kept with a parked delivery). */
  readonly signatureHeader: string;
  /**
   * How deliveries are signed, when not a hex HMAC-SHA256 of the raw body in `signatureHeader`
   * (e.g. Standard Webhooks: id, timestamp and body signed, several signatures in one header).
   * @default hmacHexBody(signatureHeader) (functions/core/verify.ts)
   */
  readonly signature?: SignatureScheme;
  /**
   * Why a stored secret can never verify this provider's deliveries although it passes the general
   * quality rule (functions/core/secret-quality.ts), e.g. a Standard Webhooks secret that is not
   * `whsec_` + base64 or decodes to a published example key; null when usable. Such a secret is
   * refused as a key with a WARN (its label and this reason, never the value). @default none
   */
  readonly secretProblem?: (secret: string) => string | null;
  /** The provider's answer deadline; the relay answers inside it, leaving a margin. */
  readonly answerWithinMs: number;
  /** Default tolerance (seconds) for `sentAt`; 0 turns the check off. */
  readonly defaultTimestampToleranceSeconds: number;
  /**
   * The timestamp is part of the signed content and the provider always sends it, so with the
   * check on a delivery without one is refused (400 `missing_timestamp`): otherwise a captured
   * signed body could be replayed after the dedup window. False when the timestamp is an unsigned
   * header whose absence proves nothing (HeyGen).
   */
  readonly requiresTimestamp: boolean;
  /**
   * Default dedup mode (functions/core/ports.ts `DedupMode`): `record` when the provider only
   * resends after a failed or timed-out attempt (copies never overlap in time), `claim` when it
   * can deliver copies of one event at the same moment.
   */
  readonly defaultDedupMode: DedupMode;
  /**
   * The event types the provider is known to deliver (queue routes and registrations are
   * validated against them at synth). Optional: a provider without a list accepts any type.
   */
  readonly eventTypes?: readonly string[];
  /**
   * Turns a verified raw body (and the delivery headers) into the normalized shape.
   * Throws BadRequestError for malformed input.
   */
  normalize(body: Buffer, headers: Headers): NormalizedDelivery;
  /**
   * Deliveries of this provider were recorded under the body key (`<provider>:<sha256 of the body>`)
   * before its `eventKey` existed: with an `eventKey`, the ingress also looks for such a record for one
   * dedup window (`DedupStore.seenLegacy`). A provider that always had its `eventKey` leaves it off and
   * pays no extra read. @default false
   */
  readonly legacyBodyKeys?: boolean;
  /**
   * The event's dedup key from its content rather than its bytes, when a provider can deliver one
   * event in different bytes (HeyGen: a live delivery and its entry in the event history). The
   * ingress then also recognises deliveries recorded under the earlier body key (`DedupStore.seenLegacy`).
   * Called only on a verified body `normalize` accepted, with its headers (a provider whose signed
   * headers carry the event's id keys on it). @default sha256 of the raw body
   */
  eventKey?(body: Buffer, headers: Headers): string;
  /**
   * This plug-in configured for one route by its `options` (RELAY_PROVIDERS, written by the source at
   * synth), e.g. how a sender's body maps to the envelope; it keeps its `name`. Throws an Error naming
   * the bad option. Absent: the provider takes no options.
   */
  withOptions?(options: Readonly<Record<string, unknown>>): ProviderIngress;
}
