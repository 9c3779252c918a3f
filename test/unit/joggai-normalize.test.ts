import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../functions/core/errors.js';
import { KNOWN_EVENT_TYPES } from '../../lib/config.js';
import { JOGGAI_EVENT_TYPES, joggai, normalizeJoggAi } from '../../providers/joggai/runtime/index.js';
import { answerBudgetMs, getProvider, PROVIDERS } from '../../providers/runtime.js';

const EVENTS_DIR = join(__dirname, '..', 'events', 'joggai');
const sample = (name: string) => readFileSync(join(EVENTS_DIR, `${name}.json`), 'utf8').trim();
const n = (body: string, headers: Record<string, string> = {}) => normalizeJoggAi(Buffer.from(body), headers);

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return (err as BadRequestError).code;
  }
  throw new Error('expected a BadRequestError');
}

describe('Function: normalizeJoggAi', () => {
  it.each([
    ['generated_avatar_video_success', { kind: 'video', id: 'a1b2c3d4e5f6' }, 'evt_7d2a9c41f0b3', 1732806631],
    ['generated_avatar_video_failed', { kind: 'video', id: 'f6e5d4c3b2a1' }, 'evt_5e8b1f9a2c77', 1732806702],
    ['generated_photo_avatar_success', { kind: 'avatar', id: '128734' }, 'evt_3c1d0e7b6a55', 1732806800],
    ['generated_image_success', { kind: 'photo', id: 'ph_90a1b2' }, null, 1732806900],
    ['generated_motion_failed', { kind: 'motion', id: 'mo_4411ab' }, null, 1732807000],
  ])('maps %s to its subject, delivery id and send time', (name, subject, deliveryId, sentAt) => {
    const body = sample(name);
    const out = n(body, { 'x-webhook-event': name });
    expect(out).toEqual({ type: name, subject, callbackId: null, deliveryId, data: JSON.parse(body).data, sentAt });
  });

  it('keeps data exactly as sent (numeric avatar_id stays a number in data)', () => {
    const out = n(sample('generated_photo_avatar_success'));
    expect(out.data.avatar_id).toBe(128734);
  });

  it.each(JOGGAI_EVENT_TYPES)('gives %s a subject kind from the documented families', (type) => {
    const ids = { video_id: 'v1', avatar_id: 7, photo_id: 'p1', motion_id: 'm1', script_id: 's1' };
    const out = n(JSON.stringify({ event: type, timestamp: 1, data: ids }));
    expect(['video', 'avatar', 'photo', 'motion', 'script']).toContain(out.subject.kind);
    expect(out.subject.id).not.toBeNull();
  });

  it('falls back to the id key present for event names it does not know', () => {
    expect(n('{"event":"new_thing_success","timestamp":1,"data":{"motion_id":"m9"}}').subject).toEqual({
      kind: 'motion',
      id: 'm9',
    });
    expect(n('{"event":"new_thing_success","timestamp":1,"data":{}}').subject).toEqual({ kind: 'new_thing', id: null });
  });

  it('reads the v1 payload shape (project_id) as a video subject', () => {
    expect(n('{"event":"generated_video_success","timestamp":1,"data":{"project_id":"pr_1"}}').subject).toEqual({
      kind: 'video',
      id: 'pr_1',
    });
  });

  it('accepts a delivery without X-Webhook-Event, and with a matching one (trimmed)', () => {
    expect(n(sample('generated_image_success')).type).toBe('generated_image_success');
    expect(n(sample('generated_image_success'), { 'x-webhook-event': ' generated_image_success ' }).type).toBe(
      'generated_image_success',
    );
  });

  it('leaves sentAt undefined without a timestamp, and accepts a numeric-string timestamp', () => {
    expect(n('{"event":"generated_video_success","data":{}}').sentAt).toBeUndefined();
    expect(n('{"event":"generated_video_success","timestamp":"1732806631","data":{}}').sentAt).toBe(1732806631);
  });

  it.each([
    [
      'X-Webhook-Event disagrees with the body',
      sample('generated_image_success'),
      { 'x-webhook-event': 'generated_image_failed' },
      'event_mismatch',
    ],
    ['no event', '{"timestamp":1,"data":{}}', {}, 'missing_event_type'],
    ['HeyGen shape (event_type)', '{"event_type":"avatar_video.success","event_data":{}}', {}, 'missing_event_type'],
    ['an empty event', '{"event":"","timestamp":1}', {}, 'missing_event_type'],
    ['data as an array', '{"event":"a_success","timestamp":1,"data":[]}', {}, 'invalid_event_data'],
    ['not JSON', 'nope', {}, 'invalid_json'],
  ])('throws a 400 when %s', (_name, body, headers, code) => {
    expect(badRequest(() => n(body, headers))).toBe(code);
  });

  it.each([
    ['a fractional timestamp', '{"event":"a_success","timestamp":1.5,"data":{}}'],
    ['a negative timestamp', '{"event":"a_success","timestamp":-3,"data":{}}'],
    ['a millisecond timestamp', '{"event":"a_success","timestamp":1732806631000,"data":{}}'],
    ['a text timestamp', '{"event":"a_success","timestamp":"yesterday","data":{}}'],
  ])('flags %s as invalid (the core answers 400 invalid_timestamp only while the check is on)', (_name, body) => {
    const out = n(body);
    expect(out.timestampInvalid).toBe(true);
    expect(out.sentAt).toBeUndefined();
  });

  it('takes event_id only when it is a non-empty string, capped at 256 characters', () => {
    expect(n('{"event":"a_success","event_id":42,"data":{}}').deliveryId).toBeNull();
    expect(n(`{"event":"a_success","event_id":"${'e'.repeat(300)}","data":{}}`).deliveryId).toHaveLength(256);
  });
});

describe('Provider: joggai plug-in and registry', () => {
  it('declares its delivery contract', () => {
    expect(joggai).toMatchObject({
      name: 'joggai',
      signatureHeader: 'x-webhook-signature',
      answerWithinMs: 5000,
      defaultTimestampToleranceSeconds: 300,
    });
    expect(answerBudgetMs(joggai)).toBe(4000);
  });

  it('is registered next to heygen', () => {
    expect(getProvider('joggai')).toBe(joggai);
    expect(Object.keys(PROVIDERS)).toEqual(expect.arrayContaining(['heygen', 'joggai']));
  });

  it('lists the 22 documented event types, and KNOWN_EVENT_TYPES takes them from the plug-in', () => {
    expect(JOGGAI_EVENT_TYPES).toHaveLength(22);
    expect(new Set(JOGGAI_EVENT_TYPES).size).toBe(22);
    expect(KNOWN_EVENT_TYPES.joggai).toEqual(JOGGAI_EVENT_TYPES);
    expect(KNOWN_EVENT_TYPES.heygen).toContain('avatar_video.success');
  });

  it('every sample is named after its event and its envelope validates against the schema', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'relay-event.schema.json'), 'utf8'));
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    for (const file of readdirSync(EVENTS_DIR)) {
      const name = file.replace(/\.json$/, '');
      const out = n(sample(name));
      expect(out.type).toBe(name);
      const envelope = {
        version: '1',
        id: `joggai:${'a'.repeat(64)}`,
        provider: 'joggai',
        type: out.type,
        subject: out.subject,
        callbackId: out.callbackId,
        deliveryId: out.deliveryId,
        receivedAt: new Date().toISOString(),
        data: out.data,
      };
      expect(validate(envelope), JSON.stringify(validate.errors)).toBe(true);
    }
  });
});
