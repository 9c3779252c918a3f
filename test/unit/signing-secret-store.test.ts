import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseApiKeySecret,
  readHeyGenApiKey,
  SecretsManagerSigningSecretStore,
} from '../../functions/adapters/aws/signing-secret-store.js';
import { parseStoredSigningSecret, serializeStoredSigningSecret } from '../../functions/core/secret-store.js';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'us-east-1' });
const notFound = () => new ResourceNotFoundException({ $metadata: {}, message: 'not found' });

describe('Class: SecretsManagerSigningSecretStore', () => {
  afterEach(() => sm.reset());

  it('reads AWSCURRENT and parses the JSON the registrar writes', async () => {
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:s', VersionId: 'v1' }).resolves({
      SecretString: '{"secret":"whsec_a","endpointId":"ep_1","url":"https://x/h"}',
    });
    expect(await new SecretsManagerSigningSecretStore(client, 'arn:s').get()).toEqual({
      secret: 'whsec_a',
      endpointId: 'ep_1',
      url: 'https://x/h',
    });
  });

  it('returns null when the secret has no value, and rethrows other errors', async () => {
    const store = new SecretsManagerSigningSecretStore(client, 'arn:s');
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } });
    sm.on(GetSecretValueCommand)
      .rejectsOnce(notFound())
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await store.get()).toBeNull();
    await expect(store.get()).rejects.toThrow('denied');
  });

  it('writes compare-and-set: a new version under a fresh token, then AWSCURRENT moved from the version read', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"secret":"whsec_a"}' });
    const secret = 'whsec_bK9dkq2LmZp4xTr7Yw1';
    const version = await new SecretsManagerSigningSecretStore(client, 'arn:s').put(
      { url: 'https://x/h', endpointId: 'ep_1', secret },
      'v1',
    );
    const put = sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put).toEqual({
      SecretId: 'arn:s',
      ClientRequestToken: version,
      SecretString: `{"secret":"${secret}","endpointId":"ep_1","url":"https://x/h"}`,
      VersionStages: ['RELAY_STAGED'],
    });
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toEqual({
      SecretId: 'arn:s',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: version,
      RemoveFromVersionId: 'v1',
    });
  });

  it('refuses a placeholder secret before writing anything', async () => {
    await expect(
      new SecretsManagerSigningSecretStore(client, 'arn:s').put(
        { url: 'https://x/h', endpointId: 'ep_1', secret: 'whsec_...' },
        'v1',
      ),
    ).rejects.toThrow(/refusing to store a signing secret/);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

describe('Function: parseStoredSigningSecret', () => {
  it('accepts JSON, plain strings and the empty placeholder', () => {
    expect(parseStoredSigningSecret('whsec_plain')).toEqual({ secret: 'whsec_plain', endpointId: null, url: null });
    expect(parseStoredSigningSecret('{"secret":null}')).toEqual({ secret: null, endpointId: null, url: null });
    expect(parseStoredSigningSecret('  ')).toBeNull();
    expect(parseStoredSigningSecret('{broken')).toBeNull();
    const v = { secret: 's', endpointId: 'e', url: 'u' };
    expect(parseStoredSigningSecret(serializeStoredSigningSecret(v))).toEqual(v);
  });
});

describe('Function: parseApiKeySecret / readHeyGenApiKey', () => {
  afterEach(() => sm.reset());

  it('reads plain and JSON keys and treats placeholders as unset', () => {
    expect(parseApiKeySecret('sk_live_123')).toBe('sk_live_123');
    expect(parseApiKeySecret('{"apiKey":"sk_1"}')).toBe('sk_1');
    expect(parseApiKeySecret('{"HEYGEN_API_KEY":"sk_2"}')).toBe('sk_2');
    for (const unset of ['{"apiKey":null}', '', 'REPLACE_ME', '<your HeyGen key>', 'changeme', '{oops'])
      expect(parseApiKeySecret(unset)).toBeNull();
  });

  it('returns null when the API-key secret has no value', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    expect(await readHeyGenApiKey(client, 'arn:k')).toBeNull();
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'sk_live' });
    expect(await readHeyGenApiKey(client, 'arn:k')).toBe('sk_live');
  });
});
