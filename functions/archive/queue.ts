/**
 * One queue message of the archive queue, from receipt to outcome: the relay event it carries (an
 * EventBridge event), its files copied (archive.ts), then
 * - archived / failed: the outcome event published on the bus; the message is done;
 * - retry: the message's visibility is set to the backoff of its receive count, and it is reported
 *   as a batch item failure, so SQS delivers it again after the wait (the retry period counts from
 *   the message's first send, SentTimestamp); the dead-letter queue takes what the function cannot
 *   even handle (a crash every time) after maxReceiveCount.
 * Knows SQS's record shape, no SDK.
 */
import type { SQSRecord } from 'aws-lambda';
import { parseRelayEvent, type RelayEvent } from '../core/envelope.js';
import { type ArchiveDeps, type ArchiveOutcome, type ArchiveSettings, archiveEvent } from './archive.js';
import { archivedEvent, archiveFailedEvent } from './outcome.js';

export interface QueuePorts {
  /** Archive deps of the event's source (its media, allow-list, refresher), or undefined: not archived. */
  depsFor(event: RelayEvent): Promise<ArchiveDeps | undefined>;
  publish(event: RelayEvent): Promise<void>;
  /** Makes the message visible again in `seconds`. */
  delay(receiptHandle: string, seconds: number): Promise<void>;
  now(): number;
  /** Jitter in [0, 1). @default Math.random */
  random?(): number;
}

/** Backoff of the n-th receive: 30 s doubling, capped (seconds), with up to 20 % jitter. */
export function backoffSeconds(receiveCount: number, capSeconds: number, random: () => number = Math.random): number {
  const base = Math.min(capSeconds, 30 * 2 ** Math.max(0, Math.min(20, receiveCount - 1)));
  return Math.max(1, Math.round(base * (0.8 + 0.2 * random())));
}

export type MessageResult =
  | { readonly status: 'skipped'; readonly event?: RelayEvent }
  | { readonly status: 'retry'; readonly event: RelayEvent; readonly outcome: ArchiveOutcome; readonly delaySeconds: number }
  | { readonly status: 'archived' | 'failed'; readonly event: RelayEvent; readonly outcome: ArchiveOutcome };

/** Handles one record; throws only when the message cannot be read or the outcome cannot be published. */
export async function handleArchiveMessage(
  record: Pick<SQSRecord, 'body' | 'receiptHandle' | 'attributes'>,
  ports: QueuePorts,
  settings: ArchiveSettings & { readonly backoffCapSeconds: number },
): Promise<MessageResult> {
  const event = parseRelayEvent(record.body);
  const deps = await ports.depsFor(event);
  if (!deps) return { status: 'skipped', event };
  const firstSeen = Number(record.attributes.SentTimestamp) || ports.now();
  const outcome = await archiveEvent(event, firstSeen, deps, settings);
  if (outcome.status === 'retry') {
    const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
    const delaySeconds = backoffSeconds(receives, settings.backoffCapSeconds, ports.random ?? Math.random);
    await ports.delay(record.receiptHandle, delaySeconds);
    return { status: 'retry', event, outcome, delaySeconds };
  }
  const now = new Date(ports.now());
  if (outcome.status === 'archived') await ports.publish(archivedEvent(event, outcome.files, now));
  else
    await ports.publish(
      archiveFailedEvent(
        event,
        outcome.files,
        outcome.failures.map((f) => ({ kind: f.kind, reason: f.error.reason, message: f.error.message })),
        now,
      ),
    );
  return { status: outcome.status, event, outcome };
}
