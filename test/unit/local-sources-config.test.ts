/**
 * The config file of `npm start -- --config <file>` (functions/adapters/local/sources-config.ts):
 * what it accepts, and one line naming the source and the field for each mistake.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { localSources } from '../../functions/adapters/local/sources-config.js';
import { ConfigError } from '../../functions/wiring/ingress-config.js';
import { standardWebhooksSecretProblem } from '../../providers/standard-webhooks/runtime/index.js';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

describe('localSources', () => {
  it('reads two HeyGen accounts and two Standard Webhooks senders: paths, secrets by origin, options', () => {
    const { providers, secrets } = localSources(
      {
        sources: [
          { id: 'heygen', provider: 'heygen', secret: 'whsec_from_the_file_0123456789' },
          { id: 'heygen-staging', provider: 'heygen', secretEnv: 'STAGING' },
          { id: 'replicate', provider: 'standard-webhooks', options: { typeField: 'status', dataField: null } },
          { id: 'acme', provider: 'standard-webhooks', path: '/hooks/acme', timestampToleranceSeconds: 0, dedupMode: 'record' },
        ],
      },
      { STAGING: 'whsec_from_the_environment_987' },
      '/state',
    );
    expect(providers.map((p) => [p.source, p.name, p.path])).toEqual([
      ['heygen', 'heygen', '/heygen'],
      ['heygen-staging', 'heygen', '/heygen-staging'],
      ['replicate', 'standard-webhooks', '/replicate'],
      ['acme', 'standard-webhooks', '/hooks/acme'],
    ]);
    expect(providers[2]?.options).toEqual({ typeField: 'status', dataField: null });
    expect(providers[3]).toMatchObject({ timestampToleranceSeconds: 0, dedupMode: 'record' });
    expect(secrets.map((s) => [s.source, s.from, s.file])).toEqual([
      ['heygen', 'config file', '/state/heygen-secret'],
      ['heygen-staging', '$STAGING', '/state/heygen-staging-secret'],
      ['replicate', 'generated', '/state/replicate-secret'],
      ['acme', 'generated', '/state/acme-secret'],
    ]);
    expect(providers[1]?.secrets).toEqual(['whsec_from_the_environment_987']);
    // A generated Standard Webhooks secret is one the relay takes as a key.
    for (const s of secrets.slice(2)) expect(standardWebhooksSecretProblem(s.secret)).toBeNull();
  });

  it.each([
    ['not an object', [], /a JSON object with a "sources" list/],
    ['no sources', { sources: [] }, /at least one source/],
    ['an unknown top-level field', { sources: [{ id: 'a', provider: 'heygen' }], port: 3 }, /unknown top-level field "port"/],
    ['an unknown field', { sources: [{ id: 'a', provider: 'heygen', secrte: 'x' }] }, /sources\[0\]: unknown field "secrte"/],
    ['a bad id', { sources: [{ id: 'A B', provider: 'heygen' }] }, /sources\[0\]: id must be/],
    [
      'an unknown provider',
      { sources: [{ id: 'a', provider: 'stripe' }] },
      /source "a": provider must be one of heygen, joggai, standard-webhooks/,
    ],
    ['a bad path', { sources: [{ id: 'a', provider: 'heygen', path: 'heygen' }] }, /source "a": path must start with \//],
    ['secret and secretEnv', { sources: [{ id: 'a', provider: 'heygen', secret: 's', secretEnv: 'S' }] }, /not both/],
    ['an unset secretEnv', { sources: [{ id: 'a', provider: 'heygen', secretEnv: 'UNSET_X' }] }, /UNSET_X is not set/],
    ['a bad tolerance', { sources: [{ id: 'a', provider: 'heygen', timestampToleranceSeconds: -1 }] }, /whole number of seconds/],
    ['a bad dedup mode', { sources: [{ id: 'a', provider: 'heygen', dedupMode: 'once' }] }, /"record" or "claim"/],
    [
      'a bad body rule',
      { sources: [{ id: 'a', provider: 'standard-webhooks', options: { typeField: 'a.b' } }] },
      /Provider a: options: typeField/,
    ],
    ['options for HeyGen', { sources: [{ id: 'a', provider: 'heygen', options: {} }] }, /heygen takes no options/],
    [
      'two sources with one id',
      {
        sources: [
          { id: 'a', provider: 'heygen' },
          { id: 'a', provider: 'joggai' },
        ],
      },
      /two sources use the id "a"/,
    ],
    [
      'two sources on one path',
      {
        sources: [
          { id: 'a', provider: 'heygen' },
          { id: 'b', provider: 'heygen', path: '/a' },
        ],
      },
      /two sources use the path "\/a"/,
    ],
  ])('refuses %s with a ConfigError naming it', (_name, config, message) => {
    expect(() => localSources(config, {}, '/state')).toThrowError(ConfigError);
    expect(() => localSources(config, {}, '/state')).toThrowError(message);
  });

  it('never puts a secret into an error', () => {
    const secret = 'whsec_do_not_print_me_0123456789';
    try {
      localSources({ sources: [{ id: 'a', provider: 'heygen', secret, dedupMode: 'x' }] }, {}, '/state');
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
      return;
    }
    throw new Error('expected a ConfigError');
  });
});

describe('npm start -- --config with a mistake', () => {
  it('says it in one line naming the file, the source and the field, exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relay-bad-config-'));
    const file = join(dir, 'relay.sources.json');
    writeFileSync(file, JSON.stringify({ sources: [{ id: 'acme', provider: 'standard-webhooks', dedupMode: 'once' }] }));
    const err = await run(process.execPath, ['--import', 'tsx', 'scripts/local-relay.ts', '--config', file], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', RELAY_STATE_DIR: dir },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr.trim()).toBe(
      `heygen-relay (local) could not start: ${file}: source "acme": dedupMode must be "record" or "claim"`,
    );
  }, 30_000);
});
