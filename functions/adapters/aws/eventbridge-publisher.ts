import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { RelayEvent } from '../../core/envelope.js';
import { DependencyError, UnpublishableError } from '../../core/errors.js';
import type { EventPublisher } from '../../core/ports.js';
import { MAX_ENTRY_BYTES, putEventsEntrySize } from '../../core/publish-limits.js';
import { putEventsNotStored } from './put-events-outcome.js';

export { MAX_ENTRY_BYTES };

/** Entry error codes that a retry cannot fix: the core parks the delivery. */
const PERMANENT = new Set(['MalformedDetail', 'InvalidArgument', 'ValidationException']);
/**
 * Request-level answers (the whole PutEvents call refused) that the same entry can never get past:
 * the request fails validation (`ValidationException`; `ValidationError` / `SerializationException`
 * in the protocol's other spellings). The core parks the delivery (202, counted as Parked, alarmed).
 * Everything else (throttling, 5xx, credentials, the role's permissions, an expired signature) is
 * transient or fixable by us: 503, so the provider retries.
 */
const PERMANENT_REQUEST = new Set(['ValidationException', 'ValidationError', 'SerializationException']);
/** HTTP status of a request too large for the service, whatever the error's name (none is sent with it). */
const TOO_LARGE = 413;

/** The code to park under when the thrown PutEvents error can never succeed for this entry, else undefined. */
export function permanentRequestError(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { name, $metadata } = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof name === 'string' && PERMANENT_REQUEST.has(name)) return name;
  if ($metadata?.httpStatusCode === TOO_LARGE) return 'RequestEntityTooLarge';
  return undefined;
}

/** Our own fault (the role): not retried here, answered 503 (alarmed) so the provider retries after the fix. */
const NO_RETRY = new Set(['AccessDeniedException']);

export interface EventBridgePublisherOptions {
  /** Attempts for an entry that PutEvents reports as failed (throttling, internal errors). @default 3 */
  readonly entryAttempts?: number;
  /** First back-off between entry attempts, doubled each time. @default 50 */
  readonly backoffMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export function toPutEventsEntry(event: RelayEvent, busName: string, detail?: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: event.provider,
    DetailType: event.type,
    Detail: detail ?? JSON.stringify(event),
    Time: new Date(event.receivedAt),
  };
}

/** Publishes one event per request to the relay bus; resolves only when EventBridge accepted it. */
export class EventBridgePublisher implements EventPublisher {
  private readonly attempts: number;
  private readonly backoffMs: number;
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    { entryAttempts = 3, backoffMs = 50 }: EventBridgePublisherOptions = {},
  ) {
    this.attempts = entryAttempts;
    this.backoffMs = backoffMs;
  }

  async publish(event: RelayEvent, signal?: AbortSignal, detail?: string): Promise<void> {
    let entry: PutEventsRequestEntry;
    try {
      entry = toPutEventsEntry(event, this.busName, detail);
    } catch (err) {
      // JSON.stringify overflows its stack on extreme nesting (the core parks deeper than 1,100 first).
      throw new UnpublishableError('too_deep', 'The event cannot be serialized', undefined, { cause: err });
    }
    const size = putEventsEntrySize({
      source: entry.Source ?? '',
      detailType: entry.DetailType ?? '',
      ...(entry.Detail === undefined ? {} : { detail: entry.Detail }),
      hasTime: entry.Time !== undefined,
    });
    if (size > MAX_ENTRY_BYTES)
      throw new UnpublishableError(
        'too_large',
        `The event entry would be ${size} bytes; EventBridge takes at most ${MAX_ENTRY_BYTES}`,
      );
    let lastCode = 'unknown';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const out = await this.send(entry, signal);
      const result = out.Entries?.[0];
      if ((out.FailedEntryCount ?? 0) === 0 && result?.EventId) return;
      lastCode = result?.ErrorCode ?? 'unknown';
      if (PERMANENT.has(lastCode))
        // The bus's own code goes to logs and the parked record, never into a response body.
        throw new UnpublishableError('rejected_by_bus', 'EventBridge refused the entry permanently', lastCode);
      if (NO_RETRY.has(lastCode)) break;
      if (attempt < this.attempts) await sleep(this.backoffMs * 2 ** (attempt - 1), signal);
    }
    throw new DependencyError('publish', 'EventBridge did not accept the event', {
      cause: new Error(`PutEvents entry error ${lastCode} after ${this.attempts} attempts`),
    });
  }

  /** See `EventPublisher.notStored` (put-events-outcome.ts). */
  notStored(error: unknown): boolean {
    return putEventsNotStored(error);
  }

  /** One PutEvents call; a request-level refusal that can never succeed becomes UnpublishableError. */
  private async send(entry: PutEventsRequestEntry, signal?: AbortSignal) {
    try {
      return await this.client.send(new PutEventsCommand({ Entries: [entry] }), { abortSignal: signal });
    } catch (err) {
      const code = signal?.aborted ? undefined : permanentRequestError(err);
      // The bus's code goes to logs and the parked record, never into a response body.
      if (code)
        throw new UnpublishableError('rejected_by_bus', 'EventBridge refused the request permanently', code, { cause: err });
      throw err;
    }
  }
}
