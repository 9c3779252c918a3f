/**
 * One queue message of the archive queue, from receipt to outcome: the relay event it carries (an
 * EventBridge event), its files copied (archive.ts), then
 * - archived / failed: the outcome event published on the bus; the message is done;
 * - retry: the message's visibility is set to the backoff of its receive count, and it is reported
 *   as a batch item failure, so SQS delivers it again after the wait (the retry period counts from
 *   the message's first send, SentTimestamp); the dead-letter queue takes what the function cannot
 *   even handle (a crash every time) after maxReceiveCount;
 * - unreadable (not JSON, not a relay event): it can never succeed, so it is not retried: the entry
 *   moves it to the dead-letter queue at once with the attributes given here (why, and the original
 *   message's id, receive count and sent time), then reports it handled.
 * Knows SQS's record shape, no SDK.
 */
import type { SQSRecord } from 'aws-lambda';
import { parseRelayEvent, type RelayEvent, RelayEventParseError } from '../core/envelope.js';
import { type ArchiveDeps, type ArchiveOutcome, type ArchiveSettings, archiveEvent } from './archive.js';
import { UNREADABLE_ATTRIBUTES } from './names.js';
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

/** An SQS message attribute (the SDK's MessageAttributeValue, string and number kinds). */
export interface MessageAttribute {
  readonly DataType: 'String' | 'Number';
  readonly StringValue: string;
}

/** A message that is no relay event: why, and the attributes it goes to the dead-letter queue with. */
export interface Unreadable {
  readonly status: 'unreadable';
  readonly reason: string;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
}

export type MessageRecord = Pick<SQSRecord, 'body' | 'receiptHandle' | 'attributes'> & { readonly messageId?: string };

export type MessageResult =
  | Unreadable
  | { readonly status: 'skipped'; readonly event?: RelayEvent }
  | { readonly status: 'retry'; readonly event: RelayEvent; readonly outcome: ArchiveOutcome; readonly delaySeconds: number }
  | { readonly status: 'archived' | 'failed'; readonly event: RelayEvent; readonly outcome: ArchiveOutcome };

/** Longest reason kept (the parse error names the field and may quote its value). */
const REASON_MAX = 256;
/** What an SQS attribute value may not contain, replaced by U+FFFD. */
const NOT_IN_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** The dead-letter attributes of a record that is no relay event: the reason, the original id, receive count and sent time. */
export function unreadable(record: MessageRecord, error: RelayEventParseError): Unreadable {
  const reason = (error.message.replace(NOT_IN_SQS, '\uFFFD') || error.name).slice(0, REASON_MAX);
  const attributes: Record<string, MessageAttribute> = {
    [UNREADABLE_ATTRIBUTES.reason]: { DataType: 'String', StringValue: reason },
  };
  const number = (name: string, value: string | undefined) => {
    if (value && /^\d+$/.test(value)) attributes[name] = { DataType: 'Number', StringValue: value };
  };
  if (record.messageId) attributes[UNREADABLE_ATTRIBUTES.messageId] = { DataType: 'String', StringValue: record.messageId };
  number(UNREADABLE_ATTRIBUTES.receiveCount, record.attributes.ApproximateReceiveCount);
  number(UNREADABLE_ATTRIBUTES.sentTimestamp, record.attributes.SentTimestamp);
  return { status: 'unreadable', reason, attributes };
}

/** The record's relay event, or why it has none. Any other error is thrown. */
function read(record: MessageRecord): RelayEvent | Unreadable {
  try {
    return parseRelayEvent(record.body);
  } catch (err) {
    if (err instanceof RelayEventParseError) return unreadable(record, err);
    throw err;
  }
}

/**
 * Handles one record; an unreadable one is returned as such (the caller moves it to the dead-letter
 * queue); throws only when the outcome cannot be published or the backoff set.
 */
export async function handleArchiveMessage(
  record: MessageRecord,
  ports: QueuePorts,
  settings: ArchiveSettings & { readonly backoffCapSeconds: number },
): Promise<MessageResult> {
  const event = read(record);
  if ('status' in event) return event;
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
