/** Names shared by the archiver function and the construct. No imports: safe for CDK code. */
export const ARCHIVER_SERVICE = 'heygen-relay-archiver';
/** Metrics (namespace HeyGenRelay, dimension `service` = ARCHIVER_SERVICE, plus `provider` = source id). */
export const ARCHIVE_METRICS = {
  filesArchived: 'ArchiveFiles',
  bytesArchived: 'ArchiveBytes',
  failures: 'ArchiveFailures',
  retries: 'ArchiveRetries',
  /** Messages the archiver could not read (not a relay event), moved to the archive DLQ at once. */
  unreadable: 'ArchiveUnreadable',
} as const;

/**
 * Message attributes of a message the archiver could not read, as it moves it to the archive
 * dead-letter queue (same body): why, and the original message's id, receive count and sent time.
 */
export const UNREADABLE_ATTRIBUTES = {
  reason: 'heygen-relay-unreadable-reason',
  messageId: 'heygen-relay-original-message-id',
  receiveCount: 'heygen-relay-original-receive-count',
  sentTimestamp: 'heygen-relay-original-sent-timestamp',
} as const;

/** One source's archive settings, as the construct writes them into ARCHIVE_SOURCES. */
export interface ArchiveSourceConfig {
  readonly provider: string;
  readonly eventTypes?: readonly string[];
  readonly files?: readonly {
    readonly kind: string;
    readonly paths: readonly string[];
    readonly contentTypes?: readonly string[];
  }[];
  readonly hosts?: readonly string[];
  /** Only these kinds of file. @default every declared kind */
  readonly kinds?: readonly string[];
  /** HeyGen: the API key secret, for renewing expired links. */
  readonly apiKeySecretArn?: string;
  readonly apiUrl?: string;
}
