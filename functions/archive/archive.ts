/**
 * The copy of one event's files into the archive bucket, as a state machine per file:
 *
 *   stored already (HeadObject) ─▶ done (checksum read from its tag, or computed once and recorded)
 *   else: abort stale multipart uploads of the key (a writer that died) ─▶ fetch ─▶ stream into S3
 *         If-None-Match: `exists` (a concurrent copy won) ─▶ done, reading that copy
 *   fetch refused (401/403/410) ─▶ fresh links from the provider (once per event) ─▶ fetch again
 *
 * and per event: every file done ─▶ `archived`; a file not ready or failing transiently ─▶ `retry`
 * while the retry period lasts (files already stored are not fetched again), then `failed`; only
 * files failing for good (not https, host, address, size, type, or an expired link nobody can
 * renew) ─▶ `failed` at once. Knows no AWS.
 */
import type { RelayEvent } from '../core/envelope.js';
import { ArchiveError, asArchiveError } from './errors.js';
import type { FetchRequest, MediaDownload } from './fetch-media.js';
import { archiveKey } from './keys.js';
import { filesOf, type MediaDeclaration, type MediaFile } from './media.js';
import type { ArchiveStore, LinkRefresher, StoredFile } from './ports.js';

export interface ArchiveSettings {
  /** Largest file copied, in bytes. */
  readonly maxBytes: number;
  /** How long not-ready and transient failures are retried, from when the event was first seen. */
  readonly retryForMs: number;
  /** A multipart upload begun this long ago has no live writer (the function's timeout). */
  readonly staleUploadMs: number;
  readonly keyPrefix?: string;
}

export interface ArchiveDeps {
  readonly store: ArchiveStore;
  readonly fetcher: { fetch(req: FetchRequest): Promise<MediaDownload> };
  readonly media: MediaDeclaration;
  readonly refresher?: LinkRefresher;
  readonly now: () => number;
  readonly signal?: AbortSignal;
}

export interface FileFailureResult {
  readonly kind: string;
  readonly error: ArchiveError;
}

export type ArchiveOutcome =
  | { readonly status: 'archived'; readonly files: readonly StoredFile[]; readonly fetched: number }
  | {
      readonly status: 'retry' | 'failed';
      readonly files: readonly StoredFile[];
      readonly fetched: number;
      readonly failures: readonly FileFailureResult[];
    };

/** Copies every file of `event`; `firstSeenMs` starts the retry period (the queue's first receive). */
export async function archiveEvent(
  event: RelayEvent,
  firstSeenMs: number,
  deps: ArchiveDeps,
  settings: ArchiveSettings,
): Promise<ArchiveOutcome> {
  const copier = new EventCopier(event, deps, settings);
  const files: StoredFile[] = [];
  const failures: FileFailureResult[] = [];
  for (const file of filesOf(event, deps.media)) {
    try {
      files.push(await copier.copy(file));
    } catch (err) {
      failures.push({ kind: file.kind, error: asArchiveError(err) });
    }
  }
  if (failures.length === 0) return { status: 'archived', files, fetched: copier.fetched };
  // Retried while any file may still come (the stored ones are not fetched again), failed when none can.
  const final = failures.every((f) => f.error.retry !== 'later') || deps.now() - firstSeenMs >= settings.retryForMs;
  return { status: final ? 'failed' : 'retry', files, fetched: copier.fetched, failures };
}

/** The files of one event: shares the refreshed links between them. */
class EventCopier {
  fetched = 0;
  private links?: Promise<Readonly<Record<string, string | null>>>;

  constructor(
    private readonly event: RelayEvent,
    private readonly deps: ArchiveDeps,
    private readonly settings: ArchiveSettings,
  ) {}

  async copy(file: MediaFile): Promise<StoredFile> {
    const { store } = this.deps;
    const key = archiveKey(this.event, file.kind, this.settings.keyPrefix);
    const existing = await store.head(key);
    if (existing) return this.described(file.kind, key, existing);
    await store.abortStale(key, new Date(this.deps.now() - this.settings.staleUploadMs));
    const download = await this.download(file);
    this.fetched++;
    let outcome: 'stored' | 'exists';
    try {
      outcome = await store.upload(key, download.body, download.contentType, this.deps.signal);
    } finally {
      download.body.destroy();
    }
    if (outcome === 'exists') return this.described(file.kind, key, await store.head(key));
    const { bytes, sha256 } = download.result();
    await store.recordChecksum(key, sha256);
    return { kind: file.kind, bucket: store.bucket, key, size: bytes, contentType: download.contentType, sha256 };
  }

  /** Fetches the link; a refused link is renewed through the provider once and fetched again. */
  private async download(file: MediaFile): Promise<MediaDownload> {
    try {
      return await this.deps.fetcher.fetch(this.request(file.url, file));
    } catch (err) {
      const refused = err instanceof ArchiveError && err.retry === 'refresh';
      if (!refused) throw err;
      if (!this.deps.refresher)
        throw new ArchiveError(err.reason, `${err.message}; the provider has no way to renew it`, 'never', { cause: err });
      const fresh = (await this.freshLinks())[file.kind];
      if (!fresh) throw new ArchiveError('link_refused', `${err.message}; the provider gave no fresh ${file.kind} link`, 'later');
      try {
        return await this.deps.fetcher.fetch(this.request(fresh, file));
      } catch (again) {
        // A renewed link refused too: retried later (the provider may still be publishing the file).
        throw again instanceof ArchiveError && again.retry === 'refresh'
          ? new ArchiveError(again.reason, `${again.message} (after renewing the link)`, 'later', { cause: again })
          : again;
      }
    }
  }

  private freshLinks(): Promise<Readonly<Record<string, string | null>>> {
    this.links ??= (this.deps.refresher as LinkRefresher)(this.event).catch((err: unknown) => {
      this.links = undefined;
      throw new ArchiveError('refresh_failed', `renewing the links failed: ${(err as Error).message}`, 'later', { cause: err });
    });
    return this.links;
  }

  private request(url: string, file: MediaFile): FetchRequest {
    return {
      url,
      hosts: this.deps.media.hosts,
      maxBytes: this.settings.maxBytes,
      ...(file.contentTypes ? { contentTypes: file.contentTypes } : {}),
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    };
  }

  /** A stored object as reported; its checksum computed and recorded once if a dead run left it out. */
  private async described(kind: string, key: string, info: Awaited<ReturnType<ArchiveStore['head']>>): Promise<StoredFile> {
    const { store } = this.deps;
    if (!info) throw new ArchiveError('transient', `${key} vanished after a concurrent copy`, 'later');
    let sha256 = info.sha256;
    if (sha256 === null) {
      sha256 = await store.computeChecksum(key);
      await store.recordChecksum(key, sha256);
    }
    return { kind, bucket: store.bucket, key, size: info.size, contentType: info.contentType, sha256 };
  }
}
