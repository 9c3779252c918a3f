/**
 * Parked deliveries in S3 (bucket created by the construct: encrypted, private, TLS only, expiring
 * after the retention). The ingress only puts; the operators' functions (./parked-ops.ts) list,
 * read and delete.
 *
 * The ingress's one S3 call, PutObject, goes through `@aws-sdk/client-s3`, so every region,
 * partition (ISO, the EU sovereign cloud, China), FIPS and dual-stack setting is addressed as the
 * SDK does it. The client is imported the first time a delivery is parked (parking is rare), so
 * creating it costs nothing at cold start; it shares the request handler (timeouts), region and
 * credentials of an SDK client the function already has.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PutObjectCommandInput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { parkedKey, toParkedRecord } from '../../core/parked.js';
import type { ParkedDelivery, ParkedStore } from '../../core/ports.js';

/** What the put borrows from an SDK client's resolved config, plus S3 settings (tests, emulators). */
export interface S3PutConfig extends Pick<S3ClientConfig, 'region' | 'credentials' | 'requestHandler' | 'maxAttempts'> {
  /**
   * More S3 client settings (e.g. `useFipsEndpoint`, `useDualstackEndpoint`, `endpoint`); by
   * default the SDK reads them from the environment (`AWS_USE_FIPS_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, ...).
   */
  readonly s3?: Partial<S3ClientConfig>;
}

type S3Module = Pick<typeof import('@aws-sdk/client-s3'), 'S3Client' | 'PutObjectCommand'>;

/** The file lib/function-build.ts writes next to a function's bundle (./s3-client-chunk.ts built). */
export const S3_CLIENT_CHUNK = 's3-client.js';

/**
 * The S3 client module, loaded on first use: in a function's bundle, its sibling file
 * `s3-client.js` (so the bundle, and its cold start, never carry the S3 client); from the sources
 * (tests, the CLI, the local relay), the package itself. The specifiers are not literals, so esbuild
 * leaves both loads to run time.
 */
export function loadS3Module(): Promise<S3Module> {
  const chunk = join(__dirname, S3_CLIENT_CHUNK);
  if (existsSync(chunk)) return Promise.resolve(require(chunk) as S3Module);
  return importS3Package();
}

/**
 * `@aws-sdk/client-s3` itself, at run time. Never a literal `import('@aws-sdk/client-s3')` in this
 * file: esbuild would follow it even where the code using it is dropped (the ingress bundles this
 * file), and wrap the S3 package and every SDK module it shares with the clients in lazy
 * initializers, a few per cent of the ingress's module init (test/unit/ingress-bundle.test.ts).
 */
function importS3Package(): Promise<typeof import('@aws-sdk/client-s3')> {
  const pkg = '@aws-sdk/client-s3';
  return import(pkg);
}

/** `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (an emulator): its buckets are addressed in the path. */
function emulatorEndpoint(): boolean {
  return Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
}

/**
 * An S3ObjectPut that borrows an existing SDK v3 client's credentials, region and HTTP handler (its
 * timeouts too), so a function that has, say, an EventBridge client parks with the same settings.
 */
export function s3PutVia(
  client: { readonly config: { credentials: unknown; region: unknown; requestHandler: unknown } },
  maxAttempts?: number,
): S3ObjectPut {
  const { config } = client;
  return new S3ObjectPut({
    credentials: config.credentials as S3PutConfig['credentials'],
    region: config.region as S3PutConfig['region'],
    requestHandler: config.requestHandler as S3PutConfig['requestHandler'],
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

/** S3 PutObject through `@aws-sdk/client-s3`, imported and created on the first put. */
export class S3ObjectPut {
  private client: Promise<{ client: S3Client; Put: S3Module['PutObjectCommand'] }> | undefined;
  constructor(private readonly config: S3PutConfig) {}

  /** The S3 client (created once, on first use). */
  async s3(): Promise<S3Client> {
    return (await this.load()).client;
  }

  private load() {
    this.client ??= loadS3Module().then(({ S3Client, PutObjectCommand }) => ({
      client: new S3Client({
        ...(this.config.region === undefined ? {} : { region: this.config.region }),
        ...(this.config.credentials === undefined ? {} : { credentials: this.config.credentials }),
        ...(this.config.requestHandler === undefined ? {} : { requestHandler: this.config.requestHandler }),
        maxAttempts: this.config.maxAttempts ?? 3,
        ...(emulatorEndpoint() ? { forcePathStyle: true } : {}),
        ...this.config.s3,
      }),
      Put: PutObjectCommand,
    }));
    return this.client;
  }

  /**
   * Resolves once S3 stored the object (the SDK retries 5xx, throttling and network errors); throws
   * the SDK's error otherwise. `headers`: `content-type` and `x-amz-meta-*` (user metadata).
   */
  async put(bucket: string, key: string, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const { client, Put } = await this.load();
    const input: PutObjectCommandInput = { Bucket: bucket, Key: key, Body: body, ContentLength: body.length };
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (lower === 'content-type') input.ContentType = value;
      else if (lower.startsWith('x-amz-meta-')) metadata[lower.slice('x-amz-meta-'.length)] = value;
    }
    if (Object.keys(metadata).length > 0) input.Metadata = metadata;
    await client.send(new Put(input), { abortSignal: signal });
  }
}

export class S3ParkedStore implements ParkedStore {
  constructor(
    private readonly bucket: string,
    private readonly s3: Pick<S3ObjectPut, 'put'>,
    private readonly now: () => number = Date.now,
  ) {}

  async park(delivery: ParkedDelivery, signal?: AbortSignal): Promise<void> {
    const record = Buffer.from(JSON.stringify(toParkedRecord(delivery, new Date(this.now()).toISOString())), 'utf8');
    await this.s3.put(
      this.bucket,
      parkedKey(delivery.id),
      record,
      {
        'content-type': 'application/json',
        // Listing shows why without reading each object.
        'x-amz-meta-provider': delivery.provider,
        'x-amz-meta-reason': delivery.reason,
      },
      signal,
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

/** Read / list / delete access to parked deliveries, for the operators' functions (functions/wiring/parked-ops.ts). */
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
    const { ListObjectsV2Command, HeadObjectCommand } = await importS3Package();
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
    const { GetObjectCommand } = await importS3Package();
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await got.Body?.transformToString('utf8')) ?? null;
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    const { DeleteObjectCommand } = await importS3Package();
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}
