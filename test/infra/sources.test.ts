import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RelayConfigError } from '../../lib/config.js';
import { HeyGenSource } from '../../providers/infra.js';
import { expectNagClean, useCdkValidation } from '../support/cdk-nag.js';
import { manySources, SOURCE_LOGICAL_ID_PARTS } from '../support/sources.js';
import { relayProviders, synthRelay } from '../support/synth.js';

/** The source a resource belongs to, by its logical id (the ingress and the core: undefined). */
function ownerOf(logicalId: string): string | undefined {
  return Object.entries(SOURCE_LOGICAL_ID_PARTS).find(([, re]) => re.test(logicalId))?.[0];
}

/** Every secret (logical id) each IAM policy's statements name, with the role it is attached to. */
function secretGrants(template: Template): { role: string; secrets: string[] }[] {
  const secrets = new Set(Object.keys(template.findResources('AWS::SecretsManager::Secret')));
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => {
    const text = JSON.stringify(p.Properties.PolicyDocument);
    const named = [...secrets].filter((s) => text.includes(`"${s}"`));
    return (p.Properties.Roles as { Ref: string }[]).map((r) => ({ role: r.Ref, secrets: named }));
  });
}

describe('Construct: HeyGenRelay with several sources (two HeyGen accounts, JoggAI, ...)', () => {
  const { template, stack } = synthRelay({ relay: { sources: manySources() } });

  it('routes each source on its own path, the second HeyGen account labelled with its id', () => {
    const routes = relayProviders(template);
    expect(routes.map((r) => [r.name, (r as { source?: string }).source, r.path])).toEqual(
      expect.arrayContaining([
        ['heygen', undefined, '/heygen'],
        ['heygen', 'heygen-staging', '/heygen-staging'],
        ['joggai', undefined, '/joggai'],
        ['standard-webhooks', 'replicate', '/replicate'],
      ]),
    );
  });

  it('gives every account its own secrets, registrar, rotation and backfill', () => {
    const heygenFns = (part: RegExp) =>
      Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => part.test(id) && !/AfterDeploy/.test(id));
    const staging = heygenFns(/^RelaySourceheygenstaging/);
    expect(staging.some((id) => /Registrar/.test(id))).toBe(true);
    expect(staging.some((id) => /Rotation/.test(id))).toBe(true);
    expect(staging.some((id) => /Backfill/.test(id))).toBe(true);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    // The second account's functions know their source: evidence, checkpoint and metrics are its own.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RELAY_SOURCE: 'heygen-staging',
          POWERTOOLS_SERVICE_NAME: 'heygen-relay-registrar-heygen-staging',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RELAY_SOURCE: 'heygen-staging',
          POWERTOOLS_SERVICE_NAME: 'heygen-relay-backfill-heygen-staging',
        }),
      },
    });
  });

  it("least privilege: a source's functions read only its own secrets; the ingress reads the signing secrets only", () => {
    const grants = secretGrants(template);
    const secrets = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    let checked = 0;
    for (const { role, secrets: named } of grants) {
      if (/^RelayIngress/.test(role)) {
        expect(named.filter((s) => /ApiKey/.test(s))).toEqual([]);
        expect(named.length).toBe(relayProviders(template).length);
        continue;
      }
      const owner = ownerOf(role);
      if (named.length === 0) continue;
      expect(owner, `role ${role} names secrets ${named.join(', ')}`).toBeDefined();
      for (const s of named) expect(ownerOf(s), `${role} is granted ${s}`).toBe(owner);
      checked++;
    }
    // Registrar + rotation + backfill of each HeyGen account, JoggAI's registrar.
    expect(checked).toBeGreaterThanOrEqual(7);
    // And no secret is reachable through a wildcard (CDK's RotationSchedule adds GetRandomPassword, which has no resource).
    for (const p of Object.values(template.findResources('AWS::IAM::Policy')))
      for (const st of p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]) {
        const actions = ([] as string[])
          .concat(st.Action)
          .filter((a) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:GetRandomPassword');
        if (actions.length > 0) expect(JSON.stringify(st.Resource), actions.join(',')).not.toMatch(/^"\*"$|"\*"/);
      }
  });

  it('alarms per source on its own metric label; outputs per source, the default ones keep their names', () => {
    const rejected = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((a) => a.Properties.MetricName === 'Rejected')
      .map((a) => a.Properties.Dimensions.find((d: { Name: string }) => d.Name === 'provider').Value)
      .sort();
    expect(rejected).toEqual(['heygen', 'heygen-staging', 'joggai', 'replicate']);
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'HeyGenWebhookUrl',
        'SigningSecretArn',
        'SourceHeygenStagingHeyGenWebhookUrl',
        'SourceHeygenStagingSigningSecretArn',
        'SourceHeygenStagingApiKeySecretArn',
        'JoggAiWebhookUrl',
      ]),
    );
    expect(stack.relay.boundSources['heygen-staging']?.webhookUrl).toBeDefined();
    expect(stack.relay.providers).toEqual(['heygen', 'joggai', 'standard-webhooks']);
  });

  it('routes a queue by source (detail.source): one account of a provider apart from the other', () => {
    const { template: routed } = synthRelay({
      relay: { sources: manySources(), queues: [{ name: 'staging', sources: ['heygen-staging'] }] },
    });
    routed.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['heygen', 'joggai', 'standard-webhooks'], detail: { source: ['heygen-staging'] } },
    });
  });

  it.each([
    ['two sources with one id', () => [new HeyGenSource(), new HeyGenSource()], /Two sources have the id "heygen"/],
    [
      'two sources on one path',
      () => [new HeyGenSource(), new HeyGenSource({ id: 'b', path: '/heygen' })],
      /heygen.path and b.path are both "\/heygen"/,
    ],
    ['a bad id', () => [new HeyGenSource({ id: 'Bad Id' })], /Source id "Bad Id"/],
    ['an empty list', () => [], /sources is empty/],
  ])('fails synth with a clear message for %s', (_n, sources, message) => {
    expect(() => synthRelay({ relay: { sources: sources() } })).toThrowError(RelayConfigError);
    expect(() => synthRelay({ relay: { sources: sources() } })).toThrowError(message);
  });

  it('refuses sources together with the sugar props, and a queue routing an unknown source', () => {
    expect(() => synthRelay({ relay: { sources: [new HeyGenSource()], joggai: {} } })).toThrowError(/either sources or/);
    expect(() => synthRelay({ relay: { sources: manySources(), queues: [{ name: 'x', sources: ['nope'] }] } })).toThrowError(
      /routes source "nope"/,
    );
  });
});

describe('cdk-nag on a relay with several sources', () => {
  useCdkValidation();

  it.each([
    ['defaults', {}],
    ['tracing', { tracing: true }],
  ])('passes AwsSolutions and Serverless (%s), every acknowledgement carrying a reason', (_n, extra) => {
    const { app } = synthRelay({ relay: { sources: manySources(), ...extra } });
    expectNagClean(app);
  });
});
