import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeStoredSigningSecret } from '../../functions/core/secret-store.js';
import { HeyGenWebhookClient } from '../../providers/heygen/runtime/api/client.js';
import {
  RotationError,
  type RotationEvent,
  rotationIdempotencyKey,
  rotationStep,
} from '../../providers/heygen/runtime/rotation.js';
import { FAKE_API_KEY, type FakeEndpoint } from '../fakes/heygen-api.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { startVerifyingReceiver, type VerifyingReceiver } from '../fakes/verifying-receiver.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const NAME = 'heygen-signing';
const EVENT = { event_type: 'avatar_video.success', event_data: { video_id: 'v1', url: 'https://x/v1.mp4' } };

describe('Function: rotationStep', () => {
  const hg = useFakeHeyGenServer();
  let sm: FakeSecretsManager;
  let heygen: HeyGenWebhookClient;
  let ep: FakeEndpoint;
  let receiver: VerifyingReceiver;
  beforeEach(async () => {
    sm = new FakeSecretsManager();
    heygen = new HeyGenWebhookClient({ apiKey: FAKE_API_KEY, baseUrl: hg.fake.url, sleep: async () => {} });
    ep = hg.fake.seedEndpoint(URL_A, ['avatar_video.success']);
    sm.create(NAME, serializeStoredSigningSecret({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A }));
    receiver = await startVerifyingReceiver(() => sm.liveValues(NAME));
  });
  afterEach(async () => {
    sm.mock.restore();
    await receiver.close();
  });

  const handler = (event: RotationEvent) => rotationStep(event, { secrets: sm.client, heygen, endpointUrl: URL_A });

  it('rotates through the four steps; HeyGen gets the token as Idempotency-Key', async () => {
    const before = ep.secret;
    const { token } = await sm.rotate(NAME, handler);
    const current = JSON.parse(sm.value(NAME) as string);
    expect(current).toEqual({
      secret: hg.fake.endpoints.get(ep.endpoint_id)?.secret,
      endpointId: ep.endpoint_id,
      url: URL_A,
      replaces: expect.any(String),
    });
    expect(current.secret).not.toBe(before);
    expect(JSON.parse(sm.value(NAME, 'AWSPREVIOUS') as string).secret).toBe(before);
    expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(2);
    expect(hg.fake.requestsTo('POST', /rotate-secret$/).map((r) => r.headers['idempotency-key'])).toEqual([token]);
    // A delivery signed with HeyGen's current secret verifies at once.
    const d = await hg.fake.deliver(ep.endpoint_id, receiver.url, EVENT);
    expect(d.statuses).toEqual([200]);
  });

  it('does nothing on a retried createSecret once AWSPENDING exists', async () => {
    const token = sm.stageRotation(NAME);
    const event = { SecretId: NAME, ClientRequestToken: token, Step: 'createSecret' };
    expect(await handler(event)).toBe('rotated');
    expect(await handler(event)).toBe('pending_exists');
    expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(2);
    expect(hg.fake.requestsTo('POST', /rotate-secret$/)).toHaveLength(1);
  });

  it('recovers the same secret after a crash between HeyGen answer and storing it (no lockout)', async () => {
    sm.failNext('PutSecretValue', new Error('Task timed out after 30.00 seconds'));
    const deliveries: Promise<{ delivered: boolean; statuses: number[] }>[] = [];
    const errors: string[] = [];
    const { token, stepTries } = await sm.rotate(NAME, handler, {
      onStepError: (step, err) => {
        errors.push(`${step}: ${(err as Error).message}`);
        // In the gap: HeyGen already signs with the new secret, which we have not stored.
        deliveries.push(hg.fake.deliver(ep.endpoint_id, receiver.url, EVENT, { backoffBaseMs: 5 }));
      },
    });
    expect(errors).toEqual(['createSecret: Task timed out after 30.00 seconds']);
    expect(stepTries.createSecret).toBe(2);
    // One rotation at HeyGen only: the retry got the replayed secret.
    expect(hg.fake.issuedSecrets.get(ep.endpoint_id)).toHaveLength(2);
    const keys = hg.fake.requestsTo('POST', /rotate-secret$/).map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([token, token]);
    expect(JSON.parse(sm.value(NAME) as string).secret).toBe(hg.fake.endpoints.get(ep.endpoint_id)?.secret);
    const [gap] = await Promise.all(deliveries);
    expect(gap?.delivered).toBe(true); // rejected while the secret was unknown, accepted on HeyGen's retry
    const after = await hg.fake.deliver(ep.endpoint_id, receiver.url, EVENT);
    expect(after.statuses).toEqual([200]);
  });

  it('treats a retried finishSecret as done', async () => {
    const { token } = await sm.rotate(NAME, handler);
    expect(await handler({ SecretId: NAME, ClientRequestToken: token, Step: 'finishSecret' })).toBe('already_current');
  });

  it('setSecret does nothing; testSecret rejects a malformed pending value', async () => {
    const token = sm.stageRotation(NAME);
    expect(await handler({ SecretId: NAME, ClientRequestToken: token, Step: 'setSecret' })).toBe('set_noop');
    await sm.client.send(
      new PutSecretValueCommand({
        SecretId: NAME,
        ClientRequestToken: token,
        SecretString: JSON.stringify({ secret: 'bad secret', endpointId: ep.endpoint_id, url: URL_A }),
        VersionStages: ['AWSPENDING'],
      }),
    );
    await expect(handler({ SecretId: NAME, ClientRequestToken: token, Step: 'testSecret' })).rejects.toBeInstanceOf(
      RotationError,
    );
  });

  it('fails createSecret clearly without an API key and without touching HeyGen', async () => {
    const token = sm.stageRotation(NAME);
    const err = await rotationStep(
      { SecretId: NAME, ClientRequestToken: token, Step: 'createSecret' },
      { secrets: sm.client, heygen: null, apiKeySecretName: 'heygen-api-key' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toContain('heygen-api-key');
    expect(hg.fake.requests).toEqual([]);
  });

  it('fails createSecret when the endpoint was deleted behind our back', async () => {
    hg.fake.deleteBehindOurBack(ep.endpoint_id);
    const token = sm.stageRotation(NAME);
    await expect(handler({ SecretId: NAME, ClientRequestToken: token, Step: 'createSecret' })).rejects.toThrow(
      /no longer exists/,
    );
  });

  it('finds the endpoint by URL when the stored value names none', async () => {
    const sm2 = new FakeSecretsManager();
    sm2.create('plain', ep.secret); // plain-string secret
    const { token } = await sm2.rotate('plain', (e) => rotationStep(e, { secrets: sm2.client, heygen, endpointUrl: URL_A }));
    expect(JSON.parse(sm2.value('plain') as string)).toMatchObject({ endpointId: ep.endpoint_id, url: URL_A });
    expect(token).toBeTruthy();
    sm2.mock.restore();
  });

  it('completes without rotating when no endpoint is registered yet', async () => {
    const sm2 = new FakeSecretsManager();
    sm2.create('empty', JSON.stringify({ secret: null }));
    await sm2.rotate('empty', (e) =>
      rotationStep(e, { secrets: sm2.client, heygen, endpointUrl: 'https://not-registered.example.com/h' }),
    );
    expect(sm2.value('empty')).toBe(JSON.stringify({ secret: null }));
    expect(hg.fake.requestsTo('POST', /rotate-secret$/)).toEqual([]);
    sm2.mock.restore();
  });

  it('does nothing for tokens that are not AWSPENDING (cancelled or superseded); refuses secrets without rotation enabled', async () => {
    expect(await handler({ SecretId: NAME, ClientRequestToken: 'nope', Step: 'createSecret' })).toBe('superseded');
    expect(hg.fake.requestsTo('POST', /rotate-secret$/)).toEqual([]);
    const sm2 = new FakeSecretsManager();
    sm2.create('off', 'x', false);
    const token = sm2.stageRotation('off');
    await expect(
      rotationStep({ SecretId: 'off', ClientRequestToken: token, Step: 'createSecret' }, { secrets: sm2.client, heygen }),
    ).rejects.toThrow(/rotation enabled/);
    sm2.mock.restore();
  });
});

describe('Function: rotationIdempotencyKey', () => {
  it('uses a UUID token as is and hashes anything outside the spec pattern', () => {
    expect(rotationIdempotencyKey('550e8400-e29b-41d4-a716-446655440000')).toBe('550e8400-e29b-41d4-a716-446655440000');
    expect(rotationIdempotencyKey('a token/with*odd chars')).toMatch(/^sm-[0-9a-f]{64}$/);
  });
});
