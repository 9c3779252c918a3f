/**
 * `npm run bench:archive`: the media archive's throughput (MB/s) against a plain stream-to-disk
 * baseline measured in the same run, its peak memory (RSS) for a small and a 2 GiB file (flat: the
 * multipart upload holds parts × queue, never the file), and the cost per GB archived at list prices.
 *
 * Both transfers read the same HTTPS stream from a local server (TLS, generated CA, 127.0.0.1). The
 * archive writes to a local S3 endpoint that answers the multipart API and discards the bytes, so
 * the figure is the archiver's own cost (TLS, checks, SHA-256, the SDK's part checksums and signing,
 * HTTP upload), not a storage service's. Each transfer runs in its own process (its peak RSS is its
 * own), the two modes interleaved. `BENCH_ARCHIVE_QUICK=1`: 64 MiB and 256 MiB only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testCertificates } from '../../test/support/media-server.js';
import { renderArchiveCost } from './lib/cost.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const QUICK = process.env.BENCH_ARCHIVE_QUICK === '1';
const SIZES = QUICK ? [64 * MiB, 256 * MiB] : [256 * MiB, 2048 * MiB];
const ROUNDS = QUICK ? 1 : 2;

/** HTTPS server streaming `?bytes=N` bytes of a repeated random MiB, with backpressure. */
async function mediaServer(key: string, cert: string): Promise<number> {
  const block = randomBytes(MiB);
  const server = createServer({ key, cert }, (req, res) => {
    const total = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(total) });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(MiB, total - sent);
        sent += n;
        if (!res.write(n === MiB ? block : block.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** Just enough of S3's API for a multipart upload, discarding the bytes; counts requests by kind. */
async function discardS3(counts: Record<string, number>): Promise<number> {
  const xml = (res: ServerResponse, body: string) => res.writeHead(200, { 'content-type': 'application/xml' }).end(body);
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const kind = `${req.method} ${['uploads', 'partNumber', 'uploadId', 'tagging'].find((k) => q.has(k)) ?? 'object'}`;
    counts[kind] = (counts[kind] ?? 0) + 1;
    req.resume();
    req.on('end', () => {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'GET' && q.has('uploads'))
        return xml(res, '<ListMultipartUploadsResult><Bucket>bench</Bucket></ListMultipartUploadsResult>');
      if (req.method === 'POST' && q.has('uploads'))
        return xml(
          res,
          '<InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
        );
      if (req.method === 'POST' && q.has('uploadId'))
        return xml(
          res,
          '<CompleteMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><ETag>"e"</ETag></CompleteMultipartUploadResult>',
        );
      if (req.method === 'DELETE') return void res.writeHead(204).end();
      res.writeHead(200, { etag: `"p${q.get('partNumber') ?? '0'}"` }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return (server.address() as AddressInfo).port;
}

interface Measured {
  mode: string;
  bytes: number;
  ms: number;
  maxRssKb: number;
}

async function measure(mode: 'disk' | 'archive', env: Record<string, string>): Promise<Measured> {
  const child = join(__dirname, 'entries', 'archive-child.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, ...env, MODE: mode },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim()) as Measured;
}

const mbps = (m: Measured) => m.bytes / MiB / (m.ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const { caPem, keyPem, certPem } = testCertificates();
  const mediaPort = await mediaServer(keyPem, certPem);
  const counts: Record<string, number> = {};
  const s3Port = await discardS3(counts);
  const rows: { size: number; disk: Measured[]; archive: Measured[] }[] = [];
  for (const size of SIZES) {
    const env = {
      URL: `https://files.media.test:${mediaPort}/f?bytes=${size}`,
      CA_PEM: caPem,
      S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
    };
    const row = { size, disk: [] as Measured[], archive: [] as Measured[] };
    for (let i = 0; i < ROUNDS; i++) {
      // Interleaved, the order alternating, so load changes hit both modes alike.
      for (const mode of i % 2 === 0 ? (['disk', 'archive'] as const) : (['archive', 'disk'] as const))
        row[mode].push(await measure(mode, env));
    }
    rows.push(row);
  }
  report(rows, counts, loadBefore);
}

function report(
  rows: { size: number; disk: Measured[]; archive: Measured[] }[],
  counts: Record<string, number>,
  loadBefore: number[],
): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `# Archive bench (${new Date().toISOString()}, ${cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} after)`,
  );
  out('');
  out(
    '| file | stream to disk (MB/s, median) | archive to S3 (MB/s, median) | archive / disk | peak RSS disk | peak RSS archive |',
  );
  out('|---|---|---|---|---|---|');
  for (const r of rows) {
    const d = median(r.disk.map(mbps));
    const a = median(r.archive.map(mbps));
    const rss = (ms: Measured[]) => `${(Math.max(...ms.map((m) => m.maxRssKb)) / 1024).toFixed(0)} MiB`;
    out(
      `| ${r.size / MiB} MiB | ${d.toFixed(0)} | ${a.toFixed(0)} | ${(a / d).toFixed(2)} | ${rss(r.disk)} | ${rss(r.archive)} |`,
    );
  }
  const big = rows.at(-1) as (typeof rows)[number];
  const mbPerS = median(big.archive.map(mbps));
  out('');
  out(`Requests the archive made to S3, all runs: ${JSON.stringify(counts)}`);
  out('');
  for (const line of renderArchiveCost(mbPerS, big.size / MiB)) out(line);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
