import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { RelayEvent } from '../../core/envelope.js';
import { DependencyError, RelayError } from '../../core/errors.js';
import type { EventPublisher } from '../../core/ports.js';

/** EventBridge's limit for one PutEvents entry. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** Entry error codes that a retry cannot fix. */
const PERMANENT = new Set(['MalformedDetail', 'InvalidArgument', 'ValidationException', 'AccessDeniedException']);

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

export function toPutEventsEntry(event: RelayEvent, busName: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: event.provider,
    DetailType: event.type,
    Detail: JSON.stringify(event),
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
    options: EventBridgePublisherOptions = {},
  ) {
    this.attempts = options.entryAttempts ?? 3;
    this.backoffMs = options.backoffMs ?? 50;
  }

  async publish(event: RelayEvent, signal?: AbortSignal): Promise<void> {
    const entry = toPutEventsEntry(event, this.busName);
    const size =
      Buffer.byteLength(entry.Detail ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Source ?? '');
    if (size > MAX_ENTRY_BYTES)
      throw new RelayError(413, 'event_too_large', `The event would exceed EventBridge's ${MAX_ENTRY_BYTES}-byte entry limit`);
    let lastCode = 'unknown';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const out = await this.client.send(new PutEventsCommand({ Entries: [entry] }), { abortSignal: signal });
      const result = out.Entries?.[0];
      if ((out.FailedEntryCount ?? 0) === 0 && result?.EventId) return;
      lastCode = result?.ErrorCode ?? 'unknown';
      if (PERMANENT.has(lastCode)) break;
      if (attempt < this.attempts) await sleep(this.backoffMs * 2 ** (attempt - 1), signal);
    }
    throw new DependencyError('publish', `PutEvents did not accept the event (${lastCode})`);
  }
}
