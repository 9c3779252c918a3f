/**
 * Parked deliveries in S3 (bucket created by the construct: encrypted, private, TLS only, expiring
 * after the retention). The ingress only puts; the operators' functions (./parked-ops.ts) list,
 * read and delete. `@aws-sdk/client-s3` is loaded on the first park, so it costs the ingress's cold
 * start nothing.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { parkedKey, toParkedRecord } from '../../core/parked.js';
import type { ParkedDelivery, ParkedStore } from '../../core/ports.js';

export class S3ParkedStore implements ParkedStore {
  private client: Promise<S3Client> | undefined;
  constructor(
    private readonly bucket: string,
    private readonly makeClient: () => Promise<S3Client>,
    private readonly now: () => number = Date.now,
  ) {}

  async park(delivery: ParkedDelivery, signal?: AbortSignal): Promise<void> {
    this.client ??= this.makeClient();
    const client = await this.client;
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: parkedKey(delivery.id),
        Body: JSON.stringify(toParkedRecord(delivery, new Date(this.now()).toISOString())),
        ContentType: 'application/json',
        // Listing shows why without reading each object.
        Metadata: { provider: delivery.provider, reason: delivery.reason },
      }),
      { abortSignal: signal },
    );
  }
}

/** What an operator sees of a parked delivery without reading its body. */
export interface ParkedSummary {
  /** The object key, e.g. `parked/heygen/<sha256>.json`; pass it to `republishParked`. */
  readonly key: string;
  readonly provider: string;
  readonly reason: string;
  readonly bytes: number;
  readonly parkedAt: string;
}

/** Read / list / delete access to parked deliveries, for the operators' functions (functions/parked-ops.ts). */
export interface ParkedArchive {
  list(options?: { readonly provider?: string; readonly limit?: number }): Promise<ParkedSummary[]>;
  read(key: string): Promise<string | null>;
  remove(key: string): Promise<void>;
}

/** The S3 bucket as a `ParkedArchive`. */
export class S3ParkedArchive implements ParkedArchive {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async list(options: { provider?: string; limit?: number } = {}): Promise<ParkedSummary[]> {
    const { ListObjectsV2Command, HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const limit = options.limit ?? 1000;
    const out: ParkedSummary[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: options.provider ? `parked/${options.provider}/` : 'parked/',
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || out.length >= limit) continue;
        const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: o.Key }));
        out.push({
          key: o.Key,
          provider: head.Metadata?.provider ?? o.Key.split('/')[1] ?? '',
          reason: head.Metadata?.reason ?? 'unknown',
          bytes: o.Size ?? 0,
          parkedAt: (o.LastModified ?? new Date(0)).toISOString(),
        });
      }
      token = page.IsTruncated && out.length < limit ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async read(key: string): Promise<string | null> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await got.Body?.transformToString('utf8')) ?? null;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
