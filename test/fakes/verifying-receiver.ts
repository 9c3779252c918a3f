/**
 * A stand-in for the ingress in rotation tests: verifies Heygen-Signature (hex HMAC-SHA256 of the
 * raw body) against every live secret version the fake Secrets Manager holds (AWSCURRENT,
 * AWSPENDING, AWSPREVIOUS), read afresh on each request, as the ingress does after a miss.
 * Answers 401 on a mismatch (HeyGen retries), 200 otherwise.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseStoredSigningSecret } from '../../functions/core/secret-store.js';

export interface VerifyingReceiver {
  readonly url: string;
  readonly accepted: Set<string>;
  rejected: number;
  close(): Promise<void>;
}

export async function startVerifyingReceiver(liveSecretStrings: () => string[]): Promise<VerifyingReceiver> {
  const accepted = new Set<string>();
  const state = { rejected: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const given = Buffer.from(String(req.headers['heygen-signature'] ?? ''), 'hex');
      const ok = liveSecretStrings()
        .map((s) => parseStoredSigningSecret(s)?.secret)
        .some((secret) => {
          if (!secret) return false;
          const want = createHmac('sha256', secret).update(raw).digest();
          return want.length === given.length && timingSafeEqual(want, given);
        });
      if (ok) {
        accepted.add(String(req.headers['heygen-event-id']));
        res.writeHead(200).end('{}');
      } else {
        state.rejected++;
        res.writeHead(401).end('{"error":{"code":"invalid_signature","message":"signature mismatch"}}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/heygen`,
    accepted,
    get rejected() {
      return state.rejected;
    },
    set rejected(v: number) {
      state.rejected = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
