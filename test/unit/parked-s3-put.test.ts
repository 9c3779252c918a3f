/**
 * The ingress's S3 PutObject (functions/adapters/aws/parked-store.ts `S3ObjectPut`) is
 * `@aws-sdk/client-s3`, loaded on the first park (issue 20, finding 5: the hand-written addressing it
 * replaces differed from the SDK in 48 of 84 region and endpoint settings). Checked here: it
 * addresses every partition, FIPS and dual-stack setting exactly as a plain S3Client does (the
 * request URL captured at the HTTP handler), sends the exact bytes with their type and metadata,
 * signed, retries what the SDK retries, stops at the deadline; and the ingress's bundle does not
 * carry it (lib/function-build.ts writes it as a file of its own). Against moto:
 * test/integration/parked-s3.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3_CLIENT_CHUNK, S3ObjectPut, s3PutVia } from '../../functions/adapters/aws/parked-store.js';
import { buildFunction } from '../../lib/function-build.js';

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret', sessionToken: 'session-token' };

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}
type Answer = { status: number; body?: string } | Error;

/** An HTTP handler that records each request and answers from a script (then 200). */
function scripted(answers: Answer[] = []) {
  const seen: Seen[] = [];
  const handler = {
    async handle(request: {
      protocol: string;
      hostname: string;
      port?: number;
      path: string;
      method: string;
      headers: Record<string, string>;
      body: unknown;
    }) {
      seen.push({
        url: `${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`,
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
      const a = answers.shift() ?? { status: 200 };
      if (a instanceof Error) throw a;
      return {
        response: {
          statusCode: a.status,
          headers: { 'x-amz-request-id': 'r' },
          body: Readable.from([Buffer.from(a.body ?? '')]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return { handler, seen };
}

/** The partitions and settings compared: ISO, the EU sovereign cloud, China, GovCloud, FIPS, dual-stack. */
const REGIONS = [
  'us-east-1',
  'eu-west-1',
  'ap-southeast-5',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
  'us-iso-east-1',
  'us-isob-east-1',
  'us-isof-south-1',
  'eu-isoe-west-1',
  'eusc-de-east-1',
];
const SETTINGS: Array<Pick<S3ClientConfig, 'useFipsEndpoint' | 'useDualstackEndpoint'>> = [
  {},
  { useFipsEndpoint: true },
  { useDualstackEndpoint: true },
  { useFipsEndpoint: true, useDualstackEndpoint: true },
];

/** Where a client sends PutObject for this bucket and key: the URL, or the error it throws before sending. */
async function whereItGoes(send: (handler: ReturnType<typeof scripted>['handler']) => Promise<unknown>): Promise<string> {
  const { handler, seen } = scripted();
  try {
    await send(handler);
  } catch (err) {
    return `error ${(err as Error).name}: ${(err as Error).message}`;
  }
  return seen[0]?.url ?? 'nothing sent';
}

describe('S3ObjectPut is the SDK: every partition, FIPS and dual-stack setting addressed as S3Client does', () => {
  const cases = REGIONS.flatMap((region) =>
    SETTINGS.flatMap((settings) => ['relay-parked', 'relay.parked.dotted'].map((bucket) => ({ region, settings, bucket }))),
  );

  it.each(cases)('$region $settings $bucket', async ({ region, settings, bucket }) => {
    const ours = await whereItGoes((requestHandler) =>
      new S3ObjectPut({ region, credentials: CREDENTIALS, requestHandler, s3: settings }).put(
        bucket,
        'parked/heygen/evt-1.json',
        Buffer.from('{}'),
        {},
      ),
    );
    const sdk = await whereItGoes((requestHandler) =>
      new S3Client({ region, credentials: CREDENTIALS, requestHandler, ...settings }).send(
        new PutObjectCommand({ Bucket: bucket, Key: 'parked/heygen/evt-1.json', Body: Buffer.from('{}') }),
      ),
    );
    expect(ours).toBe(sdk);
  });

  it('pins a few of them (what the hand-written addressing got wrong)', async () => {
    const url = (region: string, settings: SETTINGS_T = {}) =>
      whereItGoes((requestHandler) =>
        new S3ObjectPut({ region, credentials: CREDENTIALS, requestHandler, s3: settings }).put(
          'relay-parked',
          'k',
          Buffer.from('x'),
          {},
        ),
      );
    type SETTINGS_T = (typeof SETTINGS)[number];
    expect(await url('us-iso-east-1')).toBe('https://relay-parked.s3.us-iso-east-1.c2s.ic.gov/k');
    expect(await url('us-isob-east-1')).toBe('https://relay-parked.s3.us-isob-east-1.sc2s.sgov.gov/k');
    expect(await url('eusc-de-east-1')).toBe('https://relay-parked.s3.eusc-de-east-1.amazonaws.eu/k');
    expect(await url('us-east-1', { useFipsEndpoint: true, useDualstackEndpoint: true })).toBe(
      'https://relay-parked.s3-fips.dualstack.us-east-1.amazonaws.com/k',
    );
  });
});

describe('S3ObjectPut: what it sends', () => {
  it('the exact bytes with their length, content type and metadata; signed with the session token and the payload hash', async () => {
    const { handler, seen } = scripted();
    const body = Buffer.from('{"id":"heygen:evt:1","body":"\u00ff"}', 'utf8');
    await new S3ObjectPut({ region: 'eu-west-1', credentials: CREDENTIALS, requestHandler: handler }).put(
      'relay-parked',
      'parked/heygen/evt-$1.json',
      body,
      { 'content-type': 'application/json', 'x-amz-meta-provider': 'heygen', 'x-amz-meta-reason': 'lossy_number' },
    );
    const [req] = seen;
    expect(req?.method).toBe('PUT');
    expect(req?.url).toBe('https://relay-parked.s3.eu-west-1.amazonaws.com/parked/heygen/evt-%241.json');
    expect(Buffer.from(req?.body as Uint8Array).equals(body)).toBe(true);
    expect(req?.headers['content-length']).toBe(String(body.length));
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['x-amz-meta-provider']).toBe('heygen');
    expect(req?.headers['x-amz-meta-reason']).toBe('lossy_number');
    expect(req?.headers['x-amz-security-token']).toBe('session-token');
    expect(req?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/s3\/aws4_request/);
  });

  it('s3PutVia borrows an SDK client’s region, credentials and HTTP handler', async () => {
    const { handler, seen } = scripted();
    const borrowed = {
      config: { region: async () => 'ap-northeast-1', credentials: async () => CREDENTIALS, requestHandler: handler },
    };
    await s3PutVia(borrowed, 2).put('relay-parked', 'k', Buffer.from('x'), {});
    expect(seen[0]?.url).toBe('https://relay-parked.s3.ap-northeast-1.amazonaws.com/k');
  });
});

describe('S3ObjectPut: retries (the SDK’s)', () => {
  const s3 = (answers: Answer[]) => {
    const h = scripted(answers);
    return {
      put: new S3ObjectPut({ region: 'us-east-1', credentials: CREDENTIALS, requestHandler: h.handler, maxAttempts: 3 }),
      seen: h.seen,
    };
  };
  const s3Error = (code: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`;

  it('retries a 5xx, then succeeds', async () => {
    const { put, seen } = s3([{ status: 503, body: s3Error('SlowDown') }]);
    await put.put('b', 'k', Buffer.from('x'), {});
    expect(seen).toHaveLength(2);
  });

  it('does not retry a 403; the error is S3’s code', async () => {
    const { put, seen } = s3([{ status: 403, body: s3Error('AccessDenied') }]);
    await expect(put.put('b', 'k', Buffer.from('x'), {})).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(seen).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    const { put, seen } = s3([500, 500, 500, 500].map((status) => ({ status, body: s3Error('InternalError') })));
    await expect(put.put('b', 'k', Buffer.from('x'), {})).rejects.toMatchObject({ name: 'InternalError' });
    expect(seen).toHaveLength(3);
  });

  it('stops at once when the request is aborted (the deadline)', async () => {
    const { put } = s3([{ status: 503, body: s3Error('SlowDown') }]);
    const controller = new AbortController();
    controller.abort(new Error('deadline'));
    await expect(put.put('b', 'k', Buffer.from('x'), {}, controller.signal)).rejects.toThrow();
  });
});

describe('The S3 client stays out of the cold start', () => {
  // test/unit/ingress-bundle.test.ts: the bundle's inputs hold no @aws-sdk/client-s3.
  it('the ingress bundle has none of it; its own file next to the bundle has it, and is what a bundle loads', () => {
    const out = mkdtempSync(join(tmpdir(), 'ingress-build-'));
    const index = readFileSync(buildFunction('ingress', out), 'utf8');
    expect(index).not.toMatch(/S3Express|x-amz-checksum-crc64nvme/);
    expect(existsSync(join(out, S3_CLIENT_CHUNK))).toBe(true);
    const chunk = require(join(out, S3_CLIENT_CHUNK)) as typeof import('@aws-sdk/client-s3');
    expect(typeof chunk.S3Client).toBe('function');
    expect(typeof chunk.PutObjectCommand).toBe('function');
  }, 60_000);
});
