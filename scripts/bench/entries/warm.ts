/**
 * Warm cost per event, in one process: the real middy handler (createIngressHandler) around the
 * real core, against the floor (HMAC-SHA256 + timingSafeEqual + JSON.parse + JSON.stringify in a
 * bare loop). Variants of the ports:
 *  - `local`: in-memory fakes (StaticKeySource, MemoryDedupStore, a publisher that counts);
 *  - `sdk`:   the AWS adapters with the REAL SDK clients, whose HTTP handler answers in-process
 *             (serialization, SigV4 signing and response parsing run; no network).
 * Config comes from BENCH_WARM (JSON); results are written to BENCH_OUT. Logging is set by the
 * parent through POWERTOOLS_LOG_LEVEL / POWERTOOLS_METRICS_DISABLED; stdout may be a file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DynamoDedupStore } from '../../../functions/adapters/aws/dynamodb-dedup';
import { EventBridgePublisher } from '../../../functions/adapters/aws/eventbridge-publisher';
import { SecretsManagerKeySource } from '../../../functions/adapters/aws/secrets-key-source';
import { MemoryDedupStore } from '../../../functions/adapters/local/memory-dedup';
import { StaticKeySource } from '../../../functions/adapters/local/static-keys';
import type { RelayEvent } from '../../../functions/core/envelope';
import { createIngress } from '../../../functions/core/ingress';
import { createIngressHandler } from '../../../functions/wiring/ingress-handler';
import { logger, metrics, powertoolsTelemetry } from '../../../functions/wiring/observability';
import { answerBudgetMs, getProvider } from '../../../providers/runtime';
import { BENCH_SECRET, bodyFactory, sign } from '../lib/payload';
import { percentile, sortedCopy } from '../lib/stats';

interface WarmConfig {
  sizes: number[];
  n: number;
  /** Events per run for the SDK variant (slower; supplementary, not judged by a target). */
  nSdk?: number;
  warmup: number;
  runs: number;
  variants: Array<'local' | 'sdk'>;
  floor: boolean;
  /** The dedup stores also check the earlier body key (DEDUP_LEGACY_BODY_KEYS=true, the first window after an upgrade). */
  legacy?: boolean;
}

const cfg = JSON.parse(process.env.BENCH_WARM ?? '{}') as WarmConfig;
const outPath = process.env.BENCH_OUT as string;

// ---- in-process AWS answers -------------------------------------------------------------
let putEventsBodyBytes = 0;
let currentSize = 0;
const entryBytesBySize: Record<number, number> = {};
let putEventsDetailBytes = 0;
let dynamoCalls = 0;
/** DynamoDB calls by operation (x-amz-target), e.g. `GetItem`. */
const dynamoOps: Record<string, number> = {};
let secretsCalls = 0;
type Req = { headers: Record<string, string>; body?: unknown };
function inProcessHandler(answer: (req: Req) => { status: number; body: string; headers?: Record<string, string> }) {
  return {
    async handle(request: Req) {
      const a = answer(request);
      return {
        response: {
          statusCode: a.status,
          reason: a.status === 200 ? 'OK' : 'Bad Request',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'bench', ...(a.headers ?? {}) },
          // A stream, as NodeHttpHandler hands back an IncomingMessage.
          body: Readable.from([Buffer.from(a.body)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
  };
}
const sdkBase = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'bench' }, maxAttempts: 3 };
const ddb = new DynamoDBClient({
  ...sdkBase,
  requestHandler: inProcessHandler((req) => {
    dynamoCalls++;
    const op = (req.headers['x-amz-target'] ?? '?').split('.').pop() as string;
    dynamoOps[op] = (dynamoOps[op] ?? 0) + 1;
    return { status: 200, body: '{}' };
  }) as never,
});
/** A request body as the SDK hands it to the handler (a string, or bytes), as text. */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  const bytes = body as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
const eb = new EventBridgeClient({
  ...sdkBase,
  requestHandler: inProcessHandler((req) => {
    const body = bodyText(req.body);
    putEventsBodyBytes = Buffer.byteLength(body);
    const entry = (JSON.parse(body) as { Entries: Array<{ Detail: string; DetailType: string; Source: string }> }).Entries[0];
    putEventsDetailBytes = Buffer.byteLength(entry?.Detail ?? '');
    // EventBridge sizes an entry as Detail + DetailType + Source (+ Time, Resources) in UTF-8.
    entryBytesBySize[currentSize] =
      putEventsDetailBytes + Buffer.byteLength(entry?.DetailType ?? '') + Buffer.byteLength(entry?.Source ?? '') + 24;
    return { status: 200, body: '{"FailedEntryCount":0,"Entries":[{"EventId":"11111111-2222-3333-4444-555555555555"}]}' };
  }) as never,
});
const sm = new SecretsManagerClient({
  ...sdkBase,
  requestHandler: inProcessHandler((req) => {
    secretsCalls++;
    const stage = (JSON.parse(bodyText(req.body)) as { VersionStage?: string }).VersionStage;
    if (stage === 'AWSCURRENT')
      return {
        status: 200,
        body: JSON.stringify({ Name: 'x', VersionId: 'v1', SecretString: BENCH_SECRET, CreatedDate: 1_600_000_000 }),
      };
    return {
      status: 400,
      headers: { 'x-amzn-errortype': 'ResourceNotFoundException' },
      body: '{"__type":"ResourceNotFoundException","message":"no such stage"}',
    };
  }) as never,
});

// ---- the handlers -------------------------------------------------------------------------
/**
 * The fakes' dedup store, like the SDK variant's: the earlier body-key check (`seenLegacy`) only with
 * `legacy` (on in production for one dedup window after an upgrade; priced apart, scripts/bench/run.ts).
 */
function localDedup(): MemoryDedupStore {
  const store = new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: provider.defaultDedupMode });
  if (cfg.legacy !== true) Object.defineProperty(store, 'seenLegacy', { value: undefined });
  return store;
}

const provider = getProvider('heygen');
let published = 0;
let publishedBytes = 0;
function buildHandler(variant: 'local' | 'sdk') {
  const route = {
    provider,
    path: '/heygen',
    timestampToleranceSeconds: 300,
    budgetMs: answerBudgetMs(provider),
    keys:
      variant === 'local'
        ? new StaticKeySource([BENCH_SECRET])
        : new SecretsManagerKeySource(sm, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x'),
    dedup:
      variant === 'local'
        ? localDedup()
        : new DynamoDedupStore(ddb, 'dedup', {
            windowSeconds: 48 * 3600,
            lockSeconds: 15,
            mode: provider.defaultDedupMode,
            legacyBodyKeys: cfg.legacy === true,
          }),
  };
  const pipeline = createIngress({
    routes: [route],
    maxBodyBytes: 256 * 1024,
    publisher:
      variant === 'local'
        ? {
            // Like the EventBridge adapter, it takes the Detail the core already serialized (no second stringify).
            async publish(event: RelayEvent, _signal?: AbortSignal, detail?: string) {
              published++;
              publishedBytes = Buffer.byteLength(detail ?? JSON.stringify(event));
            },
          }
        : new EventBridgePublisher(eb, 'relay-bus'),
    telemetry: powertoolsTelemetry(logger, metrics),
  });
  return createIngressHandler({ pipeline, maxBodyBytes: 256 * 1024, logger, metrics });
}

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'heygen-relay-bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:heygen-relay-bench',
  memoryLimitInMB: '256',
  awsRequestId: 'bench',
  logGroupName: '/aws/lambda/heygen-relay-bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
};

function functionUrlEvent(body: string, signature: string, seq: number): APIGatewayProxyEventV2 {
  const now = Date.now();
  const requestId = `req-${seq}`;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/heygen',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      host: 'abc.lambda-url.us-east-1.on.aws',
      'user-agent': 'HeyGen-Webhook/1.0',
      'heygen-signature': signature,
      'heygen-timestamp': String(Math.floor(now / 1000)),
      'heygen-event-id': `evt_${seq}`,
      'x-forwarded-for': '127.0.0.1',
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'POST', path: '/heygen', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'HeyGen-Webhook/1.0' },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}

// ---- measurement ----------------------------------------------------------------------------
let seq = 0;
let sink = 0;
function floorOnce(body: string, signature: string): number {
  const t0 = process.hrtime.bigint();
  const expected = createHmac('sha256', BENCH_SECRET).update(body).digest();
  const given = Buffer.from(signature, 'hex');
  if (!timingSafeEqual(given, expected)) throw new Error('floor: bad signature');
  const parsed = JSON.parse(body) as unknown;
  sink += JSON.stringify(parsed).length;
  return Number(process.hrtime.bigint() - t0) / 1000;
}

type Handler = ReturnType<typeof buildHandler>;
async function handlerOnce(handler: Handler, body: string, signature: string, s: number): Promise<number> {
  const event = functionUrlEvent(body, signature, s);
  const t0 = process.hrtime.bigint();
  const res = await handler(event, context);
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  if (res.statusCode !== 200 || !String(res.body).includes('"published"'))
    throw new Error(`handler answered ${res.statusCode} ${res.body}`);
  return us;
}

/** Deliveries through the SDK variant (the denominator of the DynamoDB calls per delivery). */
let sdkDeliveries = 0;
async function series(kind: 'floor' | 'local' | 'sdk', size: number, count: number, handler?: Handler) {
  currentSize = size;
  if (kind === 'sdk') sdkDeliveries += count;
  const f = bodyFactory(size, kind);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const s = seq++;
    const body = f.body(s);
    const signature = sign(BENCH_SECRET, body);
    samples[i] = kind === 'floor' ? floorOnce(body, signature) : await handlerOnce(handler as Handler, body, signature, s);
  }
  return samples;
}

async function main() {
  const handlers = { local: buildHandler('local'), sdk: buildHandler('sdk') };
  const kinds: Array<'floor' | 'local' | 'sdk'> = [...(cfg.floor ? (['floor'] as const) : []), ...cfg.variants];
  const results: Record<
    string,
    { size: number; kind: string; runs: Array<{ p50: number; p99: number; mean: number; n: number }> }
  > = {};
  const handlerCalls = { count: 0 };
  for (const size of cfg.sizes) {
    for (const kind of kinds) {
      await series(kind, size, cfg.warmup, kind === 'floor' ? undefined : handlers[kind]); // JIT warm-up, not recorded
      if (kind !== 'floor') handlerCalls.count += cfg.warmup;
    }
    for (let r = 0; r < cfg.runs; r++) {
      // Interleave: every run measures each kind once, rotating the order to spread drift.
      const order = kinds.map((_, i) => kinds[(i + r) % kinds.length] as 'floor' | 'local' | 'sdk');
      for (const kind of order) {
        const n = kind === 'sdk' ? (cfg.nSdk ?? cfg.n) : cfg.n;
        const samples = await series(kind, size, n, kind === 'floor' ? undefined : handlers[kind]);
        if (kind !== 'floor') handlerCalls.count += n;
        const sorted = sortedCopy(samples);
        let sum = 0;
        for (const v of samples) sum += v;
        const key = `${kind}:${size}`;
        results[key] ??= { size, kind, runs: [] };
        results[key].runs.push({
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          mean: sum / samples.length,
          n: samples.length,
        });
      }
    }
  }
  const usage = process.resourceUsage();
  // Retained memory: what is still live after a full GC (needs --expose-gc), as opposed to the
  // peak RSS, which also counts garbage V8 chose not to collect yet.
  const gc = (globalThis as { gc?: () => void }).gc;
  let retainedRssMb: number | null = null;
  let retainedHeapMb: number | null = null;
  if (gc) {
    gc();
    gc();
    const mu = process.memoryUsage();
    retainedRssMb = mu.rss / 1048576;
    retainedHeapMb = mu.heapUsed / 1048576;
  }
  writeFileSync(
    outPath,
    JSON.stringify({
      results,
      handlerCalls: handlerCalls.count,
      maxRssMb: usage.maxRSS / 1024,
      retainedRssMb,
      retainedHeapMb,
      heapUsedMb: process.memoryUsage().heapUsed / 1048576,
      putEventsBodyBytes,
      putEventsDetailBytes,
      entryBytesBySize,
      localEnvelopeBytes: publishedBytes,
      published,
      dynamoCalls,
      dynamoOps,
      sdkDeliveries,
      dedupMode: provider.defaultDedupMode,
      secretsCalls,
      sink,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`warm bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
