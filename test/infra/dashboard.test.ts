import { App, Duration, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { RelayDashboard } from '../../lib/dashboard.js';
import { synthRelay } from '../support/synth.js';

process.env.CDK_VALIDATION = 'false';

interface Widget {
  type: string;
  width: number;
  properties: { title?: string; markdown?: string; metrics?: unknown[][]; region?: string };
}

/** The dashboard's body with its references stood in for (`{REF}`), parsed. */
function widgetsOf(template: Template): Widget[] {
  const body = new Capture();
  template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardBody: body });
  const raw = body.asObject() as { 'Fn::Join': [string, unknown[]] };
  const text = raw['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '{REF}')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}
const titles = (w: Widget[]) => w.map((x) => x.properties.title).filter(Boolean);
const expressions = (w: Widget) =>
  (w.properties.metrics ?? [])
    .flatMap((m) => m.filter((x) => typeof x === 'object' && x !== null && 'expression' in x))
    .map((x) => (x as { expression: string }).expression);
const metricNames = (w: Widget) => (w.properties.metrics ?? []).map((m) => m.filter((x) => typeof x === 'string').join(' '));

describe('Construct: RelayDashboard', () => {
  it('is created by default, with its URL as the stable output DashboardUrl', () => {
    const { template } = synthRelay({ relay: { joggai: {} } });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const url = template.findOutputs('DashboardUrl').DashboardUrl;
    expect(url).toBeDefined();
    const join = (url as { Value: { 'Fn::Join': [string, unknown[]] } }).Value['Fn::Join'][1];
    expect(join[0]).toBe('https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=');
    expect(join[1]).toEqual({ Ref: expect.stringMatching(/^RelayDashboard/) });
    template.hasOutput('DashboardUrl', { Value: Match.anyValue() });
  });

  it('has the widgets of the issue: per provider, ingress, queues, registrar, rotation, backfill', () => {
    const { template } = synthRelay({ relay: { joggai: {}, queues: [{ name: 'failures', eventTypes: ['avatar_video.fail'] }] } });
    const widgets = widgetsOf(template);
    expect(titles(widgets)).toEqual([
      'heygen: deliveries',
      'heygen: rejected (4xx) and failed (5xx) by reason',
      'joggai: deliveries',
      'joggai: rejected (4xx) and failed (5xx) by reason',
      'ingress: duration p50 / p99',
      'ingress: throttles, errors, invocations',
      'queues and dead-letter queues: messages waiting',
      'queues and dead-letter queues: age of the oldest message (s)',
      'HeyGen registrar: runs by outcome',
      'HeyGen signing secret: rotation steps and pending-rotation age',
      'HeyGen signing secret: age of the current version (days)',
      'JoggAI registrar: runs by outcome',
      'backfill: runs by outcome and events recovered',
    ]);
    const by = (t: string) => widgets.find((w) => w.properties.title === t) as Widget;

    const deliveries = by('heygen: deliveries');
    expect(metricNames(deliveries)).toEqual([
      'HeyGenRelay Received provider heygen service heygen-relay',
      'HeyGenRelay Published provider heygen service heygen-relay',
      'HeyGenRelay Duplicate provider heygen service heygen-relay',
      'HeyGenRelay ConcurrentDuplicate provider heygen service heygen-relay',
      'HeyGenRelay Parked provider heygen service heygen-relay',
      '',
    ]);
    expect(expressions(deliveries)).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="Backfilled" provider="heygen"', 'Sum', 300)`,
    ]);
    expect(expressions(by('joggai: rejected (4xx) and failed (5xx) by reason'))).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="Rejected" provider="joggai"', 'Sum', 300)`,
      `SEARCH('Namespace="HeyGenRelay" MetricName="Failed" provider="joggai"', 'Sum', 300)`,
    ]);

    const latency = JSON.stringify(by('ingress: duration p50 / p99').properties.metrics);
    expect(latency).toMatch(/"AWS\/Lambda","Duration","FunctionName","\{REF\}".*"stat":"p50"/);
    expect(latency).toMatch(/"stat":"p99"/);
    expect(metricNames(by('ingress: throttles, errors, invocations'))).toEqual([
      'AWS/Lambda Throttles FunctionName {REF}',
      'AWS/Lambda Errors FunctionName {REF}',
      'AWS/Lambda Invocations FunctionName {REF}',
    ]);

    // Every queue, its DLQ and the bus target DLQ; depth and age.
    const labels = (w: Widget) =>
      (w.properties.metrics ?? []).map((m) => (m.find((x) => typeof x === 'object') as { label?: string } | undefined)?.label);
    const depth = by('queues and dead-letter queues: messages waiting');
    expect(labels(depth)).toEqual(['all', 'all DLQ', 'failures', 'failures DLQ', 'bus target DLQ']);
    expect(metricNames(depth).every((n) => n.startsWith('AWS/SQS ApproximateNumberOfMessagesVisible QueueName {REF}'))).toBe(
      true,
    );
    const age = by('queues and dead-letter queues: age of the oldest message (s)');
    expect(labels(age)).toHaveLength(5);
    expect(metricNames(age).every((n) => n.startsWith('AWS/SQS ApproximateAgeOfOldestMessage'))).toBe(true);

    expect(expressions(by('HeyGen registrar: runs by outcome'))).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="RegistrarRuns" service="heygen-relay-registrar"', 'Sum', 3600)`,
    ]);
    expect(expressions(by('JoggAI registrar: runs by outcome'))).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="RegistrarRuns" service="heygen-relay-joggai-registrar"', 'Sum', 3600)`,
    ]);
    const rotation = by('HeyGen signing secret: rotation steps and pending-rotation age');
    expect(metricNames(rotation).filter(Boolean)).toEqual([
      'AWS/Lambda Invocations FunctionName {REF}',
      'AWS/Lambda Errors FunctionName {REF}',
    ]);
    expect(expressions(rotation)).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="RotationPendingAgeSeconds" service="heygen-relay-registrar"', 'Maximum', 3600)`,
    ]);
    // The secret's age (issue 14): the registrar's SigningSecretAgeSeconds, in days, under the rotation interval.
    const secretAge = by('HeyGen signing secret: age of the current version (days)');
    expect(expressions(secretAge)).toEqual(['age / 86400']);
    expect(metricNames(secretAge).filter(Boolean)).toEqual([
      'HeyGenRelay SigningSecretAgeSeconds service heygen-relay-registrar',
    ]);
    expect(secretAge.properties.metrics?.[1]?.at(-1)).toEqual({ id: 'age', visible: false, period: 3600, stat: 'Maximum' });
    expect((secretAge.properties as { annotations?: unknown }).annotations).toEqual({
      horizontal: [{ value: 30, label: 'rotation interval', yAxis: 'left' }],
    });
    expect(titles(widgets).filter((t) => /JoggAI signing secret: age/.test(t ?? ''))).toEqual([]);
    expect(expressions(by('backfill: runs by outcome and events recovered'))).toEqual([
      `SEARCH('Namespace="HeyGenRelay" MetricName="BackfillRuns" service="heygen-relay-backfill"', 'Sum', 3600)`,
      `SEARCH('Namespace="HeyGenRelay" MetricName="BackfilledEvents" service="heygen-relay-backfill"', 'Sum', 3600)`,
      `SEARCH('Namespace="HeyGenRelay" MetricName="BackfillUncertain" service="heygen-relay-backfill"', 'Sum', 3600)`,
      `SEARCH('Namespace="HeyGenRelay" MetricName="UncoveredEntries" service="heygen-relay-backfill"', 'Maximum', 3600)`,
    ]);
  });

  it("draws the secret-age graph's line at the configured rotation interval, and none with rotation off", () => {
    const age = (relay: Parameters<typeof synthRelay>[0]) =>
      widgetsOf(synthRelay(relay).template).find(
        (w) => w.properties.title === 'HeyGen signing secret: age of the current version (days)',
      )?.properties as { annotations?: unknown } | undefined;
    expect(age({ relay: { heygen: { registration: { rotationInterval: Duration.days(7) } } } })?.annotations).toEqual({
      horizontal: [{ value: 7, label: 'rotation interval', yAxis: 'left' }],
    });
    const off = age({ relay: { heygen: { registration: { rotationInterval: Duration.days(0) } } } });
    expect(off).toBeDefined();
    expect(off?.annotations).toBeUndefined();
  });

  it("the ingress and rotation widgets chart the relay's own functions", () => {
    const { template } = synthRelay();
    const body = JSON.stringify(
      template.findResources('AWS::CloudWatch::Dashboard') as Record<string, { Properties: { DashboardBody: unknown } }>,
    );
    const fns = template.findResources('AWS::Lambda::Function');
    const ingress = Object.entries(fns).find(([, f]) => f.Properties.Environment?.Variables?.RELAY_PROVIDERS)?.[0];
    const rotation = Object.keys(fns).find((id) => /Rotation/.test(id));
    expect(body).toContain(`{"Ref":"${ingress}"}`);
    expect(body).toContain(`{"Ref":"${rotation}"}`);
  });

  it('is left out with dashboard: false, and the other output ids do not change', () => {
    const on = synthRelay({ relay: { joggai: {} } }).template;
    const off = synthRelay({ relay: { joggai: {}, dashboard: false } }).template;
    off.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(off.findOutputs('*'))).not.toContain('DashboardUrl');
    expect(
      Object.keys(on.findOutputs('*'))
        .filter((k) => k !== 'DashboardUrl')
        .sort(),
    ).toEqual(Object.keys(off.findOutputs('*')).sort());
  });

  it('takes plain inputs: any construct with a function and queues can create it', () => {
    const stack = new Stack(new App(), 'Plain', { env: { account: '123456789012', region: 'eu-west-1' } });
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    const queue = new sqs.Queue(stack, 'Q');
    const d = new RelayDashboard(stack, 'D', {
      ingress: fn,
      queues: [{ name: 'orders', queue }],
      providers: ['heygen'],
      dashboardName: 'relay-ops',
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'relay-ops' });
    expect(stack.resolve(d.url)).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=relay-ops',
    );
    expect(titles(widgetsOf(template))).not.toContain('backfill: runs by outcome and events recovered');
  });
});
