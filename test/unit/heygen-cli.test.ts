import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { FAKE_API_KEY } from '../fakes/heygen-api.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';

describe('CLI: heygen-relay', () => {
  const hg = useFakeHeyGenServer();
  let dir: string;
  let out: string[];
  let errs: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heygen-cli-'));
    out = [];
    errs = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const io = (extra: Partial<CliIo> = {}): CliIo => ({
    env: { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: hg.fake.url },
    out: (l) => out.push(l),
    err: (l) => errs.push(l),
    ...extra,
  });

  it('reconcile creates the endpoint and writes the secret file (0600); a rerun has nothing to do', async () => {
    const file = join(dir, 'secret.json');
    const args = ['reconcile', '--endpoint-url', URL_A, '--events', 'avatar_video.success', '--secret-file', file];
    expect(await main(args, io())).toBe(0);
    const [ep] = hg.fake.endpointsFor(URL_A);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      secret: ep?.secret,
      endpointId: ep?.endpoint_id,
      url: URL_A,
      version: expect.any(String),
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(out.join('\n')).toMatch(/did create an endpoint/);
    out = [];
    expect(await main(args, io())).toBe(0);
    expect(out.join('\n')).toMatch(/nothing to do/);
  });

  it('reconcile --dry-run prints the plan and changes nothing; --json is machine-readable', async () => {
    hg.fake.seedEndpoint(URL_A, ['avatar_video.fail']);
    expect(await main(['reconcile', '--endpoint-url', URL_A, '--events', 'all', '--dry-run'], io())).toBe(0);
    expect(out).toEqual(
      expect.arrayContaining([expect.stringMatching(/would update events/), expect.stringMatching(/would rotate/)]),
    );
    out = [];
    expect(await main(['reconcile', '--endpoint-url', URL_A, '--dry-run', '--json'], io())).toBe(0);
    const summary = JSON.parse(out.join('\n'));
    expect(summary.outcome).toBe('planned');
    expect(summary.actions.map((a: { type: string }) => a.type)).toEqual(['rotate']); // events untouched without --events
    expect(hg.fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('rotate with --secret-file rotates at HeyGen and stores the new secret', async () => {
    const file = join(dir, 'secret.json');
    await main(['reconcile', '--endpoint-url', URL_A, '--secret-file', file], io());
    const before = JSON.parse(await readFile(file, 'utf8'));
    expect(await main(['rotate', '--secret-file', file], io())).toBe(0);
    const after = JSON.parse(await readFile(file, 'utf8'));
    expect(after.secret).not.toBe(before.secret);
    expect(after.secret).toBe(hg.fake.endpoints.get(before.endpointId)?.secret);
  });

  it('rotate with a Secrets Manager secret starts the managed rotation; --stack reads the outputs', async () => {
    const smMock = mockClient(SecretsManagerClient);
    const cfMock = mockClient(CloudFormationClient);
    try {
      smMock.on(RotateSecretCommand).resolves({ VersionId: 'v-123' });
      cfMock.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 'Relay',
            CreationTime: new Date(),
            StackStatus: 'CREATE_COMPLETE',
            Outputs: [
              { OutputKey: 'RelayHeyGenWebhookUrl1A2B3C4D', OutputValue: URL_A },
              {
                OutputKey: 'RelayJoggAiSigningSecretArn0BADF00D',
                OutputValue: 'arn:aws:secretsmanager:us-east-1:1:secret:j-XyZ',
              },
              {
                OutputKey: 'RelaySigningSecretArnDEADBEEF',
                OutputValue: 'arn:aws:secretsmanager:us-east-1:1:secret:s-AbC',
              },
            ],
          },
        ],
      });
      const code = await main(
        ['rotate', '--stack', 'Relay'],
        io({
          secretsManager: () => new SecretsManagerClient({ region: 'us-east-1' }),
          cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }),
        }),
      );
      expect(code).toBe(0);
      expect(smMock.commandCalls(RotateSecretCommand)[0]?.args[0].input).toEqual({
        SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:s-AbC',
        RotateImmediately: true,
      });
      expect(out.join()).toMatch(/started rotation .* v-123/);
    } finally {
      smMock.restore();
      cfMock.restore();
    }
  });

  it('exits 2 without an API key and 64 on usage errors', async () => {
    expect(await main(['reconcile', '--endpoint-url', URL_A, '--dry-run'], io({ env: { HEYGEN_API_URL: hg.fake.url } }))).toBe(2);
    expect(errs).toEqual([expect.stringMatching(/^error: .*set the HEYGEN_API_KEY environment variable/)]);
    expect(await main(['reconcile'], io())).toBe(64);
    expect(await main(['reconcile', '--endpoint-url', 'http://insecure.example.com'], io())).toBe(64);
    expect(await main(['frobnicate'], io())).toBe(64);
    expect(await main(['reconcile', '--bogus'], io())).toBe(64);
  });

  it('lists event types', async () => {
    expect(await main(['event-types'], io())).toBe(0);
    expect(out).toHaveLength(30);
  });
});

describe('bin/cli.ts (`npm run cli`; the package runs its compiled form, test/package/install.test.ts)', () => {
  it('prints the usage', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      join(__dirname, '..', '..', 'bin', 'cli.ts'),
      '--help',
    ]);
    expect(stdout).toMatch(/Usage: heygen-relay/);
  });
});
