/** Test helpers: signed HeyGen deliveries as Function URL events. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sign } from '../../functions/core/verify.js';

export const EVENTS_DIR = join(__dirname, '..', 'events', 'heygen');

/** A fresh copy of a sample body (test/events/heygen/<name>.json). */
export function sampleBody(name: string): string {
  return readFileSync(join(EVENTS_DIR, `${name}.json`), 'utf8').trim();
}

export interface DeliveryOptions {
  readonly secret?: string;
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly base64?: boolean;
  readonly timestamp?: number | null;
  readonly signature?: string | null;
}

export function functionUrlEvent(body: string | Buffer, options: DeliveryOptions = {}): APIGatewayProxyEventV2 {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.signature !== null) {
    const signature = options.signature ?? (options.secret ? sign(options.secret, raw) : undefined);
    if (signature !== undefined) headers['heygen-signature'] = signature;
  }
  if (options.timestamp !== null) headers['heygen-timestamp'] = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  Object.assign(headers, options.headers);
  const method = options.method ?? 'POST';
  const path = options.path ?? '/heygen';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'test',
      domainName: 'test.lambda-url.us-east-1.on.aws',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: options.base64 ? raw.toString('base64') : raw.toString('utf8'),
    isBase64Encoded: options.base64 ?? false,
  };
}
