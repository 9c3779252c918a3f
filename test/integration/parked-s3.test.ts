/**
 * Parking against moto's S3, through the real Lambda entry (functions/entries/ingress.ts) and its real
 * adapters: the ingress's PutObject goes through `@aws-sdk/client-s3`, loaded on the first park
 * (functions/adapters/aws/parked-store.ts `S3ObjectPut`), and what it stored is read back with the
 * real S3 client by the operators' functions (S3ParkedArchive, republishParked). A small proxy in
 * front of moto makes S3 hang, to check the deadline holds for parking too.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedArchive } from '../../functions/adapters/aws/parked-store.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { parkedBody, parseParkedRecord } from '../../functions/core/parked.js';
import { listParked, republishParked } from '../../functions/wiring/parked-ops.js';
import { eventId } from '../../providers/runtime.js';
import { type EmulatorStack, type IngressHandler, lambdaContext, loadIngressEntry } from '../support/emulator-stack.js';
import { relayStackWithSecret } from '../support/fault-relay.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerEventSignature, registerSensitive, writeFigures } from '../support/log-capture.js';

const secret = `whsec_${randomBytes(24).toString('hex')}`;
registerSensitive(secret, 'secret');
let stack: EmulatorStack;
let archive: S3ParkedArchive;

/** Forwards everything to moto; while `hangPuts` is on, an S3 PUT under parked/ is never answered. */
class HangingS3Proxy {
  hangPuts = false;
  hung = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  endpoint = '';
  constructor(private readonly upstream: string) {}
  async start(): Promise<this> {
    const up = new URL(this.upstream);
    this.server = createServer((req, res) => {
      if (this.hangPuts && req.method === 'PUT' && req.url?.includes('/parked/')) {
        this.hung++;
        req.resume();
        return; // never answered
      }
      const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
let proxy: HangingS3Proxy;
/** Figures for RELIABILITY.md (scripts/reliability.ts), measured by these tests. */
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  stack = await relayStackWithSecret(secret, 'ep_p');
  archive = new S3ParkedArchive(stack.clients.s3, stack.parkedBucket);
  proxy = await new HangingS3Proxy(stack.endpoint).start();
});

afterAll(async () => {
  writeFigures('parked-s3', figures);
  await proxy?.stop();
  stack?.destroy();
});

/** A signed body EventBridge cannot carry exactly: a number beyond double precision. */
function lossyBody(): string {
  return `{"event_type":"avatar_video.success","event_data":{"video_id":"v_${randomUUID()}","n":12345678901234567890}}`;
}

async function deliver(handler: IngressHandler, body: string) {
  const ev = functionUrlEvent(body, { secret });
  registerEventSignature(ev);
  const t0 = Date.now();
  const res = await handler(ev, lambdaContext());
  return { status: res.statusCode ?? 0, body: JSON.parse(res.body ?? '{}'), ms: Date.now() - t0 };
}

describe('Parking in S3 (moto) through the SDK, loaded on the first park', () => {
  it('the Lambda entry parks a signed lossy delivery: 202, one object with its reason, the exact bytes, listed and re-published by the operators', async () => {
    expect(stack.parkedBucket).not.toBe('');
    const handler = await loadIngressEntry(stack);
    const body = lossyBody();
    const id = eventId('heygen', Buffer.from(body));
    const first = await deliver(handler, body);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'parked', id, reason: 'lossy_number' });
    // HeyGen's retry parks again: the same object, overwritten, not a second copy.
    expect((await deliver(handler, body)).status).toBe(202);

    const key = `parked/heygen/evt-${id.split(':').at(-1)}.json`;
    const listed = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.parkedBucket, Prefix: 'parked/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([key]);
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.parkedBucket, Key: key }));
    expect(head.ContentType).toBe('application/json');
    expect(head.Metadata).toEqual({ provider: 'heygen', reason: 'lossy_number' });

    const summaries = await listParked(archive);
    expect(summaries).toMatchObject([{ key, provider: 'heygen', reason: 'lossy_number' }]);
    const record = parseParkedRecord((await archive.read(key)) as string);
    expect(parkedBody(record).toString('utf8')).toBe(body);
    expect(record).toMatchObject({ id, reason: 'lossy_number', path: '/heygen' });
    expect(JSON.stringify(record.headers)).not.toContain('signature');

    const published: RelayEvent[] = [];
    const bus = new EventBridgePublisher(stack.clients.eb, stack.busName);
    const publisher = {
      publish: async (event: RelayEvent, signal?: AbortSignal, detail?: string) => {
        await bus.publish(event, signal, detail);
        published.push(event);
      },
    };
    expect(await republishParked({ archive, publisher }, key)).toMatchObject({ outcome: 'still_unpublishable' });
    expect(await republishParked({ archive, publisher }, key, { acceptLossy: true })).toMatchObject({ outcome: 'published', id });
    expect(published.map((e) => e.id)).toEqual([id]);
    expect(await listParked(archive)).toEqual([]);
    figures.parkedThroughEntry = {
      deliveries: 2,
      answers: [first.status, 202],
      objects: listed.Contents?.length ?? 0,
      reason: record.reason,
      bodyExact: parkedBody(record).toString('utf8') === body,
      republished: published.length,
      leftAfterRepublish: 0,
      firstAnswerMs: first.ms,
    };
  });

  it('a hanging S3 cannot hold the answer: 503 inside the budget, nothing published; the retry parks', async () => {
    const handler = await loadIngressEntry(stack, { awsEndpoint: proxy.endpoint });
    const body = lossyBody();
    proxy.hangPuts = true;
    const hung = await deliver(handler, body);
    proxy.hangPuts = false;
    expect(proxy.hung).toBeGreaterThan(0);
    expect(hung.status).toBe(503);
    // HeyGen's budget: the answer within 8 s (its 10 s deadline less a margin).
    expect(hung.ms).toBeLessThan(9_000);
    const retry = await deliver(handler, body);
    expect(retry.status).toBe(202);
    const id = eventId('heygen', Buffer.from(body));
    const text = await archive.read(`parked/heygen/evt-${id.split(':').at(-1)}.json`);
    expect(text && parkedBody(parseParkedRecord(text)).toString('utf8')).toBe(body);
    figures.s3Hang = {
      hungPuts: proxy.hung,
      answer: hung.status,
      answerMs: hung.ms,
      retryAnswer: retry.status,
      retryParked: Boolean(text),
    };
  });

  it('a bucket S3 refuses (NoSuchBucket) answers 503 at once, not after retries, and publishes nothing', async () => {
    const handler = await loadIngressEntry(stack, { env: { PARKED_BUCKET_NAME: `missing-${randomUUID()}` } });
    const res = await deliver(handler, lossyBody());
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('dependency_unavailable');
    expect(JSON.stringify(res.body)).not.toContain('NoSuchBucket');
    figures.noSuchBucket = { answer: res.status, code: res.body.error.code, answerMs: res.ms };
  });
});
