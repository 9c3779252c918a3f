/**
 * Each condition under which events stop flowing until a person acts, as `heygen-relay status` names
 * it (bin/commands/status-conditions.ts, its `alarm` field), has an alarm in the synthesized template
 * that notifies the alarm topic (a person sees it), and the backfill's are not cleared by a run that
 * could not cover the gap (issue 19).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { CONDITION_IDS, type Conditions, judgeConditions } from '../../bin/commands/status-conditions.js';
import { HeyGenRelay } from '../../lib/heygen-relay.js';

type Alarm = {
  Properties: {
    EvaluationPeriods?: number;
    DatapointsToAlarm?: number;
    Period?: number;
    ComparisonOperator?: string;
    AlarmDescription: string;
    AlarmActions?: unknown[];
    TreatMissingData?: string;
    MetricName?: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Threshold?: number;
  };
};

function synth() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'AlarmRelay', { env: { account: '123456789012', region: 'us-east-1' } });
  const topic = new sns.Topic(stack, 'Alarms');
  new HeyGenRelay(stack, 'Relay', { alarmTopic: topic });
  const template = Template.fromStack(stack);
  return { template, topicId: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) };
}

/** Every condition holding at once, as status judges them: their `alarm` names. */
function alarmsNamedByStatus(): Record<string, string> {
  const period = (reason: 'dedup_window' | 'history' | 'subscription') => ({ reason, fromMs: 0, untilMs: 3_600_000, entries: 1 });
  const all: Conditions = judgeConditions(
    {
      where: '--stack S',
      endpoints: [{ id: 'ep_1', status: 'disabled' }],
      registrar: { outcomes: ['endpoint_disabled', 'second_writer'], at: new Date(0).toISOString() },
      uncovered: [period('dedup_window'), period('history'), period('subscription')],
      historyKeptMs: 3_600_000,
      now: 7_200_000,
    },
    86_400_000,
  );
  return Object.fromEntries(CONDITION_IDS.map((id) => [id, all[id]?.alarm as string]));
}

describe('alarms a person sees when events stop flowing (issue 19)', () => {
  const { template, topicId } = synth();
  const alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Alarm>;
  const byName = (name: string) => Object.entries(alarms).filter(([id]) => new RegExp(`^Relay${name}[0-9A-F]{8}$`).test(id));

  it('alarm-per-condition: every condition status names has its alarm in the template, notifying the alarm topic', () => {
    const named = alarmsNamedByStatus();
    expect(Object.keys(named)).toEqual([...CONDITION_IDS]);
    for (const [condition, alarm] of Object.entries(named)) {
      const found = byName(alarm);
      expect(found, `${condition} -> ${alarm}`).toHaveLength(1);
      const [, a] = found[0] as [string, Alarm];
      expect(a.Properties.AlarmActions, `${alarm} notifies the topic`).toEqual([{ Ref: topicId }]);
      expect(a.Properties.AlarmDescription).toMatch(/^heygen-relay: /);
    }
  });

  it('alarm-endpoint-disabled and alarm-second-writer: one registrar run reporting it raises it, a run that could not look does not clear it', () => {
    const [, disabled] = byName('HeyGenEndpointDisabled')[0] as [string, Alarm];
    expect(disabled.Properties.Dimensions).toContainEqual({ Name: 'Outcome', Value: 'endpoint_disabled' });
    expect(disabled.Properties.AlarmDescription).toMatch(/enable it in HeyGen's dashboard/);
    const [, writer] = byName('HeyGenSecondWriter')[0] as [string, Alarm];
    expect(writer.Properties.Dimensions).toContainEqual({ Name: 'Outcome', Value: 'second_writer' });
    expect(writer.Properties.AlarmDescription).toMatch(/another stack at the same URL/);
    // The registrar runs hourly and reports it in every run while it holds; a run that could not look
    // (failed, busy: no such datapoint, treated as not breaching) must not clear it: 1 hour of the last 3.
    for (const a of [disabled, writer])
      expect(a.Properties).toMatchObject({
        Period: 3600,
        Threshold: 1,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
  });

  it('alarm-backfill-gap: kept while a run cannot cover the gap (missing data keeps its state), and its text names every reason status shows', () => {
    const [, gap] = byName('HeyGenBackfillGap')[0] as [string, Alarm];
    expect(gap.Properties.MetricName).toBe('BackfillGap');
    // A run that failed, was busy or had no API key reports no BackfillGap: the alarm stays as it is;
    // only a run after `--acknowledge-gap` (BackfillGap 0, from the checkpoint) clears it.
    expect(gap.Properties.TreatMissingData).toBe('ignore');
    const text = gap.Properties.AlarmDescription;
    expect(text).toMatch(/older than the dedup window/); // backfill_gap
    expect(text).toMatch(/changed its order/); // backfill_gap (order)
    expect(text).toMatch(/history does not reach back/); // history_short
    expect(text).toMatch(/subscription/); // subscription_unsure
    expect(text).toMatch(/heygen-relay status.*--acknowledge-gap/);
  });
});
