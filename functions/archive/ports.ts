/** What the archive needs from the outside world (adapters implement them; tests swap them). */
import type { Readable } from 'node:stream';
import type { RelayEvent } from '../core/envelope.js';
import type { ArchivedFile } from './outcome-types.js';

/** A file as stored, what the archived event reports. */
export type StoredFile = ArchivedFile;

export interface ObjectInfo {
  readonly size: number;
  readonly contentType: string;
  /** The `sha256` tag, when it was recorded. */
  readonly sha256: string | null;
}

/** The bucket (functions/adapters/aws/s3-archive-store.ts). */
export interface ArchiveStore {
  readonly bucket: string;
  /** The object at `key`, or null. */
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * Streams `body` into `key` (multipart above one part) only if no object is there (If-None-Match):
   * `exists` when another copy won. Any failure aborts the multipart upload.
   */
  upload(key: string, body: Readable, contentType: string, signal?: AbortSignal): Promise<'stored' | 'exists'>;
  /** Records the SHA-256 on the object (tag `sha256`). */
  recordChecksum(key: string, sha256: string): Promise<void>;
  /** Reads the object back and hashes it (an object stored by a run that died before recording its checksum). */
  computeChecksum(key: string): Promise<string>;
  /** Aborts multipart uploads of `key` begun before `before` (their writer is dead); returns how many. */
  abortStale(key: string, before: Date): Promise<number>;
}

/** Fresh links by kind for an event whose links were refused (HeyGen: the v3 video detail). */
export type LinkRefresher = (event: RelayEvent) => Promise<Readonly<Record<string, string | null>>>;
