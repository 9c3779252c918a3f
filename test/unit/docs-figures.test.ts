/**
 * The cost figures the docs quote by hand, recomputed from the checked-in cost model
 * (scripts/bench/lib/cost.ts) and the last bench run's measured inputs (bench-results.json, written
 * by `npm run bench`). A figure that disagrees with its recomputation fails, naming the page, the
 * sentence and both values: a price, a model or a measurement that changed without the text.
 *
 * BENCHMARKS.md is written by the bench itself; its totals are checked here too, against the model,
 * so prices changed in cost.ts without a new bench run fail as well.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_PART_MIB,
  ARCHIVER_MB,
  archiveCostPerGiB,
  BACKFILL_DEFAULTS_FOR_COST,
  backfillRunCost,
  type CostInputs,
  type CostResult,
  costPerMillion,
  DEDUP_UNITS,
  type DedupSetting,
  PRICES,
  S3_PRICES,
} from '../../scripts/bench/lib/cost.js';

const REPO = join(__dirname, '..', '..');
/** A page's text with its line breaks and runs of spaces as single spaces (sentences wrap). */
const page = (file: string) => readFileSync(join(REPO, file), 'utf8').replace(/\s+/g, ' ');

interface BenchCost {
  dedupMode: DedupSetting;
  prices: Record<string, number>;
  assumptions: {
    awsWaitMs: number;
    platformLogBytes: number;
    secretsReferenceRatePerSecond: number;
    handlerCpuMs1k: number;
    measuredLogBytesPerDelivery: number;
  };
  legacyCheck: { handlerCpuMs1k: number; total: number };
  defaults: CostResult;
}
const bench = JSON.parse(readFileSync(join(REPO, 'bench-results.json'), 'utf8')) as {
  cost: BenchCost;
  warm: { eventEntryBytesBySize: Record<string, number> };
};
const measured = bench.cost.assumptions;

/** The defaults the docs describe (256 MB arm64, HeyGen's dedup mode, 1 KB bodies, a consumer batching 10), from the bench's measured inputs. */
const DEFAULTS: CostInputs = {
  handlerCpuMs: measured.handlerCpuMs1k,
  awsWaitMs: measured.awsWaitMs,
  memoryMb: 256,
  dedup: bench.cost.dedupMode,
  eventBytes: bench.warm.eventEntryBytesBySize['1024'] as number,
  logBytes: measured.measuredLogBytesPerDelivery + measured.platformLogBytes,
  // AWSCURRENT + AWSPENDING per environment per 300 s cache TTL, at the reference rate (scripts/bench/run.ts).
  secretsCallsPerDelivery: 2 / (300 * measured.secretsReferenceRatePerSecond),
  consumerBatch: 10,
};
const cost = (over: Partial<CostInputs> = {}) => costPerMillion({ ...DEFAULTS, ...over });
const line = (r: CostResult, part: string) => r.lines.find((l) => l.part === part)?.perMillion ?? Number.NaN;
const defaults = cost();
const backfillPerM = backfillRunCost(10).perMillionDeliveries;

interface Figure {
  /** Where the figure stands (for the failure message). */
  readonly page: string;
  /** The sentence around it; its one capture group is the figure. */
  readonly pattern: RegExp;
  readonly expected: number;
  /** Decimals the text rounds to. */
  readonly decimals: number;
}

/** What is wrong with a figure in `text`: not found, or not `expected` at its rounding; undefined when right. */
function figureProblem(text: string, f: Figure): string | undefined {
  const m = f.pattern.exec(text);
  if (!m?.[1]) return `${f.page}: no text matches ${f.pattern}`;
  const want = f.expected.toFixed(f.decimals);
  return m[1] === want ? undefined : `${f.page}: "${m[0]}" says ${m[1]}, the cost model gives ${want}`;
}

const TESTING: Figure[] = [
  { pattern: /about \*\*\$(\d+\.\d+) per million deliveries\*\* at the defaults/, expected: defaults.total },
  { pattern: /EventBridge PutEvents is \$(\d+\.\d+)/, expected: line(defaults, 'EventBridge PutEvents') },
  { pattern: /dedup \$(\d+\.\d+) \(one consistent read and one write\)/, expected: line(defaults, 'DynamoDB dedup') },
  { pattern: /SQS \$(\d+\.\d+), Lambda/, expected: line(defaults, 'SQS') },
  {
    pattern: /Lambda \$(\d+\.\d+) \(with an assumed \d+ ms wait/,
    expected: line(defaults, 'Lambda requests') + line(defaults, 'Lambda duration'),
  },
  { pattern: /logs and metrics \$(\d+\.\d+)/, expected: line(defaults, 'CloudWatch Logs ingestion') },
  { pattern: /Secrets Manager \$(\d+\.\d+);/, expected: line(defaults, 'Secrets Manager') },
  { pattern: /\$(\d+\.\d+) with the scheduled backfill's lookups/, expected: defaults.total + backfillPerM },
  {
    pattern: /and \$(\d+\.\d+) during the dedup window after an upgrade/,
    expected: cost({ dedup: 'record-legacy', handlerCpuMs: bench.cost.legacyCheck.handlerCpuMs1k }).total,
  },
  { pattern: /`claim` \(two writes; JoggAI's default\) makes it \$(\d+\.\d+)/, expected: cost({ dedup: 'claim' }).total },
  { pattern: /`dedup: false` \$(\d+\.\d+)/, expected: cost({ dedup: 'off' }).total },
  { pattern: /an unbatched SQS consumer adds \$(\d+\.\d+)/, expected: cost({ consumerBatch: 1 }).total - defaults.total },
].map((f) => ({ ...f, page: 'docs/testing.md', decimals: 2 }));

const BEHAVIOUR: Figure[] = [
  {
    pattern: /1 RRU \+ 1 WRU, \$(\d+\.\d+)\/M/,
    expected: DEDUP_UNITS.record.reads * PRICES.dynamoRruPerM + DEDUP_UNITS.record.writes * PRICES.dynamoWruPerM,
  },
  {
    pattern: /\(2 WRU, \$(\d+\.\d+)\/M\)/,
    expected: DEDUP_UNITS.claim.reads * PRICES.dynamoRruPerM + DEDUP_UNITS.claim.writes * PRICES.dynamoWruPerM,
  },
].map((f) => ({ ...f, page: 'docs/behaviour.md', decimals: 2 }));

const BENCHMARKS: Figure[] = [
  { pattern: /all-in at defaults \([^)]*\) \| \$(\d+\.\d+) \|/, expected: defaults.total },
  { pattern: /\| \*\*total\*\* \| \| \*\*\$(\d+\.\d+)\*\* \|/, expected: defaults.total },
  { pattern: /\| dedup mode 'claim' \([^|]*\| \$(\d+\.\d+) \|/, expected: cost({ dedup: 'claim' }).total },
  { pattern: /\| dedup off \| \$(\d+\.\d+) \|/, expected: cost({ dedup: 'off' }).total },
  { pattern: /\| unbatched consumer \([^|]*\| \$(\d+\.\d+) \|/, expected: cost({ consumerBatch: 1 }).total },
].map((f) => ({ ...f, page: 'BENCHMARKS.md', decimals: 3 }));

describe('docs figures: the cost per million deliveries, recomputed from scripts/bench/lib/cost.ts', () => {
  it("bench-results.json's defaults are what the model gives for its measured inputs (prices changed without a bench run fail here)", () => {
    expect(bench.cost.prices).toEqual(PRICES);
    expect(defaults.total).toBeCloseTo(bench.cost.defaults.total, 3);
    expect(defaults.lines.map((l) => [l.part, l.perMillion.toFixed(4)])).toEqual(
      bench.cost.defaults.lines.map((l) => [l.part, l.perMillion.toFixed(4)]),
    );
  });

  it('the backfill figure rests on the plan: 1.25 BatchGetItem keys per delivery', () => {
    const b = BACKFILL_DEFAULTS_FOR_COST;
    const keys = (b.sweepEveryHours + b.lateHours) / b.sweepEveryHours;
    expect(page('docs/testing.md')).toContain(`(${keys} BatchGetItem keys per delivery`);
    expect(backfillRunCost(10_000).perMillionDeliveries).toBe(backfillPerM);
  });

  it('the assumptions the docs state are the inputs used (256 MB, 25 ms wait, batches of 10, record)', () => {
    const text = page('docs/testing.md');
    expect(text).toContain(`with an assumed ${measured.awsWaitMs} ms wait on AWS per delivery`);
    expect(text).toContain(
      `(256 MB arm64, HeyGen's dedup mode \`${DEFAULTS.dedup}\`, 1 KB bodies, a Lambda SQS consumer batching ${DEFAULTS.consumerBatch})`,
    );
  });

  for (const [name, figures] of [
    ['docs/testing.md', TESTING],
    ['docs/behaviour.md', BEHAVIOUR],
    ['BENCHMARKS.md', BENCHMARKS],
  ] as const)
    it(`every cost figure of ${name} agrees with the model`, () => {
      const text = page(name);
      expect(figures.map((f) => figureProblem(text, f)).filter(Boolean)).toEqual([]);
    });

  it('a figure that disagrees, or a sentence that changed, is reported (seeded mistakes)', () => {
    const text = page('docs/testing.md');
    const right = TESTING[0] as Figure;
    expect(figureProblem(text, right)).toBeUndefined();
    const wrong = text.replace(/about \*\*\$\d+\.\d+ per million/, 'about **$2.70 per million');
    expect(figureProblem(wrong, right)).toMatch(
      /docs\/testing\.md: "about \*\*\$2\.70 per million deliveries\*\* at the defaults" says 2\.70, the cost model gives 2\.71/,
    );
    expect(figureProblem('no figure here', right)).toMatch(/no text matches/);
    const pricier = costPerMillion({ ...DEFAULTS, dedup: 'claim' }).total;
    expect(figureProblem(text, { ...right, expected: pricier })).toBeDefined();
  });
});

describe('docs figures: the archive cost per GiB (docs/archive.md), recomputed from archiveCostPerGiB', () => {
  const text = page('docs/archive.md');
  const rate = /Cost per GiB archived \([^)]*, (\d+) MB\/s as measured for 2048 MiB here\)/.exec(text);
  const tableRate = /\| 2048 MiB \| \d+ \| (\d+) \|/.exec(text);

  it('quotes the rate of its own 2048 MiB row, at the construct default memory and part size', () => {
    expect(rate?.[1]).toBeDefined();
    expect(rate?.[1]).toBe(tableRate?.[1]);
    expect(text).toContain(`arm64 Lambda at ${ARCHIVER_MB} MB`);
    expect(text).toContain(`PUT-class (${ARCHIVE_PART_MIB} MiB parts)`);
    expect(text).toContain(`storage then $${S3_PRICES.storageGbMonth} per GB-month`);
  });

  it('every figure of the cost lines is what the model gives at that rate (the rate as printed: within half a MB/s)', () => {
    const mbPerS = Number(rate?.[1]);
    // The text prints the rate rounded; each figure must fit some rate that rounds to it.
    const range = [mbPerS - 0.5, mbPerS + 0.499].map(archiveCostPerGiB) as [
      ReturnType<typeof archiveCostPerGiB>,
      ReturnType<typeof archiveCostPerGiB>,
    ];
    const within = (quoted: string | undefined, pick: (c: ReturnType<typeof archiveCostPerGiB>) => number, decimals: number) => {
      const [hi, lo] = range.map(pick) as [number, number]; // slower rate: more seconds, more dollars
      const q = Number(quoted);
      return q >= Number(lo.toFixed(decimals)) && q <= Number(hi.toFixed(decimals));
    };
    const m =
      /- Lambda: ([\d.]+) s x 1 GB x \$[\d.]+ = \$([\d.]+) - S3 requests: (\d+) PUT-class \(16 MiB parts\) \$([\d.]+) \+ 1 HEAD \$([\d.]+) .*?- total per GiB copied: \$([\d.]+);/.exec(
        text,
      );
    expect(m).not.toBeNull();
    const [, seconds, lambda, puts, putDollars, head, total] = m as unknown as string[];
    const fixed = archiveCostPerGiB(mbPerS);
    expect({
      seconds: within(seconds, (c) => c.seconds, 1),
      lambda: within(lambda, (c) => c.lambda, 6),
      total: within(total, (c) => c.total, 5),
      putRequests: Number(puts),
      putDollars,
      head,
    }).toEqual({
      seconds: true,
      lambda: true,
      total: true,
      putRequests: fixed.putRequests,
      putDollars: fixed.puts.toFixed(6),
      head: fixed.gets.toFixed(7),
    });
  });
});
