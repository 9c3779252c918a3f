import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { RelayConfigError } from '../../lib/config.js';
import { expectNagClean, useCdkValidation } from '../support/cdk-nag.js';
import { relayProviders, synthRelay } from '../support/synth.js';

describe('Construct: HeyGenRelay with only HeyGen (the default)', () => {
  const { template } = synthRelay({});
  it('creates nothing JoggAI-specific', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/joggai/i);
    expect(relayProviders(template).map((p) => p.name)).toEqual(['heygen']);
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });
});

describe('Construct: HeyGenRelay with JoggAI enabled', () => {
  const { template, stack } = synthRelay({
    relay: {
      joggai: { timestampTolerance: Duration.seconds(120) },
      queues: [{ name: 'jogg-failures', eventTypes: ['generated_avatar_video_failed'] }],
    },
  });

  it('creates its own empty-safe signing secret (and an API-key secret for its registrar)', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('JoggAI webhook signing secret'),
      SecretString: '{"secret":null}',
    });
  });

  it('adds a second RELAY_PROVIDERS entry that accepts /joggai/<segment> for rotation endpoints', () => {
    const providers = relayProviders(template);
    expect(providers.map((p) => p.name)).toEqual(['heygen', 'joggai']);
    expect(providers[1]).toMatchObject({ name: 'joggai', path: '/joggai', timestampToleranceSeconds: 120, acceptSubpaths: true });
    expect(providers[0]?.acceptSubpaths).toBeUndefined();
    // JoggAI's overlap rotation delivers each event to two endpoints at once: it claims by default.
    expect(providers.map((p) => [p.name, p.dedupMode])).toEqual([
      ['heygen', 'record'],
      ['joggai', 'claim'],
    ]);
  });

  it('grants the ingress read on the JoggAI secret', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('Ingress'),
    );
    const text = JSON.stringify(policies);
    expect(text).toMatch(/JoggAiSigningSecret/);
    expect(text).toContain('secretsmanager:GetSecretValue');
  });

  it('archives and routes source joggai; a queue can route JoggAI event types', () => {
    template.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['heygen', 'joggai'] } });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['heygen', 'joggai'] } });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['heygen', 'joggai'], 'detail-type': ['generated_avatar_video_failed'] },
    });
  });

  it('has a signature-rejection alarm per provider', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === 'Rejected',
    );
    expect(alarms.map((a) => a.Properties.Dimensions.find((d: { Name: string }) => d.Name === 'provider').Value).sort()).toEqual([
      'heygen',
      'joggai',
    ]);
  });

  it('outputs the JoggAI webhook URL and secret ARN', () => {
    template.hasOutput('*', { Value: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['joggai'])]) }) });
    expect(Object.keys(template.findOutputs('*')).some((k) => k.includes('JoggAiSigningSecretArn'))).toBe(true);
    expect(stack.relay.boundSources.joggai?.webhookUrl).toBeDefined();
    expect(stack.relay.providers).toEqual(['heygen', 'joggai']);
  });
});

describe('Construct: HeyGenRelay with JoggAI only', () => {
  const { template, stack } = synthRelay({ relay: { heygen: false, joggai: { path: '/jogg' } } });
  it('creates no HeyGen secret, registrar or route', () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(/HeyGenSigningSecret|HeyGenApiKey|RelayRegistrar/);
    expect(relayProviders(template)).toMatchObject([{ name: 'joggai', path: '/jogg' }]);
    template.hasResourceProperties('AWS::Events::Archive', { EventPattern: { source: ['joggai'] } });
    expect(stack.relay.boundSources.heygen).toBeUndefined();
    expect(Object.keys(stack.relay.boundSources)).toEqual(['joggai']);
  });
  it('still runs the JoggAI registrar after deploy (the only trigger)', () => {
    const triggers = Object.keys(template.findResources('Custom::Trigger'));
    expect(triggers).toHaveLength(1);
    expect(triggers[0]).toMatch(/JoggAiRegistrar/);
  });
});

describe('Construct: JoggAI registrar', () => {
  const { template } = synthRelay({ relay: { joggai: { registration: { events: ['generated_video_success'] } } } });
  const fns = () =>
    Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => id.includes('JoggAiRegistrar'));

  it('is one function with reserved concurrency 1, pointed at the relay URL, with the chosen events', () => {
    const [[, fn] = ['', undefined]] = fns();
    expect(fns()).toHaveLength(1);
    expect(fn?.Properties.ReservedConcurrentExecutions).toBe(1);
    const env = fn?.Properties.Environment.Variables;
    expect(JSON.stringify(env.ENDPOINT_URL)).toContain('joggai');
    expect(JSON.stringify(env.EVENTS)).toContain('generated_video_success');
    expect(JSON.stringify(env)).not.toMatch(/whsec_|"apiKey"/);
  });

  it('may write versions and stages of the JoggAI signing secret only, and read its API key', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('JoggAiRegistrar'),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Sid?: string; Action: string | string[]; Resource: unknown }[],
    );
    const write = statements.find((s) => s.Sid === 'JoggAiSigningSecretStages');
    expect(write?.Action).toEqual(
      expect.arrayContaining(['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']),
    );
    expect(JSON.stringify(write?.Resource)).toContain('JoggAiSigningSecret');
    expect(JSON.stringify(statements)).not.toMatch(/HeyGenSigningSecret/);
    expect(JSON.stringify(statements)).toContain('JoggAiApiKey');
  });

  it('runs hourly and rotates on its own schedule with {"action":"rotate"}', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 days)',
      Targets: [Match.objectLike({ Input: '{"action":"rotate"}' })],
    });
  });

  it('runs once after every deploy that changes it, asynchronously (never failing the deploy)', () => {
    const triggers = Object.entries(template.findResources('Custom::Trigger')).filter(([id]) => id.includes('JoggAiRegistrar'));
    expect(triggers).toHaveLength(1);
    const [, trigger] = triggers[0] as [string, { Properties: Record<string, unknown> }];
    expect(trigger.Properties).toMatchObject({ InvocationType: 'Event', ExecuteOnHandlerChange: true, Timeout: '120000' });
    // The handler is the registrar's current version: a change of code or configuration re-runs it.
    const version = (trigger.Properties.HandlerArn as { Ref: string }).Ref;
    const fnId = fns()[0]?.[0] as string;
    expect(template.toJSON().Resources[version].Properties.FunctionName).toEqual({ Ref: fnId });
    // The trigger provider may invoke the two registrars (HeyGen's and JoggAI's) and nothing else.
    const providerRole = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) =>
      id.startsWith('AWSCDKTriggerCustomResourceProvider'),
    )?.[1];
    const invoke = (
      (providerRole?.Properties.Policies ?? []) as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[]
    )
      .flatMap((p) => p.PolicyDocument.Statement)
      .filter((st) => st.Action.includes('lambda:InvokeFunction'));
    expect(JSON.stringify(invoke.map((st) => st.Resource))).toContain(fnId);
    expect(invoke).toHaveLength(2);
  });

  it('synthesizes without warnings (the trigger version-permission warning is acknowledged with its reason)', () => {
    for (const relay of [{ joggai: {} }, { heygen: false as const, joggai: {} }]) {
      const { stack } = synthRelay({ relay });
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    }
  });

  it('is configured through its environment: metrics namespace, API URL, no secret values', () => {
    const [[, fn] = ['', undefined]] = fns();
    const env = fn?.Properties.Environment.Variables;
    expect(env).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: 'HeyGenRelay',
      POWERTOOLS_SERVICE_NAME: 'heygen-relay-joggai-registrar',
      JOGGAI_API_URL: 'https://api.jogg.ai',
      SIGNING_SECRET_ARN: { Ref: expect.stringMatching(/JoggAiSigningSecret/) },
      API_KEY_SECRET_ARN: { Ref: expect.stringMatching(/JoggAiApiKey/) },
    });
    expect(fn?.Properties.Handler).toBe('index.handler');
    expect(fn?.Properties.Timeout).toBe(120);
  });

  it('both schedules target the registrar function, with retries; custom schedule and interval are honoured', () => {
    const fnId = fns()[0]?.[0] as string;
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.ScheduleExpression);
    const joggRules = rules.filter((r) => JSON.stringify(r.Properties.Targets).includes(fnId));
    expect(joggRules.map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['rate(1 hour)', 'rate(30 days)']);
    for (const r of joggRules) expect(r.Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 2 });
    const custom = synthRelay({
      relay: {
        joggai: {
          registration: {
            schedule: events.Schedule.rate(Duration.minutes(15)),
            rotationInterval: Duration.days(7),
            apiUrl: 'https://api.example.test',
            runAfterDeploy: false,
          },
        },
      },
    }).template;
    // The JoggAI registrar's own schedule (the temporary-route sweeper also runs every 15 minutes).
    custom.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('JoggAiRegistrar'), 'Arn'] } })],
    });
    custom.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(7 days)',
      Targets: [Match.objectLike({ Input: '{"action":"rotate"}' })],
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ JOGGAI_API_URL: 'https://api.example.test' }) },
    });
    // runAfterDeploy: false drops the JoggAI trigger only (HeyGen's stays).
    const customTriggers = Object.keys(custom.findResources('Custom::Trigger'));
    expect(customTriggers.some((id) => id.includes('JoggAiRegistrar'))).toBe(false);
    expect(customTriggers).toHaveLength(1);
  });

  it('least privilege: only the registrar writes the JoggAI signing secret; the ingress only reads it', () => {
    type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statementsOf = (role: string) =>
      policies
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const acts = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    const onJoggSecret = (s: Statement) => JSON.stringify(s.Resource).includes('JoggAiSigningSecret');

    const registrar = statementsOf('JoggAiRegistrar');
    expect(registrar.flatMap(acts).sort()).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'secretsmanager:DescribeSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    expect(JSON.stringify(registrar)).not.toMatch(/"\*"|HeyGen|Bus|Dedup|Queue/);
    const lease = registrar.filter((s) => acts(s).includes('dynamodb:UpdateItem'));
    expect(JSON.stringify(lease.map((s) => s.Resource))).toMatch(/StateTable/);
    const apiKey = registrar.filter((s) => JSON.stringify(s.Resource).includes('JoggAiApiKey'));
    expect(apiKey.flatMap(acts).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);

    const ingress = statementsOf('RelayIngress').filter(onJoggSecret);
    expect(ingress.flatMap(acts).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    // Nobody else (HeyGen's registrar and rotation included) touches the JoggAI signing secret or API key.
    const others = policies
      .filter((p) => !/JoggAiRegistrar|RelayIngress/.test(JSON.stringify(p.Properties.Roles)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(JSON.stringify(others)).not.toMatch(/JoggAiSigningSecret|JoggAiApiKey/);
  });

  it('is left out with registration: false (no API-key secret either)', () => {
    const off = synthRelay({ relay: { joggai: { registration: false } } }).template;
    expect(JSON.stringify(off.toJSON())).not.toMatch(/JoggAiRegistrar|JoggAiApiKey/);
    expect(Object.keys(off.findResources('Custom::Trigger')).some((id) => id.includes('JoggAi'))).toBe(false);
    off.resourceCountIs('AWS::SecretsManager::Secret', 3);
  });

  it('rejects unknown registration events', () => {
    expect(() => synthRelay({ relay: { joggai: { registration: { events: ['avatar_video.success'] } } } })).toThrowError(
      /unknown event type/,
    );
  });
});

describe('Construct: provider validation', () => {
  it.each([
    ['no provider at all', { heygen: false as const }, /At least one provider/],
    [
      'a queue routing JoggAI events without JoggAI',
      { queues: [{ name: 'j', eventTypes: ['generated_video_success'] }] },
      /unknown event type/,
    ],
    ['a queue routing provider joggai when disabled', { queues: [{ name: 'j', providers: ['joggai'] }] }, /not enabled/],
    [
      'a HeyGen type on a JoggAI-only queue',
      { joggai: {}, queues: [{ name: 'j', providers: ['joggai'], eventTypes: ['avatar_video.fail'] }] },
      /unknown event type/,
    ],
    ['a bad joggai path', { joggai: { path: 'joggai' } }, /joggai.path/],
    ['the same path twice', { joggai: { path: '/heygen' } }, /both/],
  ])('rejects %s', (_n, relay, message) => {
    expect(() => synthRelay({ relay })).toThrowError(RelayConfigError);
    expect(() => synthRelay({ relay })).toThrowError(message);
  });
});

describe('cdk-nag with JoggAI', () => {
  useCdkValidation();
  it.each([
    ['both providers', { joggai: {} }],
    ['JoggAI only, tracing', { heygen: false as const, joggai: {}, tracing: true }],
    ['JoggAI without registration', { joggai: { registration: false as const } }],
  ])('passes with %s', (_n, relay) => {
    const { app } = synthRelay({ relay });
    expectNagClean(app);
  });
});
