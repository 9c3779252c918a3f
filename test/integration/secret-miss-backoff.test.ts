/**
 * Issue 20, finding 4 (Secrets Manager part), on moto with the real SDK v3: well-formed wrong
 * signatures used to re-read every stage of the secret (2 GetSecretValue) once a second per route
 * per execution environment, whatever their rate. A miss now checks the versions (one
 * DescribeSecret) and re-reads the values only when AWSCURRENT or AWSPENDING moved; while the
 * versions stay unchanged the check backs off to once per 8 s. A genuine new version is still
 * taken up within 8 s of being stored during a flood, and on the first miss after a quiet spell.
 * Calls are counted on the wire (a middleware on the client); the key source's clock is simulated.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { MemoryDedupStore } from '../../functions/adapters/local/memory-dedup.js';
import { createIngress } from '../../functions/core/ingress.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { answerBudgetMs } from '../../providers/runtime.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { awsClientConfig } from '../support/moto.js';

const newSecret = () => `whsec_${randomBytes(24).toString('hex')}`;
let client: SecretsManagerClient;
const calls: Record<string, number> = {};
const created: string[] = [];

beforeAll(() => {
  client = new SecretsManagerClient(awsClientConfig(inject('motoEndpoint')));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls[context.commandName as string] = (calls[context.commandName as string] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
});
afterAll(async () => {
  for (const id of created) await client.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }));
});

const reads = () => (calls.GetSecretValueCommand ?? 0) + (calls.DescribeSecretCommand ?? 0);

async function relay(first: string) {
  const name = `miss-backoff-${randomUUID()}`;
  await client.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ secret: first }) }));
  created.push(name);
  let clock = Date.now();
  const pipeline = createIngress({
    maxBodyBytes: 256 * 1024,
    publisher: { publish: async () => {} },
    telemetry: captureTelemetry(),
    routes: [
      {
        provider: heygen,
        path: '/heygen',
        keys: new SecretsManagerKeySource(client, name, { now: () => clock }),
        timestampToleranceSeconds: 0,
        budgetMs: answerBudgetMs(heygen),
        dedup: new MemoryDedupStore({ windowSeconds: 3600, lockSeconds: 15, mode: 'record' }),
      },
    ],
  });
  let n = 0;
  const deliver = async (secret: string) => {
    const body = Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: `v${n++}` } }));
    return (
      await pipeline({
        method: 'POST',
        path: '/heygen',
        headers: { 'heygen-signature': sign(secret, body) },
        body,
        requestId: 'r',
      })
    ).statusCode;
  };
  return {
    deliver,
    advance: (ms: number) => {
      clock += ms;
    },
    rotate: (secret: string) =>
      client.send(new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify({ secret }) })),
  };
}

describe('Finding 4: bad signatures cost a bounded number of Secrets Manager calls', () => {
  it('a flood of 5 bad signatures/s for 120 s makes at most one call per 8 s (was 2 GetSecretValue a second)', async () => {
    const current = newSecret();
    const r = await relay(current);
    expect(await r.deliver(current)).toBe(200);
    const before = reads();
    for (let i = 0; i < 600; i++) {
      r.advance(200);
      expect(await r.deliver(newSecret())).toBe(401);
    }
    const made = reads() - before;
    // Checks at 1, 3, 7, 15, 23, ... s: 120 / 8 + 4, one DescribeSecret each (the old code: 240).
    expect(made).toBeLessThanOrEqual(120 / 8 + 4);
    expect(made).toBeGreaterThan(0);
  });

  it('a genuine new version verifies within 8 s of being stored, during the flood', async () => {
    const first = newSecret();
    const next = newSecret();
    const r = await relay(first);
    expect(await r.deliver(first)).toBe(200);
    for (let i = 0; i < 300; i++) {
      r.advance(200);
      await r.deliver(newSecret());
    }
    await r.rotate(next);
    let waited = 0;
    while ((await r.deliver(next)) !== 200) {
      expect(waited).toBeLessThan(8_000);
      r.advance(200);
      waited += 200;
      await r.deliver(newSecret());
    }
    // The replaced secret is AWSPREVIOUS now, still accepted within its grace.
    expect(await r.deliver(first)).toBe(200);
  });

  it('after a quiet spell the first miss re-reads: a rotation is taken up at once', async () => {
    const first = newSecret();
    const next = newSecret();
    const r = await relay(first);
    expect(await r.deliver(first)).toBe(200);
    for (let i = 0; i < 100; i++) {
      r.advance(200);
      await r.deliver(newSecret());
    }
    r.advance(60_000); // quiet: no miss for a minute
    await r.rotate(next);
    expect(await r.deliver(next)).toBe(200);
  });
});
