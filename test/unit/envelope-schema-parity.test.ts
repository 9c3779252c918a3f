/**
 * `parseRelayEvent` (the consumer's reader, checked by hand to stay small) and the shipped JSON Schema
 * (schemas/relay-event.schema.json, with ajv and ajv-formats) give the same verdict on every envelope:
 * fast-check builds envelopes field by field from valid and invalid values, missing and extra fields,
 * and the two must agree; the errors name the field and what it must be.
 */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertRelayEvent, parseRelayEvent, RelayEventParseError } from '../../functions/core/envelope.js';
import schema from '../../schemas/relay-event.schema.json';

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

const ABSENT = Symbol('absent');
const HEX = 'a'.repeat(64);

/** Per field: values the schema takes and values it refuses (the arbitrary mixes them). */
const FIELD_VALUES: Record<string, unknown[]> = {
  version: ['1', '2', 1, ABSENT],
  id: [`heygen:evt:${HEX}`, `joggai:${HEX}`, `heygen:${HEX.slice(1)}`, 'heygen:evt:xyz', `Heygen:${HEX}`, 7, ABSENT],
  provider: ['heygen', 'joggai', 'my_provider-2', 'HeyGen', '-x', '', null, ABSENT],
  source: ['heygen-staging', 'a'.repeat(40), 'a'.repeat(41), 'Staging', 3, ABSENT, ABSENT],
  type: ['avatar_video.success', 'x', '', 'é'.repeat(128), 'é'.repeat(129), 5, ABSENT],
  subject: [
    { kind: 'video', id: 'v1' },
    { kind: 'video', id: null },
    { kind: 'video' },
    { kind: 1, id: 'v' },
    { kind: 'video', id: 'v', extra: true },
    [],
    null,
    ABSENT,
  ],
  callbackId: ['cb', null, 4, ABSENT],
  deliveryId: ['d', null, {}, ABSENT],
  receivedAt: [
    '2026-12-07T10:00:00.123Z',
    '2026-12-07t10:00:00z',
    '2026-12-07 10:00:00+01:00',
    '2024-02-29T00:00:00+0100',
    '2026-12-07T10:00:00+01',
    '2016-12-31T23:59:60Z',
    '2017-01-01T00:59:60+01:00',
    '2026-12-07T10:59:60Z',
    '2025-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-07T24:00:00Z',
    '2026-12-07T10:00:00',
    '2026-12-07T10:00:00+24:00',
    'yesterday',
    '2026-12-07',
    1_765_000_000_000,
    ABSENT,
  ],
  data: [{ url: 'x' }, {}, [], 'x', null, ABSENT],
  origin: ['delivery', 'backfill', 'replay', null, ABSENT, ABSENT],
};

const GOOD: Record<string, unknown> = {
  version: '1',
  id: `heygen:evt:${HEX}`,
  provider: 'heygen',
  type: 'avatar_video.success',
  subject: { kind: 'video', id: 'v' },
  callbackId: null,
  deliveryId: null,
  receivedAt: '2026-12-07T10:00:00Z',
  data: {},
};

function withField(k: string, v: unknown): Record<string, unknown> {
  const out = { ...GOOD, [k]: v };
  if (v === ABSENT) delete out[k];
  return out;
}

/** Mostly values the schema takes for a field (so whole envelopes pass often enough), sometimes any. */
function field(k: string, values: unknown[]) {
  const ok = values.filter((v) => validate(withField(k, v)));
  return fc.oneof({ arbitrary: fc.constantFrom(...ok), weight: 12 }, { arbitrary: fc.constantFrom(...values), weight: 1 });
}

const envelope = fc
  .record(Object.fromEntries(Object.entries(FIELD_VALUES).map(([k, values]) => [k, field(k, values)])))
  .chain((fields) =>
    fc.option(fc.constantFrom('extra', 'Version', 'detail'), { nil: undefined, freq: 8 }).map((extra) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== ABSENT) out[k] = v;
      if (extra) out[extra] = 'x';
      return out;
    }),
  );

function accepts(value: unknown): boolean {
  try {
    assertRelayEvent(value);
    return true;
  } catch (err) {
    if (!(err instanceof RelayEventParseError)) throw err;
    return false;
  }
}

describe('Function: parseRelayEvent against the JSON Schema', () => {
  it('accepts exactly what the schema accepts', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(envelope, (value) => {
        const schemaSays = validate(value) === true;
        expect(accepts(value), JSON.stringify(value)).toBe(schemaSays);
        if (schemaSays) accepted++;
        else refused++;
      }),
      { numRuns: 3000, seed: 21 },
    );
    // Both verdicts exercised, or the comparison proves nothing.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it('agrees on each listed receivedAt, one by one', () => {
    for (const receivedAt of FIELD_VALUES.receivedAt?.filter((v) => v !== ABSENT) ?? [])
      expect(accepts(withField('receivedAt', receivedAt)), String(receivedAt)).toBe(
        validate(withField('receivedAt', receivedAt)),
      );
  });

  it.each([
    [{ receivedAt: 'yesterday' }, 'Envelope receivedAt must be an RFC 3339 date-time, got "yesterday"'],
    [{ provider: 'HeyGen' }, 'Envelope provider must be a provider name (a-z, 0-9, _ or -), got "HeyGen"'],
    [{ extra: 1 }, 'Envelope has a field its schema does not allow: extra'],
    [{ version: '2' }, `Envelope version must be "1" (this reader's envelope version), got "2"`],
  ])('names the field and what it must be: %j', (change, message) => {
    expect(() => parseRelayEvent({ ...GOOD, ...change })).toThrowError(new RelayEventParseError(message));
  });

  it('given a whole SQS event instead of a record, says to pass each record', () => {
    expect(() => parseRelayEvent({ Records: [{ body: '{}' }] })).toThrowError(
      /whole SQS event: pass each of its records, for \(const r of event.Records\) parseRelayEvent\(r\)/,
    );
  });
});
