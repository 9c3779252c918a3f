import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../functions/core/errors.js';
import { normalizeHeyGen } from '../../providers/heygen/runtime/index.js';
import { normalizeJoggAi } from '../../providers/joggai/runtime/index.js';
import { sampleBody } from '../support/heygen.js';

const n = (body: string, headers: Record<string, string> = {}) => normalizeHeyGen(Buffer.from(body), headers);

describe('Function: normalizeHeyGen', () => {
  it.each([
    ['avatar_video.success', { kind: 'video', id: '8f7c2b1e0d5a4c3b9e6f1a2d3c4b5a69' }, 'order-1042'],
    ['avatar_video.fail', { kind: 'video', id: '1a2b3c4d5e6f708192a3b4c5d6e7f809' }, 'order-1043'],
    ['video_translate.success', { kind: 'video_translate', id: 'vt_5c1d9e2f3a4b' }, 'tr-77'],
    ['video_translate.fail', { kind: 'video_translate', id: 'vt_9e8d7c6b5a41' }, 'tr-78'],
    ['personalized_video', { kind: 'video', id: 'pv_vid_77c2' }, null],
  ])('maps %s to its subject and callback id', (name, subject, callbackId) => {
    const body = sampleBody(name);
    const out = n(body);
    expect(out.type).toBe(name);
    expect(out.subject).toEqual(subject);
    expect(out.callbackId).toBe(callbackId);
    expect(out.data).toEqual(JSON.parse(body).event_data);
  });

  it('takes the delivery id from Heygen-Event-Id and the send time from Heygen-Timestamp', () => {
    const out = n(sampleBody('avatar_video.success'), { 'heygen-event-id': ' evt_123 ', 'heygen-timestamp': '1732806631' });
    expect(out.deliveryId).toBe('evt_123');
    expect(out.sentAt).toBe(1732806631);
  });

  it('falls back to generic id keys for unknown event families and keeps unknown types', () => {
    expect(n('{"event_type":"future_thing.success","event_data":{"future_thing_id":"f1"}}').subject).toEqual({
      kind: 'future_thing',
      id: 'f1',
    });
    expect(n('{"event_type":"batch.finished","event_data":{"batch_id":42}}').subject).toEqual({ kind: 'batch', id: '42' });
    expect(n('{"event_type":"avatar_video.success"}').subject).toEqual({ kind: 'video', id: null });
  });

  it.each([
    ['not json', 'invalid_json'],
    ['null', 'invalid_json'],
    ['"str"', 'invalid_json'],
    ['{}', 'missing_event_type'],
    ['{"event_type":""}', 'missing_event_type'],
    ['{"event_type":5}', 'missing_event_type'],
    ['{"event_type":"a","event_data":"x"}', 'invalid_event_data'],
  ])('rejects %s with a 400 (%s)', (body, code) => {
    expect(() => n(body)).toThrowError(BadRequestError);
    try {
      n(body);
    } catch (err) {
      expect((err as BadRequestError).code).toBe(code);
    }
  });

  it.each(['constructor', '__proto__', 'valueOf.success', 'toString', 'hasOwnProperty.fail'])(
    'treats event type %s as an unknown family, not an Object.prototype key',
    (type) => {
      const family = type.split('.')[0] ?? type;
      expect(n(JSON.stringify({ event_type: type, event_data: { id: 'x' } })).subject).toEqual({ kind: family, id: 'x' });
    },
  );

  it('flags a malformed Heygen-Timestamp instead of throwing (tolerance 0 must not read it at all)', () => {
    const out = n(sampleBody('avatar_video.success'), { 'heygen-timestamp': 'yesterday' });
    expect(out.timestampInvalid).toBe(true);
    expect(out.sentAt).toBeUndefined();
  });
});

describe('Function: normalizeJoggAi', () => {
  it.each(['constructor', '__proto__', 'valueOf', 'toString_success'])(
    'treats event %s as unknown, never as an Object.prototype key',
    (event) => {
      const out = normalizeJoggAi(Buffer.from(JSON.stringify({ event, timestamp: 1, data: {} })), {});
      expect(out.type).toBe(event);
      expect(out.subject.id).toBeNull();
    },
  );
});
