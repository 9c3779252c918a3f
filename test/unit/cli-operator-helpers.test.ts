import { describe, expect, it } from 'vitest';
import { parseTime, replayPattern } from '../../bin/commands/replay.js';
import { sampleBody } from '../../bin/commands/send.js';
import { getProvider } from '../../providers/runtime.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('Function: parseTime (replay --from / --to)', () => {
  it('takes ISO times, "now" and durations ago', () => {
    expect(parseTime('--from', '2026-12-01T00:00:00Z', NOW)).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(parseTime('--from', '2026-12-01', NOW)).toBe(Date.parse('2026-12-01'));
    expect(parseTime('--to', 'now', NOW)).toBe(NOW);
    expect(parseTime('--from', '24h', NOW)).toBe(NOW - 86_400_000);
    expect(parseTime('--from', '1h30m', NOW)).toBe(NOW - 5_400_000);
  });
  it('refuses anything else with the option named', () => {
    expect(() => parseTime('--from', 'yesterday-ish', NOW)).toThrow(/--from must be an ISO time/);
  });
});

describe('Function: replayPattern (the temporary rule of a replay into one queue)', () => {
  it("keeps the queue rule's pattern and adds this replay's name", () => {
    expect(replayPattern({ source: ['heygen'] }, 'r1', [])).toEqual({ source: ['heygen'], 'replay-name': ['r1'] });
  });
  it('narrows to --type, within what the queue routes', () => {
    expect(replayPattern({ source: ['heygen'] }, 'r1', ['avatar_video.fail'])).toEqual({
      source: ['heygen'],
      'replay-name': ['r1'],
      'detail-type': ['avatar_video.fail'],
    });
    const failures = { source: ['heygen'], 'detail-type': ['avatar_video.fail', 'video_translate.fail'] };
    expect(replayPattern(failures, 'r1', ['avatar_video.fail', 'avatar_video.success'])?.['detail-type']).toEqual([
      'avatar_video.fail',
    ]);
    expect(replayPattern(failures, 'r1', ['avatar_video.success'])).toBeNull();
  });
  it('refuses --type over a detail-type pattern it cannot intersect', () => {
    expect(() => replayPattern({ 'detail-type': [{ prefix: 'avatar' }] }, 'r1', ['avatar_video.fail'])).toThrow(/--type cannot/);
  });
});

describe('Function: sampleBody (send)', () => {
  it('makes a HeyGen body the provider normalizes, with fresh ids each time', () => {
    for (const type of getProvider('heygen').eventTypes ?? []) {
      const body = sampleBody(type);
      const normalized = getProvider('heygen').normalize(Buffer.from(body), { 'content-type': 'application/json' });
      expect(normalized).toMatchObject({ type, callbackId: 'heygen-relay-send' });
      expect(JSON.stringify(normalized.subject)).toMatch(/heygen-relay-send-/);
    }
    expect(sampleBody('avatar_video.success')).not.toBe(sampleBody('avatar_video.success'));
  });
});
