/**
 * `npm run reliability`: runs the reliability tests (test/integration against the moto emulator,
 * hostile input, cfn-lint, the secret-leak scan) and writes RELIABILITY.md from the figures the
 * tests wrote to .reliability/*.json during THIS run. Exits with vitest's exit code (the report is
 * written either way, and says which tests failed).
 *
 * Made for a shared, loaded 2-core machine: the files run one after another (no two e2e runs
 * competing for the cores), and the run gives tests longer time limits (the 1,000-delivery e2e
 * RELIABILITY_E2E_TIMEOUT_MS, the others --testTimeout); every assertion stays the same. The
 * chaos section (written by scripts/chaos.ts between its markers) is kept as it is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const DIR = join(ROOT, '.reliability');
const OUT = join(ROOT, 'RELIABILITY.md');
const FILES = [
  'test/integration/relay-e2e.test.ts',
  'test/integration/joggai-e2e.test.ts',
  'test/integration/relay-rotation.test.ts',
  'test/integration/relay-faults.test.ts',
  'test/integration/relay-secrets-outage.test.ts',
  'test/integration/relay-sdk-budget.test.ts',
  'test/integration/relay-hostile.test.ts',
  'test/integration/parked-s3.test.ts',
  'test/integration/cfn-lint.test.ts',
  'test/integration/log-capture.test.ts',
];

/** Time limits for this run (the tests' own are tighter): generous, since they only stop a stuck run. */
const TEST_TIMEOUT_MS = Number(process.env.RELIABILITY_TEST_TIMEOUT_MS) || 300_000;
const E2E_TIMEOUT_MS = Number(process.env.RELIABILITY_E2E_TIMEOUT_MS) || 900_000;
const CHAOS_START = '<!-- chaos:start -->';
const CHAOS_END = '<!-- chaos:end -->';

/** The section scripts/chaos.ts maintains in RELIABILITY.md, kept across this script's rewrites. */
function chaosSection(): string | undefined {
  if (!existsSync(OUT)) return undefined;
  const doc = readFileSync(OUT, 'utf8');
  const a = doc.indexOf(CHAOS_START);
  const b = doc.indexOf(CHAOS_END);
  return a >= 0 && b > a ? doc.slice(a, b + CHAOS_END.length) : undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: the figures are untyped JSON written by the tests
type Json = Record<string, any>;

function read(name: string): Json | undefined {
  const f = join(DIR, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Json) : undefined;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

function main(): number {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const tools = spawnSync(process.execPath, ['scripts/ensure-python-tools.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (tools.status !== 0) return tools.status ?? 1;

  // The project's vitest config, plus the log capture (setupFiles + globalSetup) if it lacks it.
  const base = ['vitest.config.mts', 'vitest.config.ts', 'vitest.config.js'].find((f) => existsSync(join(ROOT, f)));
  if (!base) throw new Error('no vitest config found');
  let configFile = join(ROOT, base);
  if (!readFileSync(configFile, 'utf8').includes('log-capture')) {
    configFile = join(DIR, 'vitest.reliability.config.mts');
    writeFileSync(
      configFile,
      [
        "import { defineConfig, mergeConfig } from 'vitest/config';",
        `import base from '../${base}';`,
        'export default mergeConfig(base, defineConfig({',
        `  root: ${JSON.stringify(ROOT)},`,
        "  test: { setupFiles: ['./test/support/log-capture.ts'], globalSetup: ['./test/support/log-capture.ts'] },",
        '}));',
        '',
      ].join('\n'),
    );
  }
  const started = Date.now();
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  const vitest = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      configFile,
      ...FILES,
      // One file at a time: under load, parallel e2e files starved each other past their limits.
      '--no-file-parallelism',
      `--testTimeout=${TEST_TIMEOUT_MS}`,
      `--hookTimeout=${TEST_TIMEOUT_MS}`,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${join(DIR, 'vitest.json')}`,
    ],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, CDK_VALIDATION: 'false', RELIABILITY_E2E_TIMEOUT_MS: String(E2E_TIMEOUT_MS) },
    },
  );
  const elapsedS = Math.round((Date.now() - started) / 1000);
  const code = vitest.status ?? 1;
  const chaos = chaosSection();
  writeFileSync(OUT, `${render(elapsedS, code, loadBefore)}${chaos ? `\n${chaos}\n` : ''}`);
  console.log(`\nwrote ${OUT} (vitest exit ${code}, ${elapsedS} s)`);
  return code;
}

function num(v: unknown): string {
  return typeof v === 'number' ? v.toLocaleString('en-US') : v === undefined ? 'n/a' : String(v);
}

function render(elapsedS: number, code: number, loadBefore: number[]): string {
  // The same load in both dedup modes: `record` (HeyGen's default) and `claim`.
  const [e2e, e2eClaim, rot, faults, hostile, outage, parkedS3, lint, jogE2e, jogRot, logs, results] = [
    'e2e',
    'e2e-claim',
    'rotation',
    'faults',
    'hostile',
    'secrets-outage',
    'parked-s3',
    'cfn-lint',
    'joggai-e2e',
    'joggai-rotation',
    'log-scan',
    'vitest',
  ].map(read);
  const tests: { file: string; name: string; status: string; ms: number }[] = [];
  for (const f of (results?.testResults ?? []) as Json[])
    for (const a of (f.assertionResults ?? []) as Json[])
      tests.push({
        file: String(f.name).replace(`${ROOT}/`, ''),
        name: String(a.fullName ?? a.title),
        status: String(a.status),
        ms: Math.round(Number(a.duration ?? 0)),
      });
  const failed = tests.filter((t) => t.status === 'failed');
  const lost = [
    e2e?.eventsLost,
    e2eClaim?.eventsLost,
    rot?.eventsLost,
    faults?.eventsLost,
    outage?.eventsLost,
    jogE2e?.eventsLost,
    jogRot?.eventsLost,
  ].reduce<number>((s, v) => s + (typeof v === 'number' ? v : 0), 0);
  // Mode `record` publishes a copy sent while the first is in flight by design: counted apart.
  const dups = [
    e2eClaim?.duplicatesPublished,
    rot?.duplicatesPublished,
    faults?.duplicatesPublished,
    jogE2e?.duplicatesPublished,
    jogRot?.publishedTwice,
  ].reduce<number>((s, v) => s + (typeof v === 'number' ? v : 0), 0);
  const moto = sh(join(ROOT, '.venv', 'bin', 'python'), ['-c', 'import moto; print(moto.__version__)']);
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const L: string[] = [];
  L.push('# Reliability report', '');
  L.push(
    `Generated by \`npm run reliability\` (scripts/reliability.ts) from the figures of one real run: ${new Date().toISOString()}, commit ${commit}, ` +
      `Node ${process.version}, moto ${moto} (AWS emulator, server mode), ${elapsedS} s wall clock, vitest exit code ${code}; load average at start ${loadBefore.join(' / ')} on ${cpus().length} cores, load average at the end ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')}. Do not edit by hand.`,
    '',
  );
  L.push('## Summary', '', '| Figure | Value |', '| --- | --- |');
  const row = (k: string, v: unknown) => L.push(`| ${k} | ${num(v)} |`);
  row('Deliveries sent end to end (real Lambda entry, real SDK v3, moto)', e2e?.deliveriesSent);
  row('Concurrency (execution environments)', e2e?.concurrency);
  row('Duplicates injected', e2e?.duplicatesInjected);
  row('Signing-secret rotations under load', rot?.rotations);
  row('Deliveries during rotations', rot?.deliveries);
  row(
    'JoggAI deliveries end to end (duplicates injected)',
    jogE2e ? `${num(jogE2e.deliveriesSent)} (${num(jogE2e.duplicatesInjected)})` : undefined,
  );
  row(
    'JoggAI overlap rotation: events (sent by both endpoints)',
    jogRot ? `${num(jogRot.events)} (${num(jogRot.deliveredByBothEndpoints)})` : undefined,
  );
  row('Faults injected on the wire', faults?.faultsInjected);
  row(
    'Fault scenarios survived (5xx inside the deadline, then exactly once)',
    faults ? `${faults.scenariosSurvived} / ${faults.scenariosTotal}` : undefined,
  );
  row('Hostile inputs tried (fast-check)', hostile?.hostileInputsTried);
  row('**Events lost**', lost);
  row('**Duplicates published** (every test but the mode-`record` end-to-end run)', dups);
  row(
    'Mode `record` end to end: copies sent while another was in flight / published twice (allowed by design)',
    e2e ? `${num(e2e.copiesSentMidFlight)} / ${num(e2e.publishedTwiceByIngress)}` : undefined,
  );
  row('Log lines scanned for secrets, API keys, signatures', logs?.linesScanned);
  row('Secret leaks found', logs?.leaks);
  row('cfn-lint errors (templates linted)', lint ? `${lint.errors} (${lint.templates})` : undefined);
  row('Tests passed / failed', `${tests.filter((t) => t.status === 'passed').length} / ${failed.length}`);
  L.push('');

  for (const run of [e2e, e2eClaim]) {
    if (!run) continue;
    L.push(`## End to end, dedup mode \`${run.dedupMode}\` (test/integration/relay-e2e.test.ts)`, '');
    L.push(
      'The bus, rules, queues, DLQs, dedup table and signing secret are created on moto from the synthesized `HeyGenRelayStack` template; ' +
        "the ingress is the real Lambda entry (functions/entries/ingress.ts) reading the function's Environment from that template with references resolved. " +
        `Each of the ${run.concurrency} concurrent senders is its own execution environment (fresh module graph). A non-2xx answer is retried like HeyGen would. ` +
        'The copies are spread through the stream, many of them sent while their original is still in flight (HeyGen, by its documentation, resends only after an attempt failed or timed out). ' +
        (run.dedupMode === 'claim'
          ? 'Mode `claim` answers those 409 and the retry is a 200 duplicate: every event exactly once.'
          : `Mode \`record\` publishes such a copy too (docs/behaviour.md, "Dedup modes"): ${num(run.copiesSentMidFlight)} copies were sent mid-flight and ${num(run.publishedTwiceByIngress)} events were published twice; copies sent after the first answer were all answered 200 duplicate.`),
      '',
    );
    L.push(
      `- Deliveries: ${num(run.deliveriesSent)} (${num(run.uniqueEvents)} unique events + ${num(run.duplicatesInjected)} byte-identical duplicates), ${num(run.providerRetries)} provider retries`,
    );
    L.push(
      `- First-attempt outcomes: ${Object.entries(run.firstAttemptOutcomes ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    L.push(
      `- Published: ${num(run.published)}; DLQ messages: ${num(run.dlqMessages)}; elapsed ${num(run.elapsedMs)} ms; latency p50 ${run.latencyMs?.p50} ms, p99 ${run.latencyMs?.p99} ms, max ${run.latencyMs?.max} ms (moto is the bottleneck)`,
    );
    L.push('', '| Queue (logical id) | Expected | Received | Lost | Extra |', '| --- | --- | --- | --- | --- |');
    for (const [q, v] of Object.entries((run.queues ?? {}) as Record<string, Json>))
      L.push(`| ${q} | ${v.expected} | ${v.received} | ${v.lost} | ${v.extra} |`);
    L.push(
      '',
      `Not provisioned on the emulator (not on the data path): ${Object.entries(run.skippedResourceTypes ?? {})
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')}.`,
      '',
    );
  }
  if (rot) {
    L.push('## Rotation under load (test/integration/relay-rotation.test.ts)', '');
    L.push(
      `${rot.rotations} rotations through Secrets Manager's four steps (providers/heygen/runtime/rotation.ts on moto; a fake HeyGen switches secrets when rotate-secret answers), ` +
        `${rot.executionEnvironments} execution environments delivering throughout, each attempt signed with the secret HeyGen uses at that moment.`,
      '',
    );
    L.push(
      `- Deliveries: ${num(rot.deliveries)} (${num(rot.attempts)} attempts); first-attempt outcomes: ${Object.entries(
        rot.firstAttemptOutcomes ?? {},
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    L.push(
      `- First-attempt rejections: ${num(rot.firstAttemptRejections)} (the window between HeyGen switching and the new secret being readable), all retried successfully (${num(rot.providerRetries)} retries)`,
    );
    L.push(
      `- rotate-secret calls: ${num(rot.rotateSecretCalls)}; secrets issued: ${num(rot.secretsIssued)} (a retried createSecret did not rotate again); AWSPREVIOUS accepted within grace: ${rot.previousAcceptedWithinGrace}`,
    );
    L.push(`- Lost: ${num(rot.eventsLost)}; duplicates published: ${num(rot.duplicatesPublished)}`, '');
  }
  if (jogE2e || jogRot) {
    L.push('## JoggAI (test/integration/joggai-e2e.test.ts)', '');
    if (jogE2e)
      L.push(
        `- End to end: ${num(jogE2e.deliveriesSent)} signed deliveries at concurrency ${num(jogE2e.concurrency)} (${num(jogE2e.uniqueEvents)} unique + ${num(jogE2e.duplicatesInjected)} duplicates), ${num(jogE2e.providerRetries)} retries; first attempts ${Object.entries(
          jogE2e.firstAttemptOutcomes ?? {},
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(
            ', ',
          )}; ${num(jogE2e.inDefaultQueue)} in the default queue; lost ${num(jogE2e.eventsLost)}, published twice ${num(jogE2e.duplicatesPublished)}`,
      );
    if (jogRot)
      L.push(
        `- Rotation by overlapping endpoints: ${num(jogRot.events)} events, ${num(jogRot.deliveredByBothEndpoints)} delivered by both endpoints, ${num(jogRot.attempts)} attempts; first-attempt rejections ${num(jogRot.firstAttemptRejections)} (${Object.entries(
          jogRot.firstAttemptRejectionStatuses ?? {},
        )
          .map(([k, v]) => `${k}: ${v}`)
          .join(
            ', ',
          )}), all delivered by a retry; pending window ${num(jogRot.pendingWindowMs)} ms; lost ${num(jogRot.eventsLost)}, published twice ${num(jogRot.publishedTwice)}`,
      );
    L.push('');
  }
  if (faults) {
    L.push('## Faults on the wire (test/integration/relay-faults.test.ts)', '');
    L.push(
      "A fault-injecting HTTP proxy between the ingress's SDK clients and moto. Each scenario: one delivery while the fault is active, then the fault is lifted and the delivery retried like HeyGen.",
      '',
    );
    L.push(
      '| Scenario | Faults injected | First answer | First answer time | Retries | Survived |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const s of (faults.scenarios ?? []) as Json[])
      L.push(
        `| ${s.scenario} | ${s.faultsInjected} | ${s.firstStatus} ${s.firstCode ?? ''} | ${s.firstElapsedMs} ms | ${s.retries} | ${s.survived ? 'yes' : 'NO'} |`,
      );
    L.push(
      '',
      `Faults by kind: ${Object.entries(faults.faultsByKind ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}. Slowest first answer: ${num(faults.maxFirstAnswerMs)} ms (HeyGen's deadline: 10,000 ms). Events expected ${num(faults.eventsExpected)}, lost ${num(faults.eventsLost)}, published twice ${num(faults.duplicatesPublished)}.`,
      '',
    );
  }
  if (hostile) {
    L.push('## Hostile input (test/integration/relay-hostile.test.ts)', '');
    L.push(
      `${num(hostile.hostileInputsTried)} generated requests (fast-check) against the ingress handler (\`createIngressHandler\`) over local adapters: answers by status ${Object.entries(
        hostile.byStatus ?? {},
      )
        .map(([k, v]) => `${k}: ${v}`)
        .join(
          ', ',
        )}; validly signed: ${num(hostile.validlySigned)}; published: ${num(hostile.published)}; parked: ${num(hostile.parked)}. Invariants: never a 2xx or publish without a valid signature, never a 5xx, never throws; a 202 parked only for a validly signed delivery.`,
      '',
    );
  }
  if (outage) {
    L.push('## Secrets Manager outage with the key cache expired (test/integration/relay-secrets-outage.test.ts)', '');
    L.push(
      '| scenario | faults injected | answers during the outage (ms) | attempts until the rotated secret verified |',
      '|---|---|---|---|',
    );
    for (const o of (outage.scenarios ?? []) as Json[])
      L.push(
        `| ${o.scenario} | ${o.faultsInjected} | ${(o.duringOutageMs ?? []).join(', ')} (all 200) | ${o.attemptsUntilNewSecret} |`,
      );
    L.push('', `Events expected ${num(outage.eventsExpected)}, lost ${num(outage.eventsLost)}.`, '');
  }
  L.push(...intakeShapes(hostile, faults, outage, parkedS3));
  if (lint) {
    L.push('## cfn-lint (test/integration/cfn-lint.test.ts)', '');
    L.push(
      `${lint.templates} template variants, ${lint.errors} errors, ${lint.warnings} warnings (rules: ${(lint.warningRules ?? []).join(', ') || 'none'}; W3005 is CDK's redundant DependsOn).`,
      '',
    );
  }
  if (logs) {
    L.push('## Secrets in logs (test/support/log-capture.ts)', '');
    L.push(
      `${num(logs.linesScanned)} log lines from ${num(logs.files)} worker(s) scanned against ${num(logs.sensitiveValues?.secret)} signing secrets, ${num(logs.sensitiveValues?.api_key)} API keys and ${num(logs.sensitiveValues?.signature)} signatures: ${num(logs.leaks)} leaks.`,
      '',
    );
  }
  L.push('## Tests', '', '| Status | Test | ms |', '| --- | --- | --- |');
  for (const t of tests)
    L.push(
      `| ${t.status === 'passed' ? 'pass' : t.status === 'failed' ? '**FAIL**' : t.status} | ${t.file}: ${t.name.replace(/\|/g, '\\|')} | ${t.ms} |`,
    );
  if (failed.length > 0) {
    L.push(
      '',
      `Failing tests (${failed.length}) are bugs found in functions/, reported to the maintainers; the tests stay red until fixed:`,
      '',
    );
    for (const t of failed) L.push(`- ${t.file}: ${t.name}`);
  }
  L.push('');
  return L.join('\n');
}

/**
 * Issue 12's hostile-input shapes, each from the figures its test measured in this run: placeholder
 * secrets, dependency hangs per provider, the entry-size boundary, number fidelity, parked deliveries.
 */
const HANG_DEPENDENCY: Record<string, string> = {
  putitem: 'DynamoDB PutItem',
  getitem: 'DynamoDB GetItem',
  putevents: 'EventBridge PutEvents',
  secrets: 'Secrets Manager, cold (no keys yet)',
};

function intakeShapes(hostile?: Json, faults?: Json, outage?: Json, parkedS3?: Json): string[] {
  const sh = hostile?.shapes as Json | undefined;
  if (!sh && !faults && !outage && !parkedS3) return [];
  const L: string[] = ['## Intake hardening: hostile-input shapes (issue 12)', ''];
  L.push('Every figure below was measured by this run (test files named per row).', '');
  L.push('| shape | measured | test |', '| --- | --- | --- |');
  if (sh?.placeholderSecrets)
    L.push(
      `| placeholder / weak signing secrets | ${num(sh.placeholderSecrets.tried)} deliveries signed with one: ${num(sh.placeholderSecrets.answered503)} answered 503 \`not_configured\`, ${num(sh.placeholderSecrets.published)} published | relay-hostile |`,
    );
  if (sh?.sizeBoundary)
    L.push(
      `| entry-size boundary (AWS's formula, around 262,144 bytes) | ${num(sh.sizeBoundary.tried)} tried: ${num(sh.sizeBoundary.publishedAtOrUnder)} at or under the limit published, ${num(sh.sizeBoundary.parkedOver)} over it parked \`too_large\`, ${num(sh.sizeBoundary.wrong)} wrong | relay-hostile |`,
    );
  if (sh?.numbers)
    L.push(
      `| number fidelity | ${num(sh.numbers.tried)} signed numbers (big integers, doubles, exponents to ±400): ${num(sh.numbers.publishedExact)} published exactly, ${num(sh.numbers.parkedLossy)} parked \`lossy_number\`, ${num(sh.numbers.publishedLossy)} published changed | relay-hostile |`,
    );
  if (hostile) {
    const lossy = Number(sh?.numbers?.parkedLossy ?? 0);
    const large = Number(sh?.sizeBoundary?.parkedOver ?? 0);
    const random = Number(hostile.parked ?? 0);
    L.push(
      `| parked deliveries (local adapters) | ${num(lossy + large + random)} parked, each validly signed (number fidelity ${num(lossy)}, size boundary ${num(large)}, random requests ${num(random)}); a 202 parked without a valid signature: never (checked per request) | relay-hostile |`,
    );
  }
  const pe = parkedS3?.parkedThroughEntry as Json | undefined;
  if (pe)
    L.push(
      `| parked in S3 through the Lambda entry (moto; PutObject signed without the S3 client) | ${num(pe.deliveries)} deliveries of one lossy body answered ${(pe.answers ?? []).join(', ')}; ${num(pe.objects)} object, reason \`${pe.reason}\`, body byte-exact: ${pe.bodyExact ? 'yes' : 'NO'}; re-published by the operators' function: ${num(pe.republished)}, left parked: ${num(pe.leftAfterRepublish)} | parked-s3 |`,
    );
  const nb = parkedS3?.noSuchBucket as Json | undefined;
  if (nb)
    L.push(
      `| parking refused by S3 (NoSuchBucket) | ${nb.answer} \`${nb.code}\` in ${num(nb.answerMs)} ms (not retried), nothing published | parked-s3 |`,
    );
  L.push('');
  // Dependency hangs: every hang scenario of the run, by provider and dependency.
  const hangs: string[] = [];
  for (const sc of (faults?.scenarios ?? []) as Json[])
    if (String(sc.scenario).includes('hang'))
      hangs.push(
        `| HeyGen | ${HANG_DEPENDENCY[String(sc.scenario).split('-hang')[0] as string] ?? String(sc.scenario)} (${String(sc.scenario)}) | ${sc.firstStatus} ${sc.firstCode ?? ''} | ${num(sc.firstElapsedMs)} ms | ${sc.survived ? 'yes' : 'NO'} | relay-faults |`,
      );
  for (const o of (outage?.scenarios ?? []) as Json[])
    if (String(o.scenario).includes('hang'))
      hangs.push(
        `| ${String(o.scenario).startsWith('joggai') ? 'JoggAI' : 'HeyGen'} | Secrets Manager, key cache expired (${o.scenario}) | all 200 | max ${num(o.maxDuringOutageMs ?? Math.max(...((o.duringOutageMs ?? [0]) as number[])))} ms | yes (rotated secret taken up after ${num(o.attemptsUntilNewSecret)} attempts) | relay-secrets-outage |`,
      );
  const h = parkedS3?.s3Hang as Json | undefined;
  if (h)
    hangs.push(
      `| HeyGen | S3 while parking (${num(h.hungPuts)} PUTs hung) | ${h.answer} | ${num(h.answerMs)} ms | ${h.retryAnswer === 202 && h.retryParked ? 'yes (retry parked)' : 'NO'} | parked-s3 |`,
    );
  if (hangs.length > 0)
    L.push(
      "Dependency hangs (a dependency that never answers), by provider: the answer must come inside the provider's budget (80 % of its answer deadline: 8 s of HeyGen's 10 s), as a 5xx the provider retries or a 2xx that needs no retry, and the retry must succeed.",
      '',
      '| provider | dependency (scenario) | first answer | answer time | survived | test |',
      '| --- | --- | --- | --- | --- | --- |',
      ...hangs,
      '',
      "JoggAI's route shares the code path after Secrets Manager (same adapters, same deadline); its DynamoDB, EventBridge and S3 hangs are not run as separate scenarios.",
      '',
    );
  return L;
}

if (!existsSync(join(ROOT, 'node_modules', 'vitest'))) {
  console.error('vitest is not installed: npm ci');
  process.exit(1);
}
process.exit(main());
