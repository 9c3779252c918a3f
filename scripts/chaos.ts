/**
 * `npm run chaos [-- --runs N] [--seed S] [--path P] [--json] [--no-write] [--seed-bug <name>|all]`:
 * explores many schedules of the lifecycle model (test/support/lifecycle-chaos.ts: the ingress, the
 * registrar, rotations, the backfill, strangers, a neighbour endpoint, a second stack, outages, faults
 * on every call) and prints a summary: violations by kind, events lost, published twice (by the named
 * fault on their path), needless rotations, foreign events, and a coverage count for every outcome
 * and fault class. Exits 1 when an invariant broke or a class it must cover stayed at 0 (a model that
 * cannot fail proves nothing), and writes the figures into RELIABILITY.md between the `chaos`
 * markers (not with --seed, --path, --seed-bug or --no-write).
 *
 * A violating schedule is printed with its replay: `npm run chaos -- --seed S --path P` runs that one
 * schedule and prints its violations and last scheduled calls.
 *
 * `--seed-bug <name>` applies one seeded bug (test/support/chaos-seeds.ts) and reports after how many
 * schedules the model caught it (an invariant of the kinds the bug breaks); `all` runs each in turn
 * and writes the table into RELIABILITY.md (between the `chaos-seeds` markers).
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { Command } from 'commander';
import fc from 'fast-check';
import { FakeHeyGenApi } from '../test/fakes/heygen-api.js';
import { isSeedBug, SEED_BUGS, type SeedBug } from '../test/support/chaos-seeds.js';
import {
  type ChaosStats,
  emptyStats,
  lifecycleProperty,
  REQUIRED_COVERAGE,
  type Violation,
} from '../test/support/lifecycle-chaos.js';

// The SDK's notice that its 2027 releases need Node 22 (9 lines on stderr on Node 20) is not the
// model's output: the same switch as the CLI and the test config (README, "Node versions").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const opts = new Command()
  .name('chaos')
  .option('--runs <n>', 'schedules to explore (per seeded bug: at most)', '2000')
  .option('--seed <n>', 'fast-check seed')
  .option('--path <p>', 'replay one schedule (with --seed)')
  .option('--json', 'print the summary as JSON', false)
  .option('--no-write', 'do not write RELIABILITY.md')
  .option('--seed-bug <name>', `apply a seeded bug: ${Object.keys(SEED_BUGS).join(', ')}, or all`)
  .parse()
  .opts<{ runs: string; seed?: string; path?: string; json: boolean; write: boolean; seedBug?: string }>();

const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

interface Example {
  readonly kind: string;
  readonly message: string;
  readonly replay: string;
}

interface Explored {
  readonly stats: ChaosStats;
  readonly seed: number;
  readonly schedules: number;
  readonly seconds: number;
  readonly examples: Example[];
  /** The replay of every schedule with a violation (the first 40), with its kinds. */
  readonly replays: string[];
  /** Schedules until the first violation of `kinds` (seeded bugs), or null. */
  readonly caughtAt: number | null;
  readonly caughtBy?: Violation;
  /** The violation kinds of each schedule, by index. */
  readonly kinds: Set<string>[];
}

async function explore(
  heygen: FakeHeyGenApi,
  numRuns: number,
  seed: number,
  options: {
    seedBug?: SeedBug;
    path?: string;
    stopOn?: readonly string[];
    /** Violations (by schedule index, kind) the code without the seeded bug has too: they do not count as caught. */
    baseline?: readonly Set<string>[];
  } = {},
): Promise<Explored> {
  const stats = emptyStats();
  const examples: Example[] = [];
  const replays: string[] = [];
  let index = 0;
  const kinds: Set<string>[] = [];
  let caughtAt: number | null = null;
  let caughtBy: Violation | undefined;
  const started = Date.now();
  const replaying = options.path !== undefined;
  const property = lifecycleProperty(heygen, stats, {
    ...(options.seedBug ? { seedBug: options.seedBug } : {}),
    failOnViolation: replaying,
    skip: () => caughtAt !== null,
    onRun: (violations) => {
      kinds[index] = new Set(violations.map((v) => v.kind));
      const known = options.baseline?.[index];
      index++;
      if (violations.length > 0 && replays.length < 40)
        replays.push(`--seed ${seed} --path ${index - 1}: ${[...new Set(violations.map((v) => v.kind))].join(', ')}`);
      for (const v of violations)
        if (examples.filter((e) => e.kind === v.kind).length < 2)
          examples.push({ kind: v.kind, message: v.message, replay: `--seed ${seed} --path ${index - 1}` });
      // A kind may name its cause after a slash (`needless-rotation/skew`): a seeded bug is caught by its base kind.
      const hit = violations.find((v) => options.stopOn?.includes(v.kind.split('/')[0] as string) && !known?.has(v.kind));
      if (hit && caughtAt === null) {
        caughtAt = index;
        caughtBy = hit;
      }
    },
  });
  const result = await fc.check(property, { numRuns, seed, ...(replaying ? { path: options.path, endOnFailure: true } : {}) });
  if (replaying && result.failed)
    console.error(String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance));
  return {
    stats,
    seed,
    schedules: index,
    seconds: (Date.now() - started) / 1000,
    examples,
    replays,
    caughtAt,
    ...(caughtBy ? { caughtBy } : {}),
    kinds,
  };
}

function summary(e: Explored) {
  const zero = REQUIRED_COVERAGE.filter((c) => (e.stats.coverage[c] ?? 0) === 0);
  const coverage = Object.fromEntries(Object.entries(e.stats.coverage).sort(([a], [b]) => a.localeCompare(b)));
  return {
    schedules: e.schedules,
    seed: e.seed,
    seconds: Math.round(e.seconds * 10) / 10,
    schedulesWithViolations: e.stats.failedRuns,
    violations: e.stats.violations,
    eventsAddressedToUs: e.stats.eventsDelivered,
    lost: e.stats.lost,
    lostButAlarmed: e.stats.lostAlarmed,
    publishedTwice: e.stats.publishedTwice,
    duplicatesByFault: e.stats.duplicatesByFault,
    needlessRotations: e.stats.needlessRotations,
    foreignEvents: e.stats.foreignEvents,
    lostByUnseenSubscriptionChange: e.stats.lostUnseenSubscription,
    foreignByUnseenSubscriptionChange: e.stats.foreignUnseenSubscription,
    idMismatches: e.stats.idMismatches,
    backfilled: e.stats.backfilled,
    requiredCoverage: Object.fromEntries(REQUIRED_COVERAGE.map((c) => [c, e.stats.coverage[c] ?? 0])),
    neverExercised: zero,
    coverage,
    wallClockReads: e.stats.wallClockReads,
    examples: e.examples,
    violatingSchedules: e.replays,
  };
}

const START = '<!-- chaos:start -->';
const END = '<!-- chaos:end -->';
const SEEDS_START = '<!-- chaos-seeds:start -->';
const SEEDS_END = '<!-- chaos-seeds:end -->';

async function writeSection(start: string, end: string, lines: string[]): Promise<void> {
  const file = 'RELIABILITY.md';
  const doc = await readFile(file, 'utf8');
  const section = [start, ...lines, end].join('\n');
  const next = doc.includes(start)
    ? doc.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => section)
    : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(file, next);
  console.error(`wrote ${file}`);
}

/** The commit measured (with `+changes` when the work tree differs from it). */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

const machine = () =>
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, commit ${commit()}.`;

function table(rec: Record<string, number>, head: [string, string]): string[] {
  const rows = Object.entries(rec).sort(([, a], [, b]) => b - a);
  if (rows.length === 0) return ['(none)'];
  return [`| ${head[0]} | ${head[1]} |`, '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

function section(title: string, body: string[]): string[] {
  return [`### ${title}`, '', ...body, ''];
}

function report(s: ReturnType<typeof summary>): string[] {
  return [
    '## Self-healing model: explored schedules (`npm run chaos`)',
    '',
    machine(),
    `Command: \`npm run chaos -- --runs ${s.schedules}\` (seed ${s.seed}), ${s.seconds} s. Model: test/support/lifecycle-chaos.ts`,
    '(faults: test/support/chaos-faults.ts; one clock: test/support/model-clock.ts). Every call of the ingress, the',
    'backfill, the registrar and the rotation to DynamoDB, PutEvents, Secrets Manager, HeyGen and the lease can crash the',
    'process, fail before it, lose its answer after it, or hang until the caller gives up; strangers, a neighbour endpoint,',
    "changes of our endpoint's subscribed types, dashboard rotations, a second stack on the URL, disabled endpoints, outages longer than the dedup window and than",
    "HeyGen's history, and idle days run among them. Invariants once quiet: see the model's header.",
    '',
    `- Schedules: ${s.schedules}; with a violation: ${s.schedulesWithViolations}`,
    `- Events HeyGen addressed to us: ${s.eventsAddressedToUs}; lost without an alarm: ${s.lost}; lost with an alarm: ${s.lostButAlarmed}; backfilled: ${s.backfilled}`,
    `- Published twice: ${s.publishedTwice}; needless rotations: ${s.needlessRotations}; foreign events on the bus: ${s.foreignEvents}; copies with another id: ${s.idMismatches}`,
    `- By a subscription change no backfill run listed (not violations; the relay cannot see them): lost ${s.lostByUnseenSubscriptionChange}, on our bus though not ours ${s.foreignByUnseenSubscriptionChange}`,
    `- Coverage classes never exercised: ${s.neverExercised.length === 0 ? 'none' : s.neverExercised.join(', ')}`,
    '',
    ...section('Violations by kind (schedules can have several)', table(s.violations, ['invariant', 'violations'])),
    ...section(
      'Extra copies on the bus, by the named fault on their path',
      table(s.duplicatesByFault, ['fault(s)', 'extra copies']),
    ),
    ...section('Coverage (required classes)', table(s.requiredCoverage, ['class', 'count'])),
    ...section('Wall-clock reads during model runs (code that takes no clock)', table(s.wallClockReads, ['call site', 'reads'])),
    '### Example violations (replay with `npm run chaos -- <replay>`)',
    '',
    ...(s.examples.length === 0 ? ['(none)'] : s.examples.map((e) => `- \`${e.replay}\` [${e.kind}] ${e.message}`)),
    ...(s.violatingSchedules.length === 0
      ? []
      : ['', 'Every schedule with a violation (the first 40):', '', ...s.violatingSchedules.map((r) => `- \`${r}\``)]),
  ];
}

async function main(): Promise<number> {
  const heygen = await FakeHeyGenApi.start();
  try {
    const seed = opts.seed !== undefined ? Number(opts.seed) : Date.now() ^ (Math.random() * 0x100000000);
    if (opts.seedBug !== undefined) return await seeded(heygen, seed);
    const explored = await explore(heygen, opts.path !== undefined ? 1 : runs, seed, opts.path ? { path: opts.path } : {});
    const s = summary(explored);
    if (opts.json) console.log(JSON.stringify(s, null, 2));
    else console.log(report(s).join('\n'));
    if (opts.write && opts.seed === undefined && opts.path === undefined) await writeSection(START, END, report(s));
    const failed = s.schedulesWithViolations > 0 || s.neverExercised.length > 0;
    if (s.neverExercised.length > 0) console.error(`never exercised: ${s.neverExercised.join(', ')}`);
    return failed ? 1 : 0;
  } finally {
    await heygen.close();
  }
}

/** `--seed-bug`: schedules until the model catches each seeded bug. */
async function seeded(heygen: FakeHeyGenApi, seed: number): Promise<number> {
  const names = opts.seedBug === 'all' ? (Object.keys(SEED_BUGS) as SeedBug[]) : [opts.seedBug as string];
  const rows: { bug: string; what: string; caughtAt: number | null; by?: Violation; seconds: number }[] = [];
  // The same schedules without a seeded bug: a violation they have too is the code's, not the bug's.
  const baseline = await explore(heygen, runs, seed);
  const baselineViolations = baseline.stats.failedRuns;
  console.error(`baseline (no seeded bug): ${baselineViolations} of ${baseline.schedules} schedules with a violation`);
  for (const name of names) {
    if (!isSeedBug(name)) throw new Error(`unknown seeded bug ${name}: ${Object.keys(SEED_BUGS).join(', ')}`);
    const e = await explore(heygen, runs, seed, { seedBug: name, stopOn: SEED_BUGS[name].caughtBy, baseline: baseline.kinds });
    rows.push({
      bug: name,
      what: SEED_BUGS[name].what,
      caughtAt: e.caughtAt,
      ...(e.caughtBy ? { by: e.caughtBy } : {}),
      seconds: e.seconds,
    });
    console.error(
      `${name}: ${e.caughtAt === null ? `NOT caught in ${runs} schedules` : `caught after ${e.caughtAt} schedule(s)`} ${e.caughtBy ? `[${e.caughtBy.kind}] ${e.caughtBy.message}` : ''}`,
    );
  }
  if (opts.json) console.log(JSON.stringify({ seed, maxSchedules: runs, baselineViolations, bugs: rows }, null, 2));
  if (opts.seedBug === 'all' && opts.write)
    await writeSection(SEEDS_START, SEEDS_END, [
      '## Seeded bugs: schedules until the model caught each (`npm run chaos -- --seed-bug all`)',
      '',
      machine(),
      `Command: \`npm run chaos -- --seed-bug all --runs ${runs} --seed ${seed}\`. Each bug is a test-only swap the model applies`,
      '(test/support/chaos-seeds.ts); caught = the first schedule that broke an invariant of the kinds the bug breaks, where the',
      `same schedule without the bug did not (the code without a seeded bug: ${baselineViolations} of ${runs} schedules with a violation).`,
      '',
      '| seeded bug | what it does | schedules until caught | caught by |',
      '| --- | --- | ---: | --- |',
      ...rows.map(
        (r) =>
          `| \`${r.bug}\` | ${r.what} | ${r.caughtAt ?? `not in ${runs}`} | ${r.by ? `[${r.by.kind}] ${r.by.message.replace(/\|/g, '\\|')}` : '-'} |`,
      ),
    ]);
  return rows.every((r) => r.caughtAt !== null) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
