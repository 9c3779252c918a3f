import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { toBusEvent } from '../../functions/adapters/local/file-sink.js';
import { parseRelayEvent, type RelayEvent, RelayEventParseError } from '../../functions/core/envelope.js';
import { normalizeHeyGen } from '../../providers/heygen/runtime/index.js';
import { eventId } from '../../providers/runtime.js';
import { sampleBody } from '../support/heygen.js';

const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'relay-event.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

function envelopeFor(name: string): RelayEvent {
  const body = Buffer.from(sampleBody(name));
  const d = normalizeHeyGen(body, { 'heygen-event-id': 'evt_1' });
  return {
    version: '1',
    id: eventId('heygen', body),
    provider: 'heygen',
    type: d.type,
    subject: d.subject,
    callbackId: d.callbackId,
    deliveryId: d.deliveryId,
    receivedAt: new Date().toISOString(),
    data: d.data,
  };
}

describe('Envelope: schema and parseRelayEvent', () => {
  const samples = [
    'avatar_video.success',
    'avatar_video.fail',
    'video_translate.success',
    'video_translate.fail',
    'personalized_video',
  ];

  it.each(samples)('the envelope of %s validates against schemas/relay-event.schema.json', (name) => {
    const ok = validate(envelopeFor(name));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema rejects an envelope missing a field or with an extra one', () => {
    const { subject: _s, ...missing } = envelopeFor('avatar_video.success');
    expect(validate(missing)).toBe(false);
    expect(validate({ ...envelopeFor('avatar_video.success'), extra: 1 })).toBe(false);
  });

  it('reads an SQS record, a message body, an EventBridge event and the bare envelope', () => {
    const env = envelopeFor('video_translate.success');
    const busEvent = toBusEvent(env, 'bus');
    const body = JSON.stringify(busEvent);
    expect(parseRelayEvent({ body })).toEqual(env);
    expect(parseRelayEvent(body)).toEqual(env);
    expect(parseRelayEvent(busEvent)).toEqual(env);
    expect(parseRelayEvent(env as unknown as Record<string, unknown>)).toEqual(env);
  });

  it.each([['not json'], ['{"detail-type":"x","detail":{"version":"2"}}'], ['{"version":"1"}']])(
    'throws RelayEventParseError for %s',
    (input) => {
      expect(() => parseRelayEvent(input)).toThrowError(RelayEventParseError);
    },
  );
});
