import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeyGenSource, JoggAiSource } from '../../providers/infra.js';
import { LOGICAL_ID_CONFIGS, type LogicalIds, logicalIds } from '../support/logical-ids.js';

// Written from the construct before the sources refactor (scripts/logical-ids-fixture.ts).
const fixture = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'logical-ids.json'), 'utf8')) as Record<
  string,
  LogicalIds
>;

describe('logical ids stay those of the construct before sources', () => {
  it('covers every configuration of the fixture', () => {
    expect(Object.keys(LOGICAL_ID_CONFIGS).sort()).toEqual(Object.keys(fixture).sort());
  });

  it.each(Object.keys(LOGICAL_ID_CONFIGS))('%s: every resource and output id, with its type', (name) => {
    const config = LOGICAL_ID_CONFIGS[name] ?? {};
    expect(logicalIds(config)).toEqual(fixture[name]);
  });

  it('the sources form of the same deployments keeps them too', () => {
    expect(logicalIds({ sources: [new HeyGenSource()] })).toEqual(fixture.default);
    expect(logicalIds({ sources: [new HeyGenSource(), new JoggAiSource()] })).toEqual(fixture['heygen+joggai']);
    expect(logicalIds({ sources: [new JoggAiSource()] })).toEqual(fixture['joggai only']);
  });
});
