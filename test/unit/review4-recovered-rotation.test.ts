/**
 * Issue 19, chaos `--seed -680817482 --path 301` (`lockout`): a Secrets Manager rotation whose
 * createSecret died after HeyGen's rotate-secret answered leaves two things behind: the lease's intent
 * (its Idempotency-Key is the rotation's token) and the rotation's staged AWSPENDING version, empty.
 * The registrar's next run replays the intent (same key) and stores HeyGen's answer as AWSCURRENT.
 * Secrets Manager later reattempts the incomplete rotation with the same token; within HeyGen's 24 h
 * replay window its createSecret sent that key again and HeyGen answered with the secret of the first
 * call, which a later write (a heal, a person's rotation) had killed meanwhile: finishSecret made the
 * dead secret current and the ingress refused every delivery (a lockout no proof could heal within the
 * 24 h heal limit). Fixed in registrar.ts recoverLeftover: once it stored a rotation's change it drops
 * that rotation's staged version, so the reattempt finds it superseded and sends no key again.
 */
import { describe, expect, it } from 'vitest';
import { SecretsManagerSigningSecretStore } from '../../functions/adapters/aws/signing-secret-store.js';
import { MemoryLeaseStore } from '../../functions/core/lease.js';
import { serializeStoredSigningSecret } from '../../functions/core/secret-store.js';
import { reconcile } from '../../providers/heygen/runtime/registrar.js';
import { type RotationStep, rotationStep } from '../../providers/heygen/runtime/rotation.js';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { useFakeHeyGen } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';
const EVENTS = ['avatar_video.success', 'avatar_video.fail'];
const HOUR = 3_600_000;
const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

describe('review4: a rotation whose HeyGen call the registrar recovered is not replayed later', () => {
  const hg = useFakeHeyGen();
  const { clock } = hg;

  it("recovered-rotation-not-replayed: Secrets Manager's reattempt of a rotation the registrar recovered, after a later write, leaves HeyGen's live secret current (chaos --seed -680817482 --path 301)", async () => {
    const sm = new FakeSecretsManager({ now: () => clock.t });
    try {
      const ep = hg.fake.seedEndpoint(URL_A, EVENTS);
      sm.create('sig', serializeStoredSigningSecret({ secret: ep.secret, endpointId: ep.endpoint_id, url: URL_A }));
      const lease = { store: new MemoryLeaseStore(() => clock.t), name: 'heygen:sig', now: () => clock.t };
      const store = new SecretsManagerSigningSecretStore(sm.client, 'sig');
      const live = () => hg.fake.endpoints.get(ep.endpoint_id)?.secret;
      const stored = () => (JSON.parse(sm.value('sig') as string) as { secret: string }).secret;
      const token = sm.stageRotation('sig'); // Secrets Manager starts a rotation: its version staged, empty
      const step = (Step: RotationStep) =>
        rotationStep(
          { SecretId: 'sig', ClientRequestToken: token, Step },
          { secrets: sm.client, heygen: hg.client, endpointUrl: URL_A, lease },
        );
      // createSecret: HeyGen rotates (the intent is recorded first), then storing its answer fails.
      sm.failNext('PutSecretValue', new Error('the rotation function died'));
      await expect(step('createSecret')).rejects.toThrow(/died/);
      const issued = live();
      expect(stored()).not.toBe(issued);
      // The registrar's next run replays the intent under the same key and stores HeyGen's answer.
      clock.t += 2 * HOUR;
      const register = () => reconcile({ url: URL_A, events: EVENTS }, { client: hg.client, secretStore: store, lease });
      expect((await register()).outcome).toBe('changed');
      expect(stored()).toBe(issued);
      // A later write: a person rotates in HeyGen's dashboard and pastes the new secret (one writer, stored).
      clock.t += 2 * HOUR;
      const next = await hg.client.rotateSecret(ep.endpoint_id, { idempotencyKey: 'dash-later-write' });
      await store.put({ secret: next.secret, endpointId: ep.endpoint_id, url: URL_A }, (await store.read()).version);
      expect(stored()).toBe(live());
      // Secrets Manager reattempts the incomplete rotation (same token) well within HeyGen's 24 h.
      clock.t += 10 * HOUR;
      for (const Step of STEPS) await step(Step);
      expect(stored()).toBe(live()); // the old code made the replayed, dead secret current: a lockout
      expect(sm.value('sig', 'AWSPENDING')).toBeUndefined(); // and leaves no retired secret accepted
      expect((await register()).outcome).toBe('in_sync');
    } finally {
      sm.mock.restore();
    }
  });
});
