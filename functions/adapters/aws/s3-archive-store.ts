/**
 * The archive bucket (functions/archive/ports.ts ArchiveStore) on S3: streaming multipart uploads
 * with `@aws-sdk/lib-storage`'s Upload (parts of `partSize`, `queueSize` in flight: memory stays at
 * about partSize × queueSize whatever the file's size), conditional on no object being there
 * (`If-None-Match: *`, on the single PUT and on CompleteMultipartUpload), aborted on any failure;
 * the SHA-256 computed while streaming recorded as the object tag `sha256`.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  PutObjectTaggingCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchiveStore, ObjectInfo } from '../../archive/ports.js';

export interface S3ArchiveStoreOptions {
  /** Bytes per part. @default 16 MiB */
  readonly partSize?: number;
  /** Parts uploaded at once. @default 4 */
  readonly queueSize?: number;
}

function status(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

export class S3ArchiveStore implements ArchiveStore {
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    options: S3ArchiveStoreOptions = {},
  ) {
    this.partSize = options.partSize ?? 16 * 1024 * 1024;
    this.queueSize = options.queueSize ?? 4;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    let res: HeadObjectCommandOutput;
    try {
      res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
    const tags = await this.s3.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: key }));
    const sha = tags.TagSet?.find((t) => t.Key === 'sha256')?.Value;
    return {
      size: res.ContentLength ?? 0,
      contentType: res.ContentType ?? 'application/octet-stream',
      sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : null,
    };
  }

  async upload(key: string, body: Readable, contentType: string, signal?: AbortSignal): Promise<'stored' | 'exists'> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: '*' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      return 'stored';
    } catch (err) {
      // Upload aborts after a failed part, not after a refused completion or an abort signal: do it here.
      await this.abortUpload(key, (upload as unknown as { uploadId?: string }).uploadId);
      if (status(err) === 412) return 'exists';
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async recordChecksum(key: string, sha256: string): Promise<void> {
    await this.s3.send(
      new PutObjectTaggingCommand({ Bucket: this.bucket, Key: key, Tagging: { TagSet: [{ Key: 'sha256', Value: sha256 }] } }),
    );
  }

  async computeChecksum(key: string): Promise<string> {
    const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const hash = createHash('sha256');
    for await (const chunk of res.Body as Readable) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async abortStale(key: string, before: Date): Promise<number> {
    const res = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }));
    const stale = (res.Uploads ?? []).filter((u) => u.Key === key && u.UploadId && u.Initiated && u.Initiated < before);
    for (const u of stale) await this.abortUpload(key, u.UploadId);
    return stale.length;
  }

  private async abortUpload(key: string, uploadId: string | undefined): Promise<void> {
    if (!uploadId) return;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
  }
}
