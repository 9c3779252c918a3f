/**
 * `npm run chaos [-- --runs N] [--seed S] [--no-write]`: explores many schedules of the HeyGen secret
 * lifecycle model (test/support/lifecycle-chaos.ts: concurrent registrar runs, rotations with
 * Secrets Manager's retries, CLI runs that crash or stall, operator writes, changes at HeyGen) and
 * writes the figures into RELIABILITY.md between the `chaos` markers. A violation prints fast-check's
 * seed and path (replay: `npm run chaos -- --seed S --path P`) and the scenario, and exits 1.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { FakeHeyGenApi } from '../test/fakes/heygen-api.js';
import { type ChaosScenario, emptyStats, lifecycleProperty } from '../test/support/lifecycle-chaos.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const START = '<!-- chaos:start -->';
const END = '<!-- chaos:end -->';

async function main(): Promise<number> {
  const heygen = await FakeHeyGenApi.start();
  const stats = emptyStats();
  const started = Date.now();
  let result: fc.RunDetails<[fc.Scheduler, ChaosScenario]>;
  try {
    result = await fc.check(lifecycleProperty(heygen, stats), {
      numRuns: runs,
      ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
      ...(values.path !== undefined ? { path: values.path } : {}),
    });
  } finally {
    await heygen.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const violations = result.failed ? 1 : 0;
  const lines = [
    `Schedules explored: ${result.numRuns} (${stats.runs} runs including shrinking), seed ${result.seed}, ${seconds.toFixed(1)} s`,
    `Calls scheduled: ${stats.scheduledCalls}; crashes injected: ${stats.crashes}; CLI stalls past the lease: ${stats.stalls}`,
    `Registrar/CLI runs: ${stats.registrarRuns} (${stats.busy} found the lease busy); rotations started: ${stats.rotationsStarted}`,
    `Operator writes: ${stats.operatorWrites}; changes at HeyGen: ${stats.providerChanges}`,
    `Events HeyGen delivered: ${stats.eventsDelivered}; attempts rejected: ${stats.attemptsRejected}; never received (relay down): ${stats.eventsNotReceived}; backfilled: ${stats.backfilled}; lost: ${stats.lost}; published twice: ${stats.publishedTwice}`,
    `Scheduled backfill runs: ${stats.backfillRuns} (${stats.sweeps} sweeps, the rest freshness runs or busy)`,
    `Invariant violations: ${violations}`,
  ];
  for (const l of lines) console.log(l);
  if (result.failed) {
    console.error(`\nVIOLATION (seed ${result.seed}, path ${result.counterexamplePath}):`);
    console.error(String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance));
    console.error(`scenario: ${JSON.stringify(result.counterexample?.[1])}`);
  }
  if (!values['no-write'] && values.seed === undefined) {
    const file = 'RELIABILITY.md';
    const doc = await readFile(file, 'utf8');
    const section = [
      START,
      '## Secret lifecycle: explored schedules (`npm run chaos`)',
      '',
      `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.`,
      'Model: test/support/lifecycle-chaos.ts. Concurrent registrar runs, CLI runs (which may also stall past their lease),',
      'Secrets Manager rotations with its step retries, operator writes and changes at HeyGen (endpoint deleted, URL edited,',
      'disabled); fast-check orders every call and injects crashes before or after any of them. Invariant once quiet (leases',
      'expired, one registrar run): one endpoint points at the relay with the configured events, the ingress accepts',
      "HeyGen's current secret, no retired secret stays in AWSPENDING, and a rotation still finishes on HeyGen's secret.",
      'HeyGen also delivers events meanwhile (some to a relay that is down; refused attempts retried up to twice), listed in',
      'its event history; scheduled backfill runs (scheduledBackfill, as the hourly Lambda) run and crash among the rest, and',
      'after the quiet registrar run the hourly backfill runs for a day with no trouble needed (the daily sweep looks at every',
      'entry): every event HeyGen delivered must be on the bus exactly once (ingress dedup mode `record` or `claim`, drawn per',
      'schedule).',
      '',
      ...lines.map((l) => `- ${l}`),
      END,
    ].join('\n');
    const next = doc.includes(START)
      ? doc.replace(new RegExp(`${START}[\\s\\S]*?${END}`), section)
      : `${doc.trimEnd()}\n\n${section}\n`;
    await writeFile(file, next);
    console.log(`\nwrote ${file}`);
  }
  return result.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
