/**
 * Downloads one media file safely, as a stream:
 * - https only, every hop; the host of every hop on the allow-list (media.ts `hostAllowed`);
 * - every address the host resolves to must be public (address.ts), and the connection goes to the
 *   address that was checked (the socket's lookup is pinned to it: no second resolution to rebind);
 * - redirects are followed by hand (at most `maxRedirects`), each hop checked as the first;
 * - the status classified (errors.ts), the content type and the announced size checked before a byte
 *   is read; the body counted (over the limit: aborted) and hashed (SHA-256) while it streams, and a
 *   body shorter than its Content-Length is an error (truncated), never a stored file.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { type Agent, request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { isPublicAddress } from './address.js';
import { ArchiveError, statusError } from './errors.js';
import { contentTypeAccepted, hostAllowed } from './media.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

export interface FetcherOptions {
  /** The TLS agent (tests: one that trusts the test CA). Certificates are always verified. @default a keep-alive agent */
  readonly agent?: Agent;
  /** Resolves a host name to all its addresses. @default node:dns lookup (all) */
  readonly resolve?: (host: string) => Promise<readonly ResolvedAddress[]>;
  /**
   * Host names whose addresses are not checked for being public. Tests only (a media server on
   * 127.0.0.1 under a test name); the archiver Lambda never sets it. @default none
   */
  readonly unscreenedHosts?: readonly string[];
  /** Idle time without a byte (connect, headers, body) before a download is abandoned. @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** Redirects followed at most. @default 5 */
  readonly maxRedirects?: number;
}

export interface FetchRequest {
  readonly url: string;
  readonly hosts: readonly string[];
  readonly maxBytes: number;
  readonly contentTypes?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface MediaDownload {
  /** The body, counted and hashed as it is read; errors when truncated or over the limit. */
  readonly body: Transform;
  readonly contentType: string;
  /** The announced length, if any. */
  readonly contentLength?: number;
  /** After `body` ended: bytes read and their SHA-256 (hex). */
  readonly result: () => { readonly bytes: number; readonly sha256: string };
}

const defaultResolve = async (host: string): Promise<readonly ResolvedAddress[]> => lookup(host, { all: true, verbatim: true });

export class MediaFetcher {
  private readonly resolve: (host: string) => Promise<readonly ResolvedAddress[]>;
  private readonly unscreened: ReadonlySet<string>;
  private readonly idleTimeoutMs: number;
  private readonly maxRedirects: number;

  constructor(private readonly options: FetcherOptions = {}) {
    this.resolve = options.resolve ?? defaultResolve;
    this.unscreened = new Set((options.unscreenedHosts ?? []).map((h) => h.toLowerCase()));
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.maxRedirects = options.maxRedirects ?? 5;
  }

  /** Follows the link (and its redirects) to a 200 and returns its body as a checked stream. */
  async fetch(req: FetchRequest): Promise<MediaDownload> {
    let url = this.parse(req.url);
    for (let hop = 0; ; hop++) {
      const res = await this.get(url, req);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.destroy();
        if (hop >= this.maxRedirects)
          throw new ArchiveError('too_many_redirects', `more than ${this.maxRedirects} redirects`, 'never');
        url = this.parse(new URL(res.headers.location, url).href);
        continue;
      }
      if (status !== 200) {
        res.destroy();
        throw statusError(status, url.hostname);
      }
      return this.checked(res, url, req);
    }
  }

  private parse(href: string): URL {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new ArchiveError('bad_url', 'the link is not a URL', 'never');
    }
    if (url.protocol !== 'https:')
      throw new ArchiveError('not_https', `${url.protocol}// links are refused: https only`, 'never');
    if (url.username || url.password) throw new ArchiveError('bad_url', 'links with credentials are refused', 'never');
    return url;
  }

  /** The addresses of a hop, each checked; the first one is connected to. */
  private async screen(url: URL, hosts: readonly string[]): Promise<ResolvedAddress> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!hostAllowed(host, hosts)) throw new ArchiveError('host_not_allowed', `${host} is not on the allow-list`, 'never');
    const family = isIP(host);
    let addresses: readonly ResolvedAddress[];
    try {
      addresses = family ? [{ address: host, family }] : await this.resolve(host);
    } catch (err) {
      throw new ArchiveError('dns', `${host} does not resolve`, 'later', { cause: err });
    }
    if (addresses.length === 0) throw new ArchiveError('dns', `${host} has no address`, 'later');
    if (!this.unscreened.has(host.toLowerCase()))
      for (const a of addresses)
        if (!isPublicAddress(a.address))
          throw new ArchiveError('address_not_public', `${host} resolves to a non-public address (${a.address})`, 'never');
    return addresses[0] as ResolvedAddress;
  }

  private async get(url: URL, req: FetchRequest): Promise<IncomingMessage> {
    const pinned = await this.screen(url, req.hosts);
    const pin: LookupFunction = (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
      else cb(null, pinned.address, pinned.family);
    };
    return new Promise((resolve, reject) => {
      const r = request(url, {
        method: 'GET',
        agent: this.options.agent,
        lookup: pin,
        headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'heygen-relay-archiver' },
        timeout: this.idleTimeoutMs,
        ...(req.signal ? { signal: req.signal } : {}),
      });
      r.on('response', resolve);
      r.on('timeout', () =>
        r.destroy(new ArchiveError('timeout', `${url.hostname}: no byte for ${this.idleTimeoutMs} ms`, 'later')),
      );
      r.on('error', (err) =>
        reject(
          err instanceof ArchiveError
            ? err
            : new ArchiveError('network', `${url.hostname}: ${err.message}`, 'later', { cause: err }),
        ),
      );
      r.end();
    });
  }

  /** Checks type and size before reading, then streams through a counting, hashing limit. */
  private checked(res: IncomingMessage, url: URL, req: FetchRequest): MediaDownload {
    const contentType = String(res.headers['content-type'] ?? 'application/octet-stream');
    const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    const fail = (err: ArchiveError) => {
      res.destroy();
      throw err;
    };
    if (res.headers['content-encoding'] && res.headers['content-encoding'] !== 'identity')
      fail(new ArchiveError('content_encoding', `${url.hostname} sent ${res.headers['content-encoding']} content`, 'never'));
    if (!contentTypeAccepted(contentType, req.contentTypes))
      fail(new ArchiveError('content_type', `${url.hostname} sent ${contentType}, not an accepted media type`, 'never'));
    if (declared !== undefined && declared > req.maxBytes)
      fail(new ArchiveError('too_large', `the file is ${declared} bytes; the limit is ${req.maxBytes}`, 'never'));
    const meter = new Meter(req.maxBytes, declared);
    res.on('error', (err) =>
      meter.destroy(
        new ArchiveError('truncated', `${url.hostname}: the transfer broke (${err.message})`, 'later', { cause: err }),
      ),
    );
    res.on('close', () => {
      if (!res.complete) meter.destroy(new ArchiveError('truncated', `${url.hostname}: the transfer was cut`, 'later'));
    });
    res.pipe(meter);
    meter.on('error', () => res.destroy());
    return {
      body: meter,
      contentType,
      ...(declared === undefined ? {} : { contentLength: declared }),
      result: () => ({ bytes: meter.bytes, sha256: meter.digest }),
    };
  }
}

/** Counts and hashes what passes; errors over the limit and, at the end, when short of the announced length. */
class Meter extends Transform {
  bytes = 0;
  digest = '';
  private readonly hash = createHash('sha256');
  constructor(
    private readonly maxBytes: number,
    private readonly declared: number | undefined,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new ArchiveError('too_large', `the file exceeds the limit of ${this.maxBytes} bytes`, 'never'));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.declared !== undefined && this.bytes !== this.declared) {
      done(new ArchiveError('truncated', `got ${this.bytes} of ${this.declared} bytes`, 'later'));
      return;
    }
    this.digest = this.hash.digest('hex');
    done();
  }
}
