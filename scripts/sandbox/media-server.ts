/**
 * HeyGen's file host, for the sandbox's archive (`npm run sandbox -- --archive`): HTTPS on 127.0.0.1
 * with a certificate issued by a CA generated at start (openssl, as the archive tests do:
 * test/support/media-server.ts). Each video HeyGen "renders" gets its files here (a video and a
 * thumbnail, deterministic bytes), and the result event's links point at them.
 *
 * The archiver refuses http, hosts off its allow-list and loopback addresses. The sandbox's stack
 * lists `127.0.0.1` as HeyGen's file host, and only the sandbox's archiver process is given this CA
 * and told not to screen that one host (scripts/sandbox/lambda-host.ts): nothing is loosened in the
 * function as deployed.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCertificates } from '../../test/support/media-server.js';

/** The host the links name: the stack's archive allow-list for HeyGen holds exactly this. */
export const SANDBOX_MEDIA_HOST = '127.0.0.1';
const VIDEO_BYTES = 1536 * 1024;
const THUMBNAIL_BYTES = 24 * 1024;

export interface MediaFile {
  readonly url: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

export interface SandboxMedia {
  readonly origin: string;
  /** The CA's certificate (public), for the sandbox's archiver. */
  readonly caPem: string;
  /** Renders `videoId`'s files and returns their links. */
  publish(videoId: string): { video: MediaFile; thumbnail: MediaFile };
  close(): Promise<void>;
}

/** Bytes that differ per video and per position (a truncation or mix-up shows in the hash). */
function bytesOf(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export async function startSandboxMedia(): Promise<SandboxMedia> {
  const { caPem, keyPem, certPem } = testCertificates();
  const files = new Map<string, { body: Buffer; contentType: string }>();
  const server: Server = createServer({ key: keyPem, cert: certPem }, (req, res) => {
    const file = files.get(new URL(req.url ?? '/', 'https://sandbox').pathname);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such file"}');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.body.length) });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, SANDBOX_MEDIA_HOST, () => ok());
  });
  const origin = `https://${SANDBOX_MEDIA_HOST}:${(server.address() as AddressInfo).port}`;
  const put = (path: string, body: Buffer, contentType: string): MediaFile => {
    files.set(path, { body, contentType });
    return { url: `${origin}${path}`, contentType, size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  };
  return {
    origin,
    caPem,
    publish: (videoId) => {
      const dir = `/videos/${encodeURIComponent(videoId)}`;
      return {
        video: put(`${dir}/video.mp4`, bytesOf(`${videoId}/video`, VIDEO_BYTES), 'video/mp4'),
        thumbnail: put(`${dir}/thumbnail.jpg`, bytesOf(`${videoId}/thumbnail`, THUMBNAIL_BYTES), 'image/jpeg'),
      };
    },
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
