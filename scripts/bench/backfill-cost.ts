/**
 * `npx tsx scripts/bench/backfill-cost.ts`: prices the scheduled backfill (scripts/bench/lib/cost.ts
 * `backfillRunCost`, from constants; nothing to measure) and writes its section into BENCHMARKS.md
 * between the backfill-cost markers, next to the per-delivery total of the last bench run
 * (bench-results.json). `npm run bench` renders the same section.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBackfillCost } from './lib/cost';

const ROOT = join(__dirname, '..', '..');
const results = JSON.parse(readFileSync(join(ROOT, 'bench-results.json'), 'utf8')) as {
  cost?: { defaults?: { total?: number } };
};
const total = results.cost?.defaults?.total;
if (typeof total !== 'number') throw new Error('bench-results.json has no cost.defaults.total; run npm run bench first');
const section = renderBackfillCost(total);
const file = join(ROOT, 'BENCHMARKS.md');
const doc = readFileSync(file, 'utf8');
const next = doc.includes('<!-- backfill-cost:start -->')
  ? doc.replace(/<!-- backfill-cost:start -->[\s\S]*?<!-- backfill-cost:end -->/, section)
  : `${doc.trimEnd()}\n\n${section}\n`;
writeFileSync(file, next);
console.log(section);
