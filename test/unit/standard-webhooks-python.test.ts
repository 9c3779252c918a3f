/**
 * Issue 20, findings 2 and 3: Standard Webhooks checked against signatures made by implementations
 * we did not write (the Python `standardwebhooks` 1.3.0 and `svix` 2.9.1 packages in the test venv,
 * python/standard_webhooks_sign.py), sent through the ingress (the Lambda's pipeline with the AWS
 * adapters over a mocked SDK, and the local relay over real HTTP, bytes as sent).
 *
 * Each `finding N:` test failed on dfd2de7 (text-decoded HMAC, webhook-* headers only, 16 entries,
 * 256-character ids, any base64 secret taken as a key) and passes after.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import { assertRelayEvent } from '../../functions/core/envelope.js';
import { MAX_ENTRIES, MAX_ID, standardWebhooks } from '../../providers/standard-webhooks/runtime/index.js';
import { readSecret, standardWebhooksSecretProblem } from '../../providers/standard-webhooks/runtime/signature.js';
import { buildAwsHandler, MockAws } from '../support/aws-mocks.js';
import { ctx, errorBody, nowSeconds } from '../support/behaviour-table.js';
import { functionUrlEvent } from '../support/heygen.js';
import { registerSensitive } from '../support/log-capture.js';
import { type PythonLibrary, pythonSign, pythonVerifies, type SignRequest } from '../support/python-standard-webhooks.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
registerSensitive(SECRET, 'secret');

const json = (extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ type: 'video.completed', data: { id: `v_${randomBytes(4).toString('hex')}`, ...extra } }));
/** A JSON body with one byte that is not UTF-8 (0xFF) inside a string. */
const notUtf8 = () =>
  Buffer.concat([
    Buffer.from('{"type":"video.completed","data":{"id":"v_latin1","name":"caf'),
    Buffer.from([0xff]),
    Buffer.from('"}}'),
  ]);

function sign(lib: PythonLibrary, body: Buffer, extra: Partial<SignRequest> = {}): SignRequest {
  return { lib, secret: SECRET, id: `msg_${randomBytes(8).toString('hex')}`, timestamp: nowSeconds(), body, ...extra };
}

/** A Function URL event of the signed delivery, the body base64 as Function URLs send raw bytes. */
function event(body: Buffer, headers: Record<string, string>, path = '/standard-webhooks'): APIGatewayProxyEventV2 {
  return functionUrlEvent(body, { path, signature: null, timestamp: null, base64: true, headers });
}

const aws = new MockAws();
const status = (res: { statusCode?: number; body?: string }) => [
  res.statusCode,
  JSON.parse(res.body ?? '{}').status ?? errorBody(res).code,
];

/** Each body with its Python-signed headers through one ingress, in order: the [status, body status] of each answer. */
async function deliverEach(
  bodies: readonly (Buffer | undefined)[],
  signed: readonly { headers: Record<string, string> }[],
  handler = buildAwsHandler(aws, { provider: standardWebhooks }).handler,
) {
  const results = [];
  for (const [i, s] of signed.entries()) results.push(status(await handler(event(bodies[i] as Buffer, s.headers), ctx())));
  return results;
}

describe('Standard Webhooks against the Python libraries (ingress, AWS adapters over a mocked SDK)', () => {
  beforeEach(() => {
    aws.reset();
    aws.stages.AWSCURRENT = { value: JSON.stringify({ secret: SECRET }) };
  });
  afterEach(() => aws.reset());

  it('finding 2: a genuine delivery whose body is not valid UTF-8 is verified (then parked as invalid_utf8), not 401', async () => {
    const body = notUtf8();
    const [signed] = pythonSign([sign('standardwebhooks', body)]);
    expect(signed?.library_verifies).toBe(true);
    const { handler, parked } = buildAwsHandler(aws, { provider: standardWebhooks });
    const res = await handler(event(body, signed?.headers ?? {}), ctx());
    expect(status(res)).toEqual([202, 'parked']);
    expect(JSON.parse(res.body ?? '{}').reason).toBe('invalid_utf8');
    const kept = [...(parked?.byId.values() ?? [])];
    expect(kept).toHaveLength(1);
    expect(Buffer.from(kept[0]?.body ?? []).equals(body)).toBe(true); // the bytes as sent
  });

  it('finding 2: a signature over a body holding U+FFFD does not verify once 0xFF or 0xC0 stand in its place', async () => {
    const genuine = Buffer.from('{"type":"video.completed","data":{"id":"v_fffd","name":"caf\uFFFD"}}', 'utf8');
    const [signed] = pythonSign([sign('standardwebhooks', genuine)]);
    const headers = signed?.headers ?? {};
    const { handler, parked } = buildAwsHandler(aws, { provider: standardWebhooks });
    const fffd = Buffer.from('\uFFFD', 'utf8');
    const at = genuine.indexOf(fffd);
    const forgeries = [[0xff], [0xc0], [0xed, 0xa0, 0x80]].map((stand) =>
      Buffer.concat([genuine.subarray(0, at), Buffer.from(stand), genuine.subarray(at + fffd.length)]),
    );
    // The reference library refuses them too: the bytes differ.
    expect(pythonVerifies(forgeries.map((body) => ({ lib: 'standardwebhooks', secret: SECRET, headers, body })))).toEqual([
      false,
      false,
      false,
    ]);
    for (const forged of forgeries) {
      const res = await handler(event(forged, headers), ctx());
      expect(status(res)).toEqual([401, 'invalid_signature']);
    }
    expect(parked?.byId.size).toBe(0);
    expect(aws.published).toHaveLength(0);
    // The genuine bytes still verify and publish.
    expect(status(await handler(event(genuine, headers), ctx()))).toEqual([200, 'published']);
  });

  it('finding 2: svix-id, svix-timestamp and svix-signature (signed by the svix package) verify; the svix-id is the delivery id and the dedup key', async () => {
    const body = json();
    const request = sign('svix', body);
    const [signed] = pythonSign([request]);
    expect(signed?.library_verifies).toBe(true);
    expect(Object.keys(signed?.headers ?? {}).sort()).toEqual(['svix-id', 'svix-signature', 'svix-timestamp']);
    const { handler } = buildAwsHandler(aws, { provider: standardWebhooks });
    expect(status(await handler(event(body, signed?.headers ?? {}), ctx()))).toEqual([200, 'published']);
    expect(status(await handler(event(body, signed?.headers ?? {}), ctx()))).toEqual([200, 'duplicate']);
    expect(assertRelayEvent(JSON.parse(aws.published[0]?.Detail ?? '')).deliveryId).toBe(request.id);
    // The svix- timestamp is the signed one: a stale one is refused as stale.
    const [old] = pythonSign([sign('svix', body, { timestamp: nowSeconds() - 3600 })]);
    expect(status(await handler(event(body, old?.headers ?? {}), ctx()))).toEqual([401, 'stale_timestamp']);
  });

  it(`finding 2: the right signature as the 17th entry, and as the ${MAX_ENTRIES}th, verifies; ${MAX_ENTRIES + 1} entries are refused before any key`, async () => {
    const bodies = [json(), json(), json()];
    const requests = [
      sign('standardwebhooks', bodies[0] as Buffer, { decoys: 16 }),
      sign('svix', bodies[1] as Buffer, { decoys: MAX_ENTRIES - 1 }),
      sign('standardwebhooks', bodies[2] as Buffer, { decoys: MAX_ENTRIES }),
    ];
    const signed = pythonSign(requests);
    // The Python libraries accept all three (they read every entry).
    expect(signed.map((s) => s.library_verifies)).toEqual([true, true, true]);
    expect((signed[0]?.headers['webhook-signature'] ?? '').split(' ')).toHaveLength(17);
    expect(await deliverEach(bodies, signed)).toEqual([
      [200, 'published'],
      [200, 'published'],
      [401, 'invalid_signature'],
    ]);
  });

  it(`finding 2: a 257-character id, and one of ${MAX_ID}, verifies and dedups on the whole id; a longer one is refused`, async () => {
    const base = `msg_${'x'.repeat(300)}`;
    const ids = [base.slice(0, 257), `msg_${'y'.repeat(MAX_ID - 4)}`, `msg_${'z'.repeat(MAX_ID - 3)}`];
    const bodies = ids.map(() => json());
    const signed = pythonSign(ids.map((id, i) => sign(i === 1 ? 'svix' : 'standardwebhooks', bodies[i] as Buffer, { id })));
    expect(signed.map((s) => s.library_verifies)).toEqual([true, true, true]);
    const { handler } = buildAwsHandler(aws, { provider: standardWebhooks });
    expect(await deliverEach(bodies, signed, handler)).toEqual([
      [200, 'published'],
      [200, 'published'],
      [401, 'invalid_signature'],
    ]);
    expect(aws.published.map((e) => assertRelayEvent(JSON.parse(e.Detail ?? '')).deliveryId)).toEqual([ids[0], ids[1]]);
    // Another id sharing the first 256 characters is another message (the old code cut ids at 256).
    const sibling = `${base.slice(0, 256)}Q`;
    const [again] = pythonSign([sign('standardwebhooks', bodies[0] as Buffer, { id: sibling })]);
    expect(status(await handler(event(bodies[0] as Buffer, again?.headers ?? {}), ctx()))).toEqual([200, 'published']);
  });
});

describe('Standard Webhooks secrets that can never match are refused as keys (finding 3)', () => {
  /** The spec libraries' test secret and Svix's docs' example. */
  const EXAMPLE = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const refused: [string, string, RegExp][] = [
    ['a secret the library cannot decode (not base64)', 'whsec_not*base64*at*all!!', /cannot decode/],
    ['the spec libraries’ published example secret', EXAMPLE, /published example/],
    ['the published example without its prefix', EXAMPLE.slice('whsec_'.length), /published example/],
    ['an all-zero key', `whsec_${Buffer.alloc(32).toString('base64')}`, /every byte of the key is the same/],
    ['a key of one repeated byte', `whsec_${Buffer.alloc(24, 0xff).toString('base64')}`, /every byte of the key is the same/],
    ['a key of two byte values', `whsec_${Buffer.from('abababababababababababab').toString('base64')}`, /too few distinct bytes/],
    ['a key of 12 bytes', `whsec_${randomBytes(12).toString('base64')}`, /shorter than 16/],
  ];

  it.each(refused)('finding 3: %s is refused with its reason, never its value', (_name, secret, reason) => {
    const problem = standardWebhooksSecretProblem(secret);
    expect(problem).toMatch(reason);
    expect(problem).not.toContain(secret.replace(/^whsec_/, '').slice(0, 8));
  });

  it('finding 3: a random whsec_ secret of the spec’s size (24 bytes) and of Svix’s shape is a key', () => {
    for (let i = 0; i < 200; i++) {
      const b64 = randomBytes(16 + (i % 49)).toString('base64');
      // Padded, unpadded (the Python library pads for itself), without the prefix: one key.
      for (const secret of [`whsec_${b64}`, `whsec_${b64.replace(/=+$/, '')}`, b64])
        expect(readSecret(secret)).toEqual({ key: Buffer.from(b64, 'base64') });
    }
  });

  it('finding 3: the ingress refuses each as a key with a WARN naming the stage and the reason, and answers 503 (not 401 forever)', async () => {
    const body = json();
    // Signed with that very secret (it would verify if it were taken as a key); the one Python cannot read, with ours.
    const signed = pythonSign(
      refused.map(([, secret], i) => ({ ...sign('standardwebhooks', body), secret: i === 0 ? SECRET : secret })),
    );
    for (const [i, [, secret, reason]] of refused.entries()) {
      aws.reset();
      aws.stages.AWSCURRENT = { value: JSON.stringify({ secret }) };
      const reported: [string, string][] = [];
      const { handler } = buildAwsHandler(aws, {
        provider: standardWebhooks,
        keyOptions: { onWeakSecret: (stage, why) => reported.push([stage, why]) },
      });
      const res = await handler(event(body, signed[i]?.headers ?? {}), ctx());
      expect([res.statusCode, errorBody(res).code]).toEqual([503, 'not_configured']);
      expect(reported).toHaveLength(1);
      expect(reported[0]?.[0]).toBe('AWSCURRENT');
      expect(reported[0]?.[1]).toMatch(reason);
    }
  });

  it('finding 3: the local relay refuses them too, its WARN naming the source', () => {
    const warned: [string, string][] = [];
    const keys = new StaticKeySource(
      [EXAMPLE, SECRET],
      'local',
      (label, why) => warned.push([label, why]),
      standardWebhooks.secretProblem,
    );
    return keys.getKeys().then((usable) => {
      expect(usable.map((k) => k.label)).toEqual(['local-1']);
      expect(warned).toEqual([['local', 'a published example key: anyone can sign with it']]);
    });
  });
});

describe('Standard Webhooks bytes over real HTTP (local relay), signed by the Python libraries', () => {
  let relay: LocalRelay;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-swpy-'));
    relay = await startLocalRelay({
      providers: [{ name: 'standard-webhooks', source: 'acme', secrets: [SECRET] }],
      sinkPath: join(dir, 'events.jsonl'),
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
  });
  afterAll(() => relay.close());

  it('finding 2: the body as sent is what is verified: not UTF-8 parks, U+FFFD swapped for 0xFF is 401, svix-* headers publish', async () => {
    const odd = notUtf8();
    const genuine = Buffer.from('{"type":"video.completed","data":{"id":"v_http","name":"\uFFFD"}}', 'utf8');
    const ok = json();
    const [s1, s2, s3] = pythonSign([
      sign('standardwebhooks', odd),
      sign('standardwebhooks', genuine),
      sign('svix', ok, { decoys: 20 }),
    ]);
    const post = (body: Buffer, headers: Record<string, string>) =>
      fetch(`${relay.url}/acme`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).then(
        async (r) => [r.status, ((await r.json()) as { status?: string; error?: { code: string } }).status ?? 'error'],
      );
    expect(await post(odd, s1?.headers ?? {})).toEqual([202, 'parked']);
    const forged = Buffer.from(genuine.toString('latin1').replace('\u00ef\u00bf\u00bd', '\u00ff'), 'latin1');
    expect(await post(forged, s2?.headers ?? {})).toEqual([401, 'error']);
    expect(await post(genuine, s2?.headers ?? {})).toEqual([200, 'published']);
    expect(await post(ok, s3?.headers ?? {})).toEqual([200, 'published']);
  });
});
