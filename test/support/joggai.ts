/** Test helpers: signed JoggAI deliveries as Function URL events. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sign } from '../../functions/core/verify.js';
import { functionUrlEvent } from './heygen.js';

export const JOGGAI_EVENTS_DIR = join(__dirname, '..', 'events', 'joggai');

/** A sample body (test/events/joggai/<name>.json) with its timestamp set to now (or `timestamp`). */
export function joggaiSample(name: string, timestamp: number | null = Math.floor(Date.now() / 1000)): string {
  const body = JSON.parse(readFileSync(join(JOGGAI_EVENTS_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;
  if (timestamp === null) delete body.timestamp;
  else body.timestamp = timestamp;
  return JSON.stringify(body);
}

export interface JoggAiDeliveryOptions {
  readonly secret?: string;
  readonly method?: string;
  readonly path?: string;
  /** X-Webhook-Event; default the body's `event`, null leaves it out. */
  readonly event?: string | null;
  readonly signature?: string | null;
  readonly base64?: boolean;
  readonly headers?: Record<string, string>;
}

/** JoggAI's delivery headers: X-Webhook-Signature, X-Webhook-Event, User-Agent. */
export function joggaiHeaders(body: string | Buffer, options: JoggAiDeliveryOptions = {}): Record<string, string> {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'JoggAI-Webhook/2.0' };
  if (options.signature !== null) {
    const signature = options.signature ?? (options.secret ? sign(options.secret, raw) : undefined);
    if (signature !== undefined) headers['x-webhook-signature'] = signature;
  }
  if (options.event !== null) {
    let event = options.event;
    if (event === undefined) {
      try {
        const parsed = JSON.parse(raw.toString('utf8')) as { event?: unknown };
        if (typeof parsed.event === 'string') event = parsed.event;
      } catch {
        // not JSON: no header
      }
    }
    if (event !== undefined) headers['x-webhook-event'] = event;
  }
  return { ...headers, ...options.headers };
}

export function joggaiEvent(body: string | Buffer, options: JoggAiDeliveryOptions = {}): APIGatewayProxyEventV2 {
  return functionUrlEvent(body, {
    method: options.method ?? 'POST',
    path: options.path ?? '/joggai',
    signature: null,
    timestamp: null,
    headers: joggaiHeaders(body, options),
    ...(options.base64 ? { base64: true } : {}),
  });
}
