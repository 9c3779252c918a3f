/**
 * What a stranger's bad signatures cost in Secrets Manager calls: the real middy handler
 * (createIngressHandler around createIngress) with the real SecretsManagerKeySource on a real
 * SecretsManagerClient whose HTTP handler answers in-process (a secret with versions and stages)
 * and counts every call by operation. Well-formed (64 hex digits) wrong signatures arrive at
 * `rate` per second of a simulated clock (the key source's `now`) for `seconds`; past halfway (off
 * the cache TTL's background re-reads) a new version is stored (a genuine rotation) and the sender signs with it once a simulated second,
 * so the time until the new secret verifies is measured under the flood too.
 *
 * Built like the functions (scripts/bench/stranger-cost.ts, also from an earlier commit's sources);
 * config from BENCH_STRANGER (JSON), results written to BENCH_OUT.
 */
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { SecretsManagerKeySource } from '../../../functions/adapters/aws/secrets-key-source';
import { MemoryDedupStore } from '../../../functions/adapters/local/memory-dedup';
import { createIngress } from '../../../functions/core/ingress';
import { createIngressHandler } from '../../../functions/wiring/ingress-handler';
import { logger, metrics, powertoolsTelemetry } from '../../../functions/wiring/observability';
import { answerBudgetMs, getProvider } from '../../../providers/runtime';
import { bodyFactory, sign } from '../lib/payload';

const cfg = JSON.parse(process.env.BENCH_STRANGER ?? '{}') as { rate?: number; seconds?: number };
const rate = cfg.rate ?? 10;
const seconds = cfg.seconds ?? 3_600;
const outPath = process.env.BENCH_OUT as string;

const OLD = 'whsec_fake_stranger_old_0123456789abcdef0123';
const NEW = 'whsec_fake_stranger_new_fedcba9876543210fedc';
const T0 = 1_800_000_000_000;
let clock = T0;

// ---- an in-process Secrets Manager: one secret, versions with stages ------------------------
interface Version {
  value: string;
  created: number;
  stages: string[];
}
const versions = new Map<string, Version>([['v1', { value: OLD, created: T0 - 86_400_000, stages: ['AWSCURRENT'] }]]);
const calls: Record<string, number> = {};
function storeNewVersion(id: string, value: string): void {
  for (const v of versions.values()) v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
  versions.set(id, { value, created: clock, stages: ['AWSCURRENT'] });
}
function answer(target: string, input: { VersionStage?: string }): { status: number; body: unknown; type?: string } {
  if (target === 'DescribeSecret')
    return {
      status: 200,
      body: {
        Name: 'x',
        VersionIdsToStages: Object.fromEntries(
          [...versions].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, v.stages]),
        ),
      },
    };
  if (target === 'GetSecretValue') {
    const found = [...versions].find(([, v]) => v.stages.includes(input.VersionStage ?? 'AWSCURRENT'));
    if (found)
      return {
        status: 200,
        body: {
          Name: 'x',
          VersionId: found[0],
          SecretString: JSON.stringify({ secret: found[1].value }),
          CreatedDate: found[1].created / 1000,
          VersionStages: found[1].stages,
        },
      };
  }
  return { status: 400, type: 'ResourceNotFoundException', body: { __type: 'ResourceNotFoundException', message: 'no' } };
}
const sm = new SecretsManagerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'bench' },
  requestHandler: {
    async handle(request: { headers: Record<string, string>; body?: unknown }) {
      const target = (request.headers['x-amz-target'] ?? '?').split('.').pop() as string;
      calls[target] = (calls[target] ?? 0) + 1;
      const raw = typeof request.body === 'string' ? request.body : Buffer.from(request.body as Uint8Array).toString('utf8');
      const a = answer(target, JSON.parse(raw || '{}'));
      return {
        response: {
          statusCode: a.status,
          reason: a.status === 200 ? 'OK' : 'Bad Request',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amzn-requestid': 'bench',
            ...(a.type ? { 'x-amzn-errortype': a.type } : {}),
          },
          body: Readable.from([Buffer.from(JSON.stringify(a.body))]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  } as never,
});

// ---- the handler ------------------------------------------------------------------------------
const provider = getProvider('heygen');
const pipeline = createIngress({
  routes: [
    {
      provider,
      path: '/heygen',
      timestampToleranceSeconds: 0,
      budgetMs: answerBudgetMs(provider),
      keys: new SecretsManagerKeySource(sm, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x', { now: () => clock }),
      dedup: new MemoryDedupStore({ windowSeconds: 48 * 3600, lockSeconds: 15, mode: provider.defaultDedupMode }),
    },
  ],
  maxBodyBytes: 256 * 1024,
  publisher: { publish: async () => {} },
  telemetry: powertoolsTelemetry(logger, metrics),
});
const handler = createIngressHandler({ pipeline, maxBodyBytes: 256 * 1024, logger, metrics });
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000, functionName: 'bench' } as unknown as Context;

function event(body: string, signature: string, seq: number): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/heygen',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'heygen-signature': signature },
    requestContext: { http: { method: 'POST', path: '/heygen' }, requestId: `r${seq}`, timeEpoch: clock } as never,
    body,
    isBase64Encoded: false,
  };
}

async function main() {
  const bodies = bodyFactory(1024, 'stranger');
  const total = Math.round(rate * seconds);
  // Halfway, off the 300 s cache TTL's background re-reads (they would pick the version up by themselves).
  const rotateAt = Math.floor(total / 2) + Math.round(rate * 137.5);
  let bad = 0;
  let badNot401 = 0;
  let rotatedAt: number | undefined;
  let pickedUpAt: number | undefined;
  let nextGenuine = Number.POSITIVE_INFINITY;
  // The first genuine delivery (old secret) fills the cache, as in a warm environment.
  await handler(event(bodies.body(0), sign(OLD, bodies.body(0)), 0), context);
  const before = { ...calls };
  for (let i = 1; i <= total; i++) {
    clock = T0 + Math.round((i * 1000) / rate);
    if (i === rotateAt) {
      storeNewVersion('v2', NEW);
      rotatedAt = clock;
      nextGenuine = clock;
    }
    if (pickedUpAt === undefined && clock >= nextGenuine) {
      const body = bodies.body(total + i);
      const res = await handler(event(body, sign(NEW, body), total + i), context);
      if (res.statusCode === 200) pickedUpAt = clock;
      nextGenuine = clock + 1_000;
    }
    const body = bodies.body(i);
    // Well-formed (64 hex digits) but signed with nobody's secret.
    const res = await handler(event(body, sign('whsec_fake_stranger_key_000000000000', body), i), context);
    bad++;
    if (res.statusCode !== 401) badNot401++;
  }
  const made = Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  const allCalls = Object.values(made).reduce((a, b) => a + b, 0);
  writeFileSync(
    outPath,
    JSON.stringify({
      rate,
      seconds,
      badRequests: bad,
      badNot401,
      calls: made,
      callsPerBadRequest: allCalls / bad,
      rotationPickupSeconds: pickedUpAt !== undefined && rotatedAt !== undefined ? (pickedUpAt - rotatedAt) / 1000 : null,
    }),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`stranger bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
