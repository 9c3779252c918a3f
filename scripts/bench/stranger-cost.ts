/**
 * `npx tsx scripts/bench/stranger-cost.ts [REF]`: what a stranger's bad signatures cost in Secrets
 * Manager calls, measured (scripts/bench/entries/stranger.ts through the real handler, a counting
 * in-process Secrets Manager) for REF (default dfd2de7, before the miss back-off) and the working
 * tree, each built like the functions. Prices the calls (scripts/bench/lib/cost.ts `strangerCost`),
 * keeps them in bench-results.json (`strangerCost`) and writes the section between the
 * stranger-cost markers of BENCHMARKS.md (`npm run bench` renders it again from the JSON).
 * `BENCH_STRANGER_SECONDS` (default 3600 simulated seconds), `BENCH_STRANGER_RATE` (default 10/s).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { OUT_DIR, ROOT, relayEsbuildOptions } from './lib/build';
import { renderStrangerCost, type StrangerRun } from './lib/cost';

const ref = process.argv[2] ?? 'dfd2de7';
const seconds = Number(process.env.BENCH_STRANGER_SECONDS) || 3_600;
const rate = Number(process.env.BENCH_STRANGER_RATE) || 10;

/** The tracked sources of `ref` with this tree's node_modules and this tree's driver entry. */
function checkout(r: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', r], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(OUT_DIR, 'stranger', sha);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${sha} functions lib scripts package.json | tar -x -C ${JSON.stringify(dir)}`], {
    cwd: ROOT,
  });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  for (const f of ['entries/stranger.ts', 'lib/payload.ts'])
    copyFileSync(join(ROOT, 'scripts', 'bench', f), join(dir, 'scripts', 'bench', f));
  return dir;
}

async function measure(label: string, dir: string): Promise<StrangerRun> {
  const outfile = join(OUT_DIR, 'stranger', `${label.replace(/\W+/g, '_')}.js`);
  const opts = relayEsbuildOptions();
  const alias = Object.fromEntries(Object.entries(opts.alias ?? {}).map(([k, v]) => [k, v.replace(ROOT, dir)]));
  await esbuild.build({
    ...opts,
    alias,
    entryPoints: [join(dir, 'scripts', 'bench', 'entries', 'stranger.ts')],
    outfile,
    absWorkingDir: dir,
    logLevel: 'warning',
  });
  const out = join(OUT_DIR, 'stranger', `out-${process.pid}.json`);
  const run = spawnSync(process.execPath, [outfile], {
    env: {
      ...process.env,
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      NODE_NO_WARNINGS: '1',
      BENCH_STRANGER: JSON.stringify({ rate, seconds }),
      BENCH_OUT: out,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`${label}: driver exited ${run.status}`);
  return { label, ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<StrangerRun, 'label'>) };
}

async function main() {
  mkdirSync(join(OUT_DIR, 'stranger'), { recursive: true });
  const load0 = loadavg()[0] ?? 0;
  const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty =
    execFileSync('git', ['status', '--porcelain', '--', 'functions', 'scripts'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  const runs = [
    await measure(`before (${ref})`, checkout(ref)),
    await measure(`after (${sha}${dirty ? ' + working tree' : ''})`, ROOT),
  ];
  const command = `npx tsx scripts/bench/stranger-cost.ts ${ref}`;
  const load = `${load0.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`;
  const section = renderStrangerCost(runs, command, load);
  const resultsPath = join(ROOT, 'bench-results.json');
  const results = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>) : {};
  results.strangerCost = { command, loadavg: load, runs };
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const file = join(ROOT, 'BENCHMARKS.md');
  const doc = readFileSync(file, 'utf8');
  const next = doc.includes('<!-- stranger-cost:start -->')
    ? doc.replace(/<!-- stranger-cost:start -->[\s\S]*?<!-- stranger-cost:end -->/, section)
    : doc.replace('<!-- backfill-cost:start -->', `${section}\n\n<!-- backfill-cost:start -->`);
  writeFileSync(file, next);
  process.stdout.write(`${section}\n`);
}

main().catch((err) => {
  process.stderr.write(`stranger-cost failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
