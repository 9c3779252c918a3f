/**
 * The relay's request/response shapes and their mapping from/to Lambda Function URL events
 * (payload format 2.0). The local relay builds the same event, so both run one handler.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PayloadTooLargeError, type RelayError } from './errors.js';

export interface RelayRequest {
  readonly method: string;
  readonly path: string;
  /** Lowercase header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly requestId: string;
}

export interface RelayResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): RelayResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(err: RelayError, headers: Record<string, string> = {}): RelayResponse {
  return jsonResponse(err.status, { error: { code: err.code, message: err.message } }, headers);
}

/**
 * Reads a Function URL event. The body is decoded exactly once (base64-aware) into raw bytes; the
 * size is checked on the encoded length first so an oversized body is never decoded.
 */
export function fromFunctionUrlEvent(event: APIGatewayProxyEventV2, maxBodyBytes: number): RelayRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const raw = event.body ?? '';
  let body: Buffer;
  if (event.isBase64Encoded) {
    if (Math.floor((raw.length * 3) / 4) - 2 > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
    body = Buffer.from(raw, 'base64');
  } else {
    if (raw.length > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
    body = Buffer.from(raw, 'utf8');
  }
  if (body.length > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    headers,
    body,
    requestId: event.requestContext?.requestId ?? '',
  };
}

export function toFunctionUrlResult(res: RelayResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: res.statusCode, headers: res.headers, body: res.body, isBase64Encoded: false };
}
