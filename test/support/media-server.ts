/**
 * A media server we control for archive tests: HTTPS on 127.0.0.1 with a certificate for
 * `media.test`, `*.media.test` and 127.0.0.1, issued by a CA generated for the run (openssl). The
 * fetcher trusts it through an injected agent (`agent`) and reaches `*.media.test` through an
 * injected resolver (`resolve`); certificate checks stay on: production code paths are unchanged.
 *
 * Routes answer per request from a list of behaviours, the last one repeating: a file, a status, a
 * redirect, a truncated body, a slow stream.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedAddress } from '../../functions/archive/fetch-media.js';

export type Behaviour =
  | {
      readonly file: Buffer;
      readonly contentType?: string;
      readonly omitLength?: boolean;
      readonly chunkDelayMs?: number;
      readonly chunkBytes?: number;
    }
  | { readonly status: number; readonly location?: string }
  | { readonly truncateAfter: number; readonly file: Buffer; readonly contentType?: string }
  | { readonly stream: (res: ServerResponse) => void };

export interface MediaServer {
  readonly port: number;
  /** `https://files.media.test:<port>` */
  readonly origin: string;
  readonly caPem: string;
  readonly agent: Agent;
  readonly resolve: (host: string) => Promise<readonly ResolvedAddress[]>;
  route(path: string, ...behaviours: Behaviour[]): void;
  hits(path: string): number;
  close(): Promise<void>;
}

/** A CA and a leaf for media.test / *.media.test / 127.0.0.1, generated with openssl into a temp dir. */
export function testCertificates(): { caPem: string; keyPem: string; certPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'media-ca-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=archive-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
    run('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=media.test');
    writeFileSync(
      join(dir, 'leaf.ext'),
      'subjectAltName=DNS:media.test,DNS:*.media.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n',
    );
    run(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'leaf.crt',
      '-days',
      '1',
      '-extfile',
      'leaf.ext',
    );
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { caPem: read('ca.crt'), keyPem: read('leaf.key'), certPem: read('leaf.crt') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function answer(b: Behaviour, res: ServerResponse): void {
  if ('stream' in b) {
    b.stream(res);
    return;
  }
  if ('status' in b) {
    res.writeHead(b.status, b.location ? { location: b.location } : {});
    res.end();
    return;
  }
  const type = b.contentType ?? 'video/mp4';
  if ('truncateAfter' in b) {
    res.writeHead(200, { 'content-type': type, 'content-length': String(b.file.length) });
    res.write(b.file.subarray(0, b.truncateAfter), () => res.socket?.destroy());
    return;
  }
  res.writeHead(200, { 'content-type': type, ...(b.omitLength ? {} : { 'content-length': String(b.file.length) }) });
  if (!b.chunkDelayMs) {
    res.end(b.file);
    return;
  }
  const size = b.chunkBytes ?? 64 * 1024;
  let at = 0;
  const next = () => {
    if (res.destroyed) return;
    if (at >= b.file.length) return void res.end();
    res.write(b.file.subarray(at, at + size));
    at += size;
    setTimeout(next, b.chunkDelayMs);
  };
  next();
}

export async function startMediaServer(): Promise<MediaServer> {
  const { caPem, keyPem, certPem } = testCertificates();
  const routes = new Map<string, Behaviour[]>();
  const counts = new Map<string, number>();
  const server: Server = createServer({ key: keyPem, cert: certPem }, (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const list = routes.get(path);
    if (!list || list.length === 0) {
      res.writeHead(404).end();
      return;
    }
    answer(list[Math.min(n, list.length - 1)] as Behaviour, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ ca: caPem, keepAlive: false });
  return {
    port,
    origin: `https://files.media.test:${port}`,
    caPem,
    agent,
    resolve: async (host) => {
      if (host === 'media.test' || host.endsWith('.media.test')) return [{ address: '127.0.0.1', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    },
    route(path, ...behaviours) {
      routes.set(path, behaviours);
      counts.set(path, 0);
    },
    hits: (path) => counts.get(path) ?? 0,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}
