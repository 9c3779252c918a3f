/**
 * Writes test/infra/fixtures/logical-ids.json: the resource and output logical ids of each
 * configuration in test/support/logical-ids.ts. Run it on the code whose ids are the reference
 * (`npx tsx scripts/logical-ids-fixture.ts`); test/infra/logical-ids.test.ts then fails on any change.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOGICAL_ID_CONFIGS, logicalIds } from '../test/support/logical-ids.js';

const out = Object.fromEntries(Object.entries(LOGICAL_ID_CONFIGS).map(([name, relay]) => [name, logicalIds(relay)]));
const file = path.join(__dirname, '..', 'test', 'infra', 'fixtures', 'logical-ids.json');
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
