/**
 * The ingress's S3 PutObject without the S3 client (functions/adapters/aws/parked-store.ts
 * `S3ObjectPut`): its SigV4 signature against AWS's own published example, its addressing, and its
 * retry rules. Against moto: test/integration/parked-s3.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { type RawHttpHandler, S3ObjectPut, S3PutError } from '../../functions/adapters/aws/parked-store.js';

/** The hash the ingress passes: that of an SDK client's resolved config, as in functions/ingress.ts. */
const Sha256 = new EventBridgeClient({ region: 'us-east-1' }).config.sha256;

const EXAMPLE_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

type Answer = { status: number; body?: string } | Error;
function scripted(answers: Answer[]) {
  const seen: Array<{ path: string; hostname: string; headers: Record<string, string>; body?: unknown }> = [];
  const handler: RawHttpHandler = {
    async handle(request) {
      seen.push(request as never);
      const a = answers.shift() ?? { status: 200 };
      if (a instanceof Error) throw a;
      return { response: { statusCode: a.status, headers: {}, body: Readable.from([Buffer.from(a.body ?? '')]) } };
    },
  };
  return { handler, seen };
}

function put(handler: RawHttpHandler, extra: Partial<ConstructorParameters<typeof S3ObjectPut>[0]> = {}) {
  return new S3ObjectPut({
    credentials: async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret', sessionToken: 'session-token' }),
    region: 'eu-west-1',
    sha256: Sha256 as never,
    requestHandler: handler,
    endpoint: 'http://127.0.0.1:9/base',
    ...extra,
  });
}

describe('S3ObjectPut: SigV4 as S3 verifies it', () => {
  /**
   * SigV4 written out from the specification, by hand (canonical request, string to sign, signing
   * key), independent of @smithy/signature-v4: checked against AWS's published example first.
   */
  function referenceSignature(r: {
    method: string;
    path: string;
    headers: Record<string, string>;
    payloadHash: string;
    amzDate: string;
    region: string;
    secret: string;
  }): { signedHeaders: string; signature: string } {
    const names = Object.keys(r.headers)
      .map((h) => h.toLowerCase())
      .sort();
    const lower = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
    const signedHeaders = names.join(';');
    const canonical = [r.method, r.path, '', ...names.map((n) => `${n}:${lower[n]}`), '', signedHeaders, r.payloadHash].join(
      '\n',
    );
    const day = r.amzDate.slice(0, 8);
    const scope = `${day}/${r.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', r.amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    let key: Buffer = Buffer.from(`AWS4${r.secret}`);
    for (const part of [day, r.region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    return { signedHeaders, signature: createHmac('sha256', key).update(toSign).digest('hex') };
  }

  it("the reference signer gives AWS's published PUT Object example its documented signature", () => {
    // docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: PUT Object".
    const payloadHash = createHash('sha256').update('Welcome to Amazon S3.').digest('hex');
    expect(payloadHash).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    const ref = referenceSignature({
      method: 'PUT',
      path: '/test%24file.text',
      headers: {
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': payloadHash,
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash,
      amzDate: '20130524T000000Z',
      region: 'us-east-1',
      secret: EXAMPLE_CREDENTIALS.secretAccessKey,
    });
    expect(ref).toEqual({
      signedHeaders: 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
      signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    });
  });

  it('signs a PutObject exactly as the reference signer does (same example credentials, key with a $)', async () => {
    const s3 = new S3ObjectPut({
      credentials: async () => EXAMPLE_CREDENTIALS,
      region: 'us-east-1',
      sha256: Sha256 as never,
      requestHandler: scripted([]).handler,
      endpoint: 'https://s3.amazonaws.com',
      forcePathStyle: false,
    });
    const body = Buffer.from('Welcome to Amazon S3.');
    const signed = await s3.signed(
      'examplebucket',
      'parked/test$file.text',
      body,
      { 'x-amz-storage-class': 'REDUCED_REDUNDANCY', 'content-type': 'application/json' },
      new Date('2013-05-24T00:00:00Z'),
    );
    expect(signed.hostname).toBe('examplebucket.s3.amazonaws.com');
    expect(signed.path).toBe('/parked/test%24file.text');
    const payloadHash = createHash('sha256').update(body).digest('hex');
    expect(signed.headers['x-amz-content-sha256']).toBe(payloadHash);
    expect(signed.headers['x-amz-date']).toBe('20130524T000000Z');
    const ref = referenceSignature({
      method: 'PUT',
      path: '/parked/test%24file.text',
      headers: {
        'content-type': 'application/json',
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': payloadHash,
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash,
      amzDate: '20130524T000000Z',
      region: 'us-east-1',
      secret: EXAMPLE_CREDENTIALS.secretAccessKey,
    });
    expect(signed.headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=${ref.signedHeaders}, Signature=${ref.signature}`,
    );
  });

  it('signs the session token, the body hash and the metadata headers; sends the exact bytes with their length', async () => {
    const { handler, seen } = scripted([{ status: 200 }]);
    const body = Buffer.from([0xff, 0x00, 0x7b]);
    await put(handler).put('bucket', 'parked/heygen/evt-ab.json', body, { 'x-amz-meta-reason': 'too_deep' });
    const sent = seen[0];
    expect(sent?.hostname).toBe('127.0.0.1');
    expect(sent?.path).toBe('/base/bucket/parked/heygen/evt-ab.json');
    expect(sent?.headers['x-amz-security-token']).toBe('session-token');
    expect(sent?.headers['content-length']).toBe('3');
    expect(sent?.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(sent?.headers.authorization).toMatch(
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-reason;x-amz-security-token,/,
    );
    expect(sent?.body).toBe(body);
  });

  it("addresses AWS's regional endpoint virtual-hosted (path-style for a dotted bucket; FIPS when asked)", async () => {
    const s3 = put(scripted([]).handler, { endpoint: undefined });
    const saved = { ...process.env };
    try {
      delete process.env.AWS_ENDPOINT_URL;
      delete process.env.AWS_ENDPOINT_URL_S3;
      expect(await s3.target('b-1', 'parked/x.json')).toEqual({
        protocol: 'https:',
        hostname: 'b-1.s3.eu-west-1.amazonaws.com',
        path: '/parked/x.json',
      });
      expect((await s3.target('my.bucket', 'k')).hostname).toBe('s3.eu-west-1.amazonaws.com');
      process.env.AWS_USE_FIPS_ENDPOINT = 'true';
      expect((await s3.target('b-1', 'k')).hostname).toBe('b-1.s3-fips.eu-west-1.amazonaws.com');
    } finally {
      process.env = saved;
    }
  });
});

describe('S3ObjectPut: retries', () => {
  it('retries a 5xx and a network error, then succeeds', async () => {
    const { handler, seen } = scripted([{ status: 503, body: '<Error><Code>SlowDown</Code></Error>' }, new Error('ECONNRESET')]);
    await put(handler, { maxAttempts: 3 }).put('b', 'k', Buffer.from('x'), {});
    expect(seen).toHaveLength(3);
  });

  it('does not retry a 4xx; the error names S3’s code', async () => {
    const { handler, seen } = scripted([{ status: 403, body: '<Error><Code>AccessDenied</Code></Error>' }]);
    const err = await put(handler)
      .put('b', 'k', Buffer.from('x'), {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3PutError);
    expect((err as S3PutError).code).toBe('AccessDenied');
    expect(seen).toHaveLength(1);
  });

  it('retries S3’s 400 RequestTimeout (the upload was too slow), and a 429', async () => {
    const { handler, seen } = scripted([
      { status: 400, body: '<Error><Code>RequestTimeout</Code></Error>' },
      { status: 429, body: '<Error><Code>SlowDown</Code></Error>' },
    ]);
    await put(handler, { maxAttempts: 3 }).put('b', 'k', Buffer.from('x'), {});
    expect(seen).toHaveLength(3);
  });

  it('a retry after an attempt that may have landed (timed out) puts the same object again: same key, same bytes', async () => {
    const { handler, seen } = scripted([new Error('socket hang up'), { status: 200 }]);
    const body = Buffer.from('{"parked":true}');
    await put(handler, { maxAttempts: 3 }).put('b', 'parked/heygen/abc.json', body, { 'content-type': 'application/json' });
    expect(seen).toHaveLength(2);
    expect(seen[1]?.path).toBe(seen[0]?.path);
    expect(seen[1]?.hostname).toBe(seen[0]?.hostname);
    expect(Buffer.from(seen[1]?.body as Buffer).equals(body)).toBe(true);
    expect(seen[1]?.headers['x-amz-content-sha256']).toBe(seen[0]?.headers['x-amz-content-sha256']);
  });

  it('gives up after maxAttempts', async () => {
    const { handler, seen } = scripted([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }]);
    await expect(put(handler, { maxAttempts: 3 }).put('b', 'k', Buffer.from('x'), {})).rejects.toBeInstanceOf(S3PutError);
    expect(seen).toHaveLength(3);
  });

  it('stops at once when the request is aborted (the deadline), with the signal’s reason', async () => {
    const controller = new AbortController();
    const handler: RawHttpHandler = {
      handle: () => {
        controller.abort(new Error('deadline'));
        return Promise.reject(new Error('aborted'));
      },
    };
    await expect(put(handler).put('b', 'k', Buffer.from('x'), {}, controller.signal)).rejects.toThrow('deadline');
  });
});
