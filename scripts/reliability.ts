/**
 * `npm run reliability`: runs the reliability tests (test/integration against the moto emulator,
 * hostile input, cfn-lint, the secret-leak scan) and writes RELIABILITY.md from the figures the
 * tests wrote to .reliability/*.json during THIS run. Exits with vitest's exit code (the report is
 * written either way, and says which tests failed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  'test/integration/cfn-lint.test.ts',
  'test/integration/log-capture.test.ts',
];

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
  const vitest = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      configFile,
      ...FILES,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${join(DIR, 'vitest.json')}`,
    ],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CDK_VALIDATION: 'false' } },
  );
  const elapsedS = Math.round((Date.now() - started) / 1000);
  const code = vitest.status ?? 1;
  writeFileSync(OUT, render(elapsedS, code));
  console.log(`\nwrote ${OUT} (vitest exit ${code}, ${elapsedS} s)`);
  return code;
}

function num(v: unknown): string {
  return typeof v === 'number' ? v.toLocaleString('en-US') : v === undefined ? 'n/a' : String(v);
}

function render(elapsedS: number, code: number): string {
  // The same load in both dedup modes: `record` (HeyGen's default) and `claim`.
  const e2e = read('e2e');
  const e2eClaim = read('e2e-claim');
  const rot = read('rotation');
  const faults = read('faults');
  const hostile = read('hostile');
  const outage = read('secrets-outage');
  const lint = read('cfn-lint');
  const jogE2e = read('joggai-e2e');
  const jogRot = read('joggai-rotation');
  const logs = read('log-scan');
  const results = read('vitest');
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
      `Node ${process.version}, moto ${moto} (AWS emulator, server mode), ${elapsedS} s wall clock, vitest exit code ${code}. Do not edit by hand.`,
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
        "the ingress is the real Lambda entry (functions/ingress.ts) reading the function's Environment from that template with references resolved. " +
        `Each of the ${run.concurrency} concurrent senders is its own execution environment (fresh module graph). A non-2xx answer is retried like HeyGen would. ` +
        'The copies are spread through the stream, many of them sent while their original is still in flight (HeyGen, by its documentation, resends only after an attempt failed or timed out). ' +
        (run.dedupMode === 'claim'
          ? 'Mode `claim` answers those 409 and the retry is a 200 duplicate: every event exactly once.'
          : `Mode \`record\` publishes such a copy too (README "Dedup modes"): ${num(run.copiesSentMidFlight)} copies were sent mid-flight and ${num(run.publishedTwiceByIngress)} events were published twice; copies sent after the first answer were all answered 200 duplicate.`),
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
      `${rot.rotations} rotations through Secrets Manager's four steps (functions/providers/heygen/rotation.ts on moto; a fake HeyGen switches secrets when rotate-secret answers), ` +
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
      `${num(hostile.hostileInputsTried)} generated requests (fast-check) against the middy handler over local adapters: answers by status ${Object.entries(
        hostile.byStatus ?? {},
      )
        .map(([k, v]) => `${k}: ${v}`)
        .join(
          ', ',
        )}; validly signed: ${num(hostile.validlySigned)}; published: ${num(hostile.published)}; parked: ${num(hostile.parked)}. Invariants: never a 2xx or publish without a valid signature, never a 5xx, never throws; a 202 parked only for a validly signed delivery.`,
      '',
    );
    const sh12 = hostile.shapes as Json | undefined;
    if (sh12)
      L.push(
        'Issue 12 shapes:',
        '',
        `- placeholder / weak secrets: ${num(sh12.placeholderSecrets?.tried)} deliveries signed with one; ${num(sh12.placeholderSecrets?.answered503)} answered 503 \`not_configured\`, ${num(sh12.placeholderSecrets?.published)} published;`,
        `- number fidelity: ${num(sh12.numbers?.tried)} signed numbers (big integers, doubles, exponents to ±400, long fractions); ${num(sh12.numbers?.publishedExact)} published exactly, ${num(sh12.numbers?.parkedLossy)} parked \`lossy_number\`, ${num(sh12.numbers?.publishedLossy)} published changed;`,
        `- entry-size boundary (AWS's formula, ±40 bytes around 262,144): ${num(sh12.sizeBoundary?.tried)} tried; ${num(sh12.sizeBoundary?.publishedAtOrUnder)} at or under the limit published, ${num(sh12.sizeBoundary?.parkedOver)} over it parked \`too_large\`, ${num(sh12.sizeBoundary?.wrong)} wrong.`,
        '',
      );
  }
  if (outage) {
    L.push('## Secrets Manager outage with the key cache expired (test/integration/relay-secrets-outage.test.ts)', '');
    L.push('| scenario | faults injected | answers during the outage (ms) | attempts until the rotated secret verified |', '|---|---|---|---|');
    for (const o of (outage.scenarios ?? []) as Json[])
      L.push(`| ${o.scenario} | ${o.faultsInjected} | ${(o.duringOutageMs ?? []).join(', ')} (all 200) | ${o.attemptsUntilNewSecret} |`);
    L.push('', `Events expected ${num(outage.eventsExpected)}, lost ${num(outage.eventsLost)}.`, '');
  }
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

if (!existsSync(join(ROOT, 'node_modules', 'vitest'))) {
  console.error('vitest is not installed: npm ci');
  process.exit(1);
}
process.exit(main());
