/**
 * Serves a Function URL handler over node:http: builds the same payload-2.0 event that Lambda's
 * Function URL builds (body base64-encoded, as Function URLs do for raw bytes) and writes back its
 * result. The server stops reading a body past the limit (at once when its Content-Length says
 * so) and closes the connection after answering; the handler still sees the request (with the
 * first limit + 1 bytes), so the 413 is routed, logged and counted like any other rejection.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export type FunctionUrlHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** The body, or its first `limit + 1` bytes (`over`) once it is known to exceed the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; over: boolean }> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.pause();
    // A stand-in of limit + 1 bytes: the pipeline answers 413 on the size before anything reads them.
    return Promise.resolve({ body: Buffer.alloc(limit + 1), over: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks).subarray(0, limit + 1), over: true });
      }
    };
    req.on('data', onData);
    req.on('end', () => resolve({ body: Buffer.concat(chunks), over: false }));
    req.on('error', reject);
  });
}

export function localContext(requestId: string, budgetMs = 10_000): Context {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'heygen-relay-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:heygen-relay-local',
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer, requestId: string): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

export function createFunctionUrlServer(handler: FunctionUrlHandler, maxBodyBytes: number): Server {
  return createServer(async (req, res) => {
    const requestId = randomUUID();
    try {
      const { body, over } = await readBody(req, maxBodyBytes);
      const result = await handler(toFunctionUrlEvent(req, body, requestId), localContext(requestId));
      const headers = { ...(result.headers ?? {}), 'x-request-id': requestId } as Record<string, string>;
      // The rest of an oversized body is never read: close the connection once answered.
      if (over) headers.connection = 'close';
      res.writeHead(result.statusCode ?? 200, headers);
      res.end(result.body ?? '', () => {
        if (over) req.socket.destroy();
      });
    } catch {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal_error', message: 'Internal error' } }));
    }
  });
}
