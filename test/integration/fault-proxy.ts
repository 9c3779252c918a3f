/**
 * A tiny fault-injecting HTTP proxy in front of moto, so the REAL SDK v3 clients see real wire
 * failures: HTTP 5xx, throttling errors, PutEvents partial failures, hangs, slow answers, and
 * answers lost after the write landed. Faults are chosen per request by the `X-Amz-Target` header
 * (`DynamoDB_20120810.PutItem`, `AWSEvents.PutEvents`, `secretsmanager.GetSecretValue`, ...) and,
 * optionally, by a string the request body must contain (so concurrent scenarios don't collide).
 * Everything else is forwarded to moto untouched.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  /** Answer with an AWS JSON-protocol error, e.g. 500 InternalServerError, 400 ThrottlingException. */
  | { kind: 'error'; status: number; type: string; message?: string }
  /** PutEvents answers 200 with FailedEntryCount = 1 (the entry is NOT forwarded, as in AWS). */
  | { kind: 'partial'; errorCode?: string }
  /** Never answer (the request is not forwarded). */
  | { kind: 'hang' }
  /** Forward after a delay. */
  | { kind: 'delay'; ms: number }
  /** Forward (the write lands in moto), then never answer: the caller cannot know it succeeded. */
  | { kind: 'lose-answer' };

export interface FaultRule {
  /** Matched against `X-Amz-Target`. */
  readonly target: RegExp;
  /** The request body must contain this string. */
  readonly bodyIncludes?: string;
  readonly fault: Fault;
  /** Inject at most this many times. @default unlimited */
  readonly times?: number;
}

export interface InjectedFault {
  readonly target: string;
  readonly kind: Fault['kind'];
  readonly label: string;
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly rules = new Map<string, FaultRule & { hits: number }>();
  readonly injected: InjectedFault[] = [];
  readonly requests: { target: string; at: number }[] = [];
  endpoint = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
    this.endpoint = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  /** Adds a rule under a label (replacing one with that label). Returns a function removing it. */
  inject(label: string, rule: FaultRule): () => void {
    this.rules.set(label, { ...rule, hits: 0 });
    return () => this.clear(label);
  }

  clear(label: string): void {
    this.rules.delete(label);
  }

  hits(label: string): number {
    return this.injected.filter((i) => i.label === label).length;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const target = String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`);
    this.requests.push({ target, at: Date.now() });
    const text = body.toString('utf8');
    let fault: Fault | undefined;
    for (const [label, rule] of this.rules) {
      if (!rule.target.test(target)) continue;
      if (rule.bodyIncludes !== undefined && !text.includes(rule.bodyIncludes)) continue;
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      rule.hits++;
      fault = rule.fault;
      this.injected.push({ target, kind: fault.kind, label });
      break;
    }
    switch (fault?.kind) {
      case 'error':
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': fault.type });
        res.end(JSON.stringify({ __type: fault.type, message: fault.message ?? `Injected ${fault.type}` }));
        return;
      case 'partial': {
        const entries = (JSON.parse(text) as { Entries?: unknown[] }).Entries ?? [];
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            FailedEntryCount: entries.length,
            Entries: entries.map(() => ({
              ErrorCode: fault.errorCode ?? 'ThrottlingException',
              ErrorMessage: 'Injected partial failure',
            })),
          }),
        );
        return;
      }
      case 'hang':
        return; // the socket stays open until the client gives up or the proxy stops
      case 'delay':
        await new Promise((r) => setTimeout(r, fault.ms));
        break;
      case 'lose-answer':
        await this.forward(req, body).catch(() => undefined);
        return;
      default:
        break;
    }
    try {
      const up = await this.forward(req, body);
      if (res.destroyed) return;
      res.writeHead(up.status, up.headers);
      res.end(up.body);
    } catch (err) {
      if (!res.destroyed) {
        res.writeHead(502);
        res.end(String(err));
      }
    }
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const url = new URL(req.url ?? '/', this.upstream);
    return new Promise((resolve, reject) => {
      const up = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (r) => {
        const parts: Buffer[] = [];
        r.on('data', (c: Buffer) => parts.push(c));
        r.on('end', () => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers))
            if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection') headers[k] = v;
          resolve({ status: r.statusCode ?? 502, headers, body: Buffer.concat(parts) });
        });
        r.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }
}
