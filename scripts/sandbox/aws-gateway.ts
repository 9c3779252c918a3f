/**
 * The sandbox's AWS endpoint: a loopback HTTP server in front of moto that forwards every request
 * unchanged, except the calls moto cannot serve the way AWS does:
 *
 * - `AmazonSQS.StartMessageMoveTask` / `ListMessageMoveTasks` (moto 5.2 lacks them, pinned in
 *   test/integration/moto-capabilities.test.ts): served by test/fakes/sqs-message-move.ts over
 *   moto's real queues, so `heygen-relay redrive` works here as in AWS;
 * - `secretsmanager.RotateSecret` on a secret the template gives a rotation function: moto would need
 *   that function in Docker; here the sandbox runs the template's rotation function (the real
 *   providers/heygen/runtime/entries/rotation.ts, in a child process) through Secrets Manager's four steps before it
 *   answers (scripts/sandbox/rotation.ts; AWS answers first and rotates right after; a failed step
 *   is answered as an error here, where AWS would leave it to the rotation alarm).
 *
 * And one answer it dates back: `secretsmanager.DescribeSecret` of the signing secret says the secret
 * was created `backdate` earlier than moto made it (the sandbox's stack is dated as deployed that long
 * before it started, docs/sandbox.md: the backfill reads this CreatedDate as the stack's birth).
 *
 * Paths under `/_sandbox/` (no bucket can be named so) are the sandbox's own control routes: its
 * schedules (scripts/sandbox/schedules.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksCommandInput,
  type SQSClient,
  StartMessageMoveTaskCommand,
  type StartMessageMoveTaskCommandInput,
} from '@aws-sdk/client-sqs';
import { messageMoveTaskSqs } from '../../test/fakes/sqs-message-move.js';
import { awsClientConfig } from '../../test/support/moto.js';

export interface RotateRequest {
  readonly SecretId: string;
  readonly ClientRequestToken?: string;
}

export interface GatewayOptions {
  /** moto's endpoint. */
  readonly moto: string;
  /** RotateSecret of `secretId` (scripts/sandbox/rotation.ts); undefined: forwarded to moto. */
  readonly rotate: (
    secretId: string,
  ) => ((token?: string) => Promise<{ ARN?: string; Name?: string; VersionId: string }>) | undefined;
  /** The sandbox's control routes (`/_sandbox/...`); undefined: no such route. */
  readonly control?: (method: string, path: string) => Promise<Answer | undefined>;
  /** How far DescribeSecret dates `secretId`'s CreatedDate back (ms); undefined: as moto has it. */
  readonly backdate?: (secretId: string) => number | undefined;
}

export interface AwsGateway {
  readonly endpoint: string;
  close(): Promise<void>;
}

export type Answer = { status: number; body: unknown };

function awsError(status: number, type: string, message: string): Answer {
  return { status, body: { __type: type, message } };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Sends the request to moto as it came and streams moto's answer back. */
function forward(moto: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const upstream = httpRequest(
    { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ __type: 'ServiceUnavailable', message: `the sandbox's moto did not answer: ${err.message}` }));
  });
  upstream.end(body);
}

/** Sends the request to moto and reads its whole answer. */
function ask(
  moto: URL,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((done, fail) => {
    const upstream = httpRequest(
      { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        readBody(answer).then((b) => done({ status: answer.statusCode ?? 502, headers: answer.headers, body: b }), fail);
      },
    );
    upstream.on('error', fail);
    upstream.end(body);
  });
}

/** DescribeSecret as moto answers it, its CreatedDate (epoch seconds) `ms` earlier. */
async function describeBackdated(moto: URL, req: IncomingMessage, body: Buffer, ms: number, res: ServerResponse) {
  const answer = await ask(moto, req, body);
  let out = answer.body;
  if (answer.status === 200) {
    const described = JSON.parse(answer.body.toString('utf8')) as { CreatedDate?: number };
    if (typeof described.CreatedDate === 'number') described.CreatedDate -= ms / 1000;
    out = Buffer.from(JSON.stringify(described));
  }
  const { 'content-length': _length, 'transfer-encoding': _chunked, ...headers } = answer.headers;
  res.writeHead(answer.status, { ...headers, 'content-length': String(out.length) });
  res.end(out);
}

async function moveTask(sqs: SQSClient, op: string, input: unknown): Promise<Answer> {
  try {
    const out =
      op === 'StartMessageMoveTask'
        ? await sqs.send(new StartMessageMoveTaskCommand(input as StartMessageMoveTaskCommandInput))
        : await sqs.send(new ListMessageMoveTasksCommand(input as ListMessageMoveTasksCommandInput));
    const { $metadata: _m, ...body } = out;
    return { status: 200, body };
  } catch (err) {
    const e = err as Error;
    return awsError(400, `com.amazonaws.sqs#${e.name}`, e.message);
  }
}

async function rotate(options: GatewayOptions, input: RotateRequest): Promise<Answer | undefined> {
  const run = options.rotate(input.SecretId);
  if (!run) return undefined;
  try {
    return { status: 200, body: await run(input.ClientRequestToken) };
  } catch (err) {
    const e = err as Error; // moto's answer as it gave it, or a failed rotation step
    return awsError(400, e.name === 'Error' ? 'InvalidRequestException' : e.name, e.message);
  }
}

async function sandboxRoute(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  const answer = (await options.control?.(method, path)) ?? {
    status: 404,
    body: { error: `no sandbox route ${method} ${path}; see docs/sandbox.md` },
  };
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer.body));
}

async function handle(options: GatewayOptions, sqs: SQSClient, req: IncomingMessage, res: ServerResponse) {
  if (req.url?.startsWith('/_sandbox/')) return sandboxRoute(options, req, res);
  const body = await readBody(req);
  const target = String(req.headers['x-amz-target'] ?? '');
  let answer: Answer | undefined;
  if (target === 'AmazonSQS.StartMessageMoveTask' || target === 'AmazonSQS.ListMessageMoveTasks')
    answer = await moveTask(sqs, target.slice('AmazonSQS.'.length), JSON.parse(body.toString('utf8') || '{}'));
  else if (target === 'secretsmanager.RotateSecret')
    answer = await rotate(options, JSON.parse(body.toString('utf8') || '{}') as RotateRequest);
  else if (target === 'secretsmanager.DescribeSecret') {
    const ms = options.backdate?.(String((JSON.parse(body.toString('utf8') || '{}') as { SecretId?: unknown }).SecretId));
    if (ms) return describeBackdated(new URL(options.moto), req, body, ms, res);
  }
  if (!answer) return forward(new URL(options.moto), req, body, res);
  res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify(answer.body));
}

export async function startAwsGateway(options: GatewayOptions, port = 0): Promise<AwsGateway> {
  const sqs = messageMoveTaskSqs(awsClientConfig(options.moto));
  const server: Server = createServer((req, res) => {
    handle(options, sqs, req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: err.message }));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
        sqs.destroy();
      }),
  };
}
