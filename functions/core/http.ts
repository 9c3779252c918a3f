/**
 * The relay's request/response shapes and their mapping from/to Lambda Function URL events
 * (payload format 2.0). The local relay builds the same event, so both run one handler.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RelayError } from './errors.js';

export interface RelayRequest {
  readonly method: string;
  readonly path: string;
  /** Lowercase header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly requestId: string;
  /**
   * The body exceeded the limit and was not decoded (`body` is then empty). The pipeline answers
   * 413 after routing and the method check, so the rejection is logged and counted like any other.
   */
  readonly tooLarge?: boolean;
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

const EMPTY = Buffer.alloc(0);

/**
 * Reads a Function URL event. The body is decoded exactly once (base64-aware) into raw bytes; the
 * size is checked on the encoded length first so an oversized body is never decoded. An oversized
 * body is flagged (`tooLarge`), not thrown: the pipeline answers it, logged and counted.
 */
export function fromFunctionUrlEvent(event: APIGatewayProxyEventV2, maxBodyBytes: number): RelayRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const raw = event.body ?? '';
  let body: Buffer | undefined;
  if (event.isBase64Encoded) {
    // base64 of n bytes is 4 * ceil(n / 3) characters: anything longer decodes to more than the limit.
    if (raw.length <= 4 * Math.ceil(maxBodyBytes / 3)) body = Buffer.from(raw, 'base64');
  } else if (raw.length <= maxBodyBytes) {
    body = Buffer.from(raw, 'utf8');
  }
  const tooLarge = body === undefined || body.length > maxBodyBytes;
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    headers,
    body: tooLarge ? EMPTY : (body as Buffer),
    requestId: event.requestContext?.requestId ?? '',
    ...(tooLarge ? { tooLarge: true } : {}),
  };
}

export function toFunctionUrlResult(res: RelayResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: res.statusCode, headers: res.headers, body: res.body, isBase64Encoded: false };
}
