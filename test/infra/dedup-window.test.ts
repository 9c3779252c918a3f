import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { HeyGenRelay, type HeyGenRelayProps } from '../../lib/heygen-relay.js';
import { HeyGenSource, JoggAiSource, StandardWebhooksSource } from '../../providers/infra.js';

/** The relay's dedup-window warnings (their messages), synthesized without bundling. */
function dedupWarnings(props: HeyGenRelayProps): string[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Warned', { env: { account: '123456789012', region: 'us-east-1' } });
  new HeyGenRelay(stack, 'Relay', props);
  return Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('dedupWindow'))
    .map((w) => String(w.entry.data));
}

describe('Construct: HeyGenRelay dedup window against the sources’ retry horizons', () => {
  it('each shipped source declares its retry horizon', () => {
    expect(new HeyGenSource().retryHorizon.toHours()).toBe(24);
    expect(new JoggAiSource().retryHorizon.toSeconds()).toBeLessThanOrEqual(60);
    // The spec's example schedule: last attempt at 75:35:05.
    expect(new StandardWebhooksSource().retryHorizon.toSeconds()).toBe(75 * 3600 + 35 * 60 + 5);
    expect(new StandardWebhooksSource({ retryHorizon: Duration.hours(28) }).retryHorizon.toHours()).toBe(28);
  });

  it('warns of nothing with the defaults (HeyGen, or HeyGen and JoggAI, 48 h window)', () => {
    expect(dedupWarnings({})).toEqual([]);
    expect(dedupWarnings({ joggai: {} })).toEqual([]);
  });

  it('warns naming the source whose retry horizon the window does not outlive, and only it', () => {
    const warnings = dedupWarnings({
      sources: [new HeyGenSource(), new StandardWebhooksSource({ id: 'replicate' })],
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^dedupWindow \(48 h\) does not outlive the retry horizon of source "replicate" \(75\.6 h\);/);
    expect(warnings[0]).not.toMatch(/"heygen"/);
  });

  it('names every source the window falls short of (a 24 h window: HeyGen too, not JoggAI)', () => {
    const warnings = dedupWarnings({
      dedupWindow: Duration.hours(24),
      sources: [new HeyGenSource(), new JoggAiSource(), new StandardWebhooksSource({ id: 'replicate' })],
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/sources "heygen" \(24 h\), "replicate" \(75\.6 h\);/);
    expect(warnings[0]).not.toMatch(/"joggai"/);
  });

  it('takes a Standard Webhooks sender’s own horizon (Svix: about 28 h) instead of the spec’s', () => {
    expect(dedupWarnings({ sources: [new StandardWebhooksSource({ id: 'svix', retryHorizon: Duration.hours(28) })] })).toEqual(
      [],
    );
    expect(
      dedupWarnings({
        dedupWindow: Duration.hours(12),
        sources: [new StandardWebhooksSource({ id: 'svix', retryHorizon: Duration.hours(28) })],
      }),
    ).toEqual([expect.stringMatching(/source "svix" \(28 h\)/)]);
  });
});
