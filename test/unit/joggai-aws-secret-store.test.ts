/** The JoggAI secret store on Secrets Manager stages, with the ingress's key source reading the same secret. */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerKeySource } from '../../functions/adapters/aws/secrets-key-source.js';
import { JoggAiClient } from '../../functions/providers/joggai/api/client.js';
import { readJoggAiApiKey, SecretsManagerJoggAiSecretStore } from '../../functions/providers/joggai/aws-secret-store.js';
import { reconcileJoggAi } from '../../functions/providers/joggai/registrar.js';
import { rotateJoggAi } from '../../functions/providers/joggai/rotation.js';
import { FakeJoggAi } from '../fakes/joggai-api.js';

/** A stateful Secrets Manager: versions with staging labels, AWSPREVIOUS moved like the service does. */
class FakeSecrets {
  readonly sm = mockClient(SecretsManagerClient);
  versions = new Map<string, { value: string; stages: Set<string>; created: Date }>();
  private n = 0;
  reset(): void {
    this.sm.reset();
    this.versions.clear();
    const move = (stage: string, to: string) => {
      if (stage === 'AWSCURRENT') {
        const old = [...this.versions.entries()].find(([, v]) => v.stages.has('AWSCURRENT'))?.[0];
        if (old && old !== to) {
          for (const v of this.versions.values()) v.stages.delete('AWSPREVIOUS');
          this.versions.get(old)?.stages.add('AWSPREVIOUS');
        }
      }
      for (const v of this.versions.values()) v.stages.delete(stage);
      this.versions.get(to)?.stages.add(stage);
    };
    this.sm.on(PutSecretValueCommand).callsFake((i) => {
      const id = i.ClientRequestToken ?? `v${++this.n}`;
      if (!this.versions.has(id)) this.versions.set(id, { value: i.SecretString, stages: new Set(), created: new Date() });
      for (const stage of i.VersionStages ?? ['AWSCURRENT']) move(stage, id);
      return { VersionId: id };
    });
    this.sm.on(GetSecretValueCommand).callsFake((i) => {
      const stage = i.VersionStage ?? 'AWSCURRENT';
      const found = [...this.versions.entries()].find(([, v]) => v.stages.has(stage));
      if (!found) throw new ResourceNotFoundException({ message: 'no such version', $metadata: {} });
      return { SecretString: found[1].value, VersionId: found[0], CreatedDate: found[1].created };
    });
    this.sm.on(DescribeSecretCommand).callsFake(() => ({
      VersionIdsToStages: Object.fromEntries([...this.versions.entries()].map(([id, v]) => [id, [...v.stages]])),
    }));
    this.sm.on(UpdateSecretVersionStageCommand).callsFake((i) => {
      if (i.MoveToVersionId) move(i.VersionStage, i.MoveToVersionId);
      else if (i.RemoveFromVersionId) this.versions.get(i.RemoveFromVersionId)?.stages.delete(i.VersionStage);
      return {};
    });
  }
  stagesOf(endpointId: string): string[] {
    const v = [...this.versions.values()].find((x) => x.value.includes(endpointId));
    return v ? [...v.stages].sort() : [];
  }
}

const RELAY = 'https://abc.lambda-url.us-east-1.on.aws/joggai';

describe('SecretsManagerJoggAiSecretStore', () => {
  const secrets = new FakeSecrets();
  const fake = new FakeJoggAi();
  let client: JoggAiClient;
  beforeAll(async () => {
    client = new JoggAiClient({ apiKey: fake.apiKey, baseUrl: await fake.start() });
  });
  afterAll(async () => {
    secrets.sm.restore();
    await fake.stop();
  });
  beforeEach(() => {
    secrets.reset();
    fake.endpoints.clear();
  });
  const sm = () => new SecretsManagerClient({ region: 'us-east-1' });
  const ingressKeys = async () => {
    const source = new SecretsManagerKeySource(sm(), 'joggai-secret', { cacheTtlMs: 0, minRefreshIntervalMs: 0 });
    return (await source.getKeys()).map((k) => k.label);
  };

  it('reads nothing from an empty-safe secret, then holds current and pending as AWSCURRENT and AWSPENDING', async () => {
    await sm().send(new PutSecretValueCommand({ SecretId: 'joggai-secret', SecretString: '{"secret":null}' }));
    const store = new SecretsManagerJoggAiSecretStore(sm(), 'joggai-secret');
    expect(await store.get()).toEqual({ current: null, pending: null });
    const a = { secret: 'whsec_a', endpointId: 'wh_a', url: RELAY };
    const b = { secret: 'whsec_b', endpointId: 'wh_b', url: `${RELAY}/r1` };
    await store.putCurrent(a);
    await store.putPending(b);
    await store.putPending(b); // idempotent: same token
    expect(await store.get()).toEqual({ current: a, pending: b });
    expect(await ingressKeys()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    await store.promotePending();
    expect(await store.get()).toEqual({ current: b, pending: null });
    expect(secrets.stagesOf('wh_a')).toEqual(['AWSPREVIOUS']);
    expect(await ingressKeys()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']); // old secret accepted in the grace period
    await store.promotePending(); // nothing pending: no-op
    expect(secrets.stagesOf('wh_b')).toEqual(['AWSCURRENT']);
  });

  it('runs a full reconcile + rotation on Secrets Manager stages, the ingress accepting the right secrets at each step', async () => {
    const store = new SecretsManagerJoggAiSecretStore(sm(), 'joggai-secret');
    await reconcileJoggAi({ url: RELAY }, { client, store });
    const first = (await store.get()).current;
    let duringOverlap: string[] = [];
    const res = await rotateJoggAi(
      { url: RELAY },
      {
        client,
        store,
        overlap: async () => {
          duringOverlap = await ingressKeys();
        },
      },
    );
    expect(duringOverlap).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(res).toMatchObject({ from: { endpointId: first?.endpointId }, to: { url: `${RELAY}/r1` }, oldDeleted: true });
    expect((await store.get()).current?.endpointId).toBe(res.to.endpointId);
    expect([...fake.endpoints.keys()]).toEqual([res.to.endpointId]);
  });

  it('reads the API key as plain text or {"apiKey"}, and null when unset', async () => {
    for (const [value, expected] of [
      ['jk_plain', 'jk_plain'],
      ['{"apiKey":"jk_json"}', 'jk_json'],
      ['{"apiKey":null}', null],
      ['   ', null],
    ] as const) {
      secrets.reset();
      await sm().send(new PutSecretValueCommand({ SecretId: 'k', SecretString: value }));
      expect(await readJoggAiApiKey(sm(), 'k')).toBe(expected);
    }
    secrets.reset(); // a secret without any value yet: ResourceNotFoundException
    expect(await readJoggAiApiKey(sm(), 'k')).toBeNull();
  });
});
