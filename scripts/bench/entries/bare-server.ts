/**
 * Baseline server: bare node:http that reads the body, verifies the HMAC-SHA256 signature with
 * timingSafeEqual and answers 200. Same IPC protocol as relay-server.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BENCH_SECRET } from '../lib/payload';

let published = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const expected = createHmac('sha256', BENCH_SECRET).update(body).digest();
    const given = Buffer.from(String(req.headers['heygen-signature'] ?? ''), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_signature"}');
      return;
    }
    published++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"published"}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.on('message', (m) => {
    if (m === 'stats')
      process.send?.({ stats: { published, unique: published, maxRssMb: process.resourceUsage().maxRSS / 1024 } });
    if (m === 'stop') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  process.send?.({ ready: true, url: `http://127.0.0.1:${port}/heygen` });
});
