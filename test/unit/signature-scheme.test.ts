import { describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import type { RelayEvent } from '../../functions/core/envelope.js';
import { SignatureVerificationError } from '../../functions/core/errors.js';
import { createIngress } from '../../functions/core/ingress.js';
import { hmacHexBody, type SignatureScheme, sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import type { ProviderIngress } from '../../providers/types.js';
import { captureTelemetry } from '../support/aws-mocks.js';

/**
 * The core's hooks for a provider that signs otherwise than a hex HMAC of the body in one header,
 * and keys its events on a header: a toy scheme (the signature is HMAC(secret, id + body) in
 * `x-sig`; the event key is `x-id`) that only these hooks can make work.
 */
const toyScheme: SignatureScheme = {
  precheck(_body, headers) {
    if (!headers['x-sig'] || !headers['x-id']) throw new SignatureVerificationError('missing_signature', 'x-sig or x-id missing');
  },
  match: (keys, body, headers) =>
    keys.find((k) => sign(k.secret, Buffer.concat([Buffer.from(headers['x-id'] ?? ''), body])) === headers['x-sig']),
};
const toy: ProviderIngress = {
  name: 'toy',
  signatureHeader: 'x-sig',
  signature: toyScheme,
  answerWithinMs: 5000,
  defaultTimestampToleranceSeconds: 0,
  requiresTimestamp: false,
  defaultDedupMode: 'claim',
  normalize: (body) => ({
    type: 'toy.event',
    subject: { kind: 'toy', id: null },
    callbackId: null,
    deliveryId: null,
    data: JSON.parse(body.toString()),
  }),
  eventKey: (_body, headers) => `toy:${headers['x-id']}`,
};

function pipeline(provider: ProviderIngress) {
  const published: RelayEvent[] = [];
  const ingress = createIngress({
    maxBodyBytes: 4096,
    publisher: { publish: async (e) => void published.push(e) },
    telemetry: captureTelemetry(),
    routes: [
      {
        provider,
        path: `/${provider.name}`,
        keys: new StaticKeySource(['toy-secret-0123456789abcdef']),
        timestampToleranceSeconds: 0,
        budgetMs: 1000,
        dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'claim' }),
      },
    ],
  });
  return { ingress, published };
}

describe('Function: a provider brings its own signature scheme and event key', () => {
  const send = (
    ingress: ReturnType<typeof pipeline>['ingress'],
    id: string,
    body: string,
    secret = 'toy-secret-0123456789abcdef',
  ) =>
    ingress({
      method: 'POST',
      path: '/toy',
      headers: { 'x-id': id, 'x-sig': sign(secret, Buffer.concat([Buffer.from(id), Buffer.from(body)])) },
      body: Buffer.from(body),
      requestId: 'r',
    });

  it('verifies with the provider scheme and dedups on the key it derives from headers', async () => {
    const { ingress, published } = pipeline(toy);
    const first = await send(ingress, 'msg_1', '{"n":1}');
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ status: 'published', id: 'toy:msg_1' });
    // Other bytes, same id: a duplicate (a body key would have published it again).
    const again = await send(ingress, 'msg_1', '{"n": 1}');
    expect(JSON.parse(again.body).status).toBe('duplicate');
    expect(published.map((e) => e.id)).toEqual(['toy:msg_1']);
  });

  it("answers the scheme's refusals: wrong key 401 invalid_signature, precheck 401 missing_signature", async () => {
    const { ingress, published } = pipeline(toy);
    const wrong = await send(ingress, 'msg_2', '{}', 'another-secret-0123456789');
    expect([wrong.statusCode, JSON.parse(wrong.body).error.code]).toEqual([401, 'invalid_signature']);
    const missing = await ingress({ method: 'POST', path: '/toy', headers: {}, body: Buffer.from('{}'), requestId: 'r' });
    expect([missing.statusCode, JSON.parse(missing.body).error.code]).toEqual([401, 'missing_signature']);
    expect(published).toHaveLength(0);
  });

  it('hmacHexBody is the default: a hex HMAC of the body in the header, malformed refused before any key', () => {
    const scheme = hmacHexBody('heygen-signature');
    expect(hmacHexBody('heygen-signature')).toBe(scheme);
    const body = Buffer.from('{}');
    const key = { secret: 'k-0123456789abcdef', label: 'AWSCURRENT' as const };
    expect(scheme.match([key], body, { 'heygen-signature': sign(key.secret, body) })).toBe(key);
    expect(() => scheme.precheck(body, {})).toThrowError(/missing/);
    expect(() => scheme.precheck(body, { 'heygen-signature': 'zz' })).toThrowError(SignatureVerificationError);
    expect(heygen.signature).toBeUndefined();
  });
});
