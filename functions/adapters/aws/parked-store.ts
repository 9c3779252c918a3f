/**
 * Parked deliveries in S3 (bucket created by the construct: encrypted, private, TLS only, expiring
 * after the retention). The ingress only puts; the operators' functions (./parked-ops.ts) list,
 * read and delete.
 *
 * The ingress's one S3 call, PutObject, is made here without `@aws-sdk/client-s3`: a SigV4-signed
 * PUT (`@smithy/signature-v4`) sent through the request handler, credentials, region and hash of an
 * SDK client the ingress already has. The S3 client and its middleware (about 180 KB of bundle,
 * compiled at every cold start although parking is rare) never enter the ingress bundle.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentityProvider,
  ChecksumConstructor,
  HashConstructor,
  HttpHandlerOptions,
  Provider,
} from '@smithy/types';
import { parkedKey, toParkedRecord } from '../../core/parked.js';
import type { ParkedDelivery, ParkedStore } from '../../core/ports.js';

/** A request handler as the SDK clients hold one (NodeHttpHandler), and what it answers. */
export interface RawHttpHandler {
  handle(
    request: SignedRequest,
    options?: HttpHandlerOptions,
  ): Promise<{ response: { statusCode: number; headers: Record<string, string>; body?: unknown } }>;
}

interface SignedRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

/** What the put borrows from an SDK client's resolved config (`client.config` of any v3 client). */
export interface S3PutConfig {
  readonly credentials: AwsCredentialIdentityProvider;
  readonly region: string | Provider<string>;
  readonly sha256: ChecksumConstructor | HashConstructor;
  readonly requestHandler: RawHttpHandler;
  /** Attempts on a 5xx, 429 or network error. @default 3 */
  readonly maxAttempts?: number;
  /**
   * The S3 endpoint; path-style is used with it (emulators). @default `AWS_ENDPOINT_URL_S3`, then
   * `AWS_ENDPOINT_URL`, else S3's regional endpoint, virtual-hosted (FIPS / dual-stack by the SDK's
   * `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`).
   */
  readonly endpoint?: string;
  /** With `endpoint`: address the bucket in the path (emulators). @default true with an endpoint */
  readonly forcePathStyle?: boolean;
}

/** RFC 3986 encoding of one path segment, as SigV4's canonical URI needs it (encodeURIComponent leaves !'()*). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An error answer from S3 (its code, e.g. `AccessDenied`, and the HTTP status). */
export class S3PutError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
  ) {
    super(`S3 PutObject failed: ${statusCode} ${code}`);
    this.name = code;
  }
}

async function readBody(body: unknown): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An S3ObjectPut that borrows an existing SDK v3 client's credentials, region, hash and HTTP handler
 * (its timeouts too), so a function that has, say, an EventBridge client parks without an S3 client.
 */
export function s3PutVia(
  client: { readonly config: { credentials: unknown; region: unknown; sha256: unknown; requestHandler: unknown } },
  maxAttempts?: number,
): S3ObjectPut {
  const { config } = client;
  return new S3ObjectPut({
    credentials: config.credentials as S3PutConfig['credentials'],
    region: config.region as S3PutConfig['region'],
    sha256: config.sha256 as S3PutConfig['sha256'],
    requestHandler: config.requestHandler as S3PutConfig['requestHandler'],
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

/** S3 PutObject of one object: SigV4 over the exact bytes (payload hash signed), retried on 5xx/429/network errors. */
export class S3ObjectPut {
  private readonly signer: SignatureV4;
  private readonly attempts: number;
  constructor(private readonly config: S3PutConfig) {
    this.signer = new SignatureV4({
      credentials: config.credentials,
      region: config.region,
      service: 's3',
      sha256: config.sha256,
      // S3 signs the path as sent (no second URI encoding); the payload's SHA-256 goes in x-amz-content-sha256.
      uriEscapePath: false,
      applyChecksum: true,
    });
    this.attempts = Math.max(1, config.maxAttempts ?? 3);
  }

  /** Where `bucket`/`key` is addressed: host, path and protocol. */
  async target(bucket: string, key: string): Promise<{ protocol: string; hostname: string; port?: number; path: string }> {
    const encodedKey = key.split('/').map(encodeSegment).join('/');
    const endpoint = this.config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    if (endpoint) {
      const url = new URL(endpoint);
      const base = url.pathname.replace(/\/+$/, '');
      const port = url.port ? { port: Number(url.port) } : {};
      if (this.config.forcePathStyle === false)
        return { protocol: url.protocol, hostname: `${bucket}.${url.hostname}`, ...port, path: `${base}/${encodedKey}` };
      return { protocol: url.protocol, hostname: url.hostname, ...port, path: `${base}/${encodeSegment(bucket)}/${encodedKey}` };
    }
    const region = typeof this.config.region === 'string' ? this.config.region : await this.config.region();
    const fips = process.env.AWS_USE_FIPS_ENDPOINT === 'true';
    const dualstack = process.env.AWS_USE_DUALSTACK_ENDPOINT === 'true';
    const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    const service = `s3${fips ? '-fips' : ''}${dualstack ? '.dualstack' : ''}`;
    const host = `${service}.${region}.${suffix}`;
    // A bucket name with dots does not match S3's wildcard certificate: path-style for it.
    return bucket.includes('.')
      ? { protocol: 'https:', hostname: host, path: `/${bucket}/${encodedKey}` }
      : { protocol: 'https:', hostname: `${bucket}.${host}`, path: `/${encodedKey}` };
  }

  /**
   * The signed request (SigV4 over method, path, host, the given headers and the payload's SHA-256,
   * which goes in `x-amz-content-sha256`). `content-length` is added by `put`, unsigned.
   */
  async signed(
    bucket: string,
    key: string,
    body: Buffer,
    headers: Record<string, string>,
    signingDate?: Date,
  ): Promise<SignedRequest> {
    const where = await this.target(bucket, key);
    const request: SignedRequest = {
      method: 'PUT',
      ...where,
      query: {},
      headers: { ...headers, host: where.port ? `${where.hostname}:${where.port}` : where.hostname },
      body,
    };
    return (await this.signer.sign(request as never, signingDate ? { signingDate } : {})) as unknown as SignedRequest;
  }

  /** Resolves once S3 stored the object; throws `S3PutError` (or the network error) otherwise. */
  async put(bucket: string, key: string, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        const signed = await this.signed(bucket, key, body, headers);
        signed.headers['content-length'] = String(body.length);
        const { response } = await this.config.requestHandler.handle(signed, { abortSignal: signal as never });
        const text = await readBody(response.body);
        if (response.statusCode >= 200 && response.statusCode < 300) return;
        const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `Http${response.statusCode}`;
        failure = new S3PutError(code, response.statusCode);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        failure = err; // network error or timeout: retried
      }
      // A 4xx (AccessDenied, NoSuchBucket, ...) will not change on a retry; 5xx, 429 and S3's RequestTimeout may.
      if (
        failure instanceof S3PutError &&
        failure.statusCode < 500 &&
        failure.statusCode !== 429 &&
        failure.code !== 'RequestTimeout'
      )
        throw failure;
      if (attempt >= this.attempts) throw failure;
      await sleep(25 * 2 ** attempt * (0.5 + Math.random()), signal);
    }
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
