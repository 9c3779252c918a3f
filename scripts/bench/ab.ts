/**
 * `npm run bench:ab -- REF [REF2]`: the warm handler (scripts/bench/entries/warm.ts, fakes and
 * optionally the SDK variant) of git REF against the working tree (or REF2), built the same way
 * (the functions' esbuild options), run in alternation in fresh processes, so a change's effect is
 * measured under the same load. Prints median p50 per build and the ratio to the floor of the same
 * process. `BENCH_AB_ROUNDS` (default 5), `BENCH_AB_VARIANTS` (default `local`; `local,sdk`),
 * `BENCH_AB_SIZE` (default 1024), `BENCH_AB_N` (default 8000). `BENCH_AB_WRITE=1` also keeps the
 * result in bench-results.json (`hotPathAb`, by size) and writes the hot-path section of
 * BENCHMARKS.md (scripts/bench/lib/report.ts `renderHotPathAb`; `npm run bench` renders it again).
 * The cold-init check goes into the same section: `BENCH_ONLY=cold BENCH_COLD_WRITE=1 npm run bench`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { OUT_DIR, ROOT, relayEsbuildOptions } from './lib/build';
import { renderHotPathAb } from './lib/report';
import { median } from './lib/stats';
import { quietWarmEnv } from './lib/warm-env';

const refs = process.argv.slice(2);
if (refs.length < 1) throw new Error('usage: npm run bench:ab -- REF [REF2]');
const rounds = Number(process.env.BENCH_AB_ROUNDS) || 5;
const variants = (process.env.BENCH_AB_VARIANTS ?? 'local').split(',') as Array<'local' | 'sdk'>;
const size = Number(process.env.BENCH_AB_SIZE) || 1024;
const n = Number(process.env.BENCH_AB_N) || 8_000;

/** A checkout of `ref` (git archive of the tracked sources) with this tree's node_modules; or the tree itself. */
function sourceOf(ref: string | undefined): { label: string; dir: string } {
  if (!ref) return { label: 'working tree', dir: ROOT };
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(OUT_DIR, 'ab', sha);
  if (!existsSync(join(dir, 'functions'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // providers/ exists from the layout of issue 22 on; older revisions kept providers under functions/.
    const paths = execFileSync(
      'git',
      ['ls-tree', '--name-only', sha, '--', 'functions', 'lib', 'providers', 'scripts', 'package.json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter(Boolean);
    execFileSync('sh', ['-c', `git archive ${sha} ${paths.join(' ')} | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  return { label: `${ref} (${sha})`, dir };
}

async function build(src: { label: string; dir: string }, name: string): Promise<string> {
  const outfile = join(OUT_DIR, 'ab', `${name}.js`);
  const opts = relayEsbuildOptions();
  // The credential-chain alias points into this tree's functions/; point it into the checkout's.
  const alias = Object.fromEntries(Object.entries(opts.alias ?? {}).map(([k, v]) => [k, v.replace(ROOT, src.dir)]));
  await esbuild.build({
    ...opts,
    alias,
    entryPoints: [join(src.dir, 'scripts', 'bench', 'entries', 'warm.ts')],
    outfile,
    absWorkingDir: src.dir,
    logLevel: 'warning',
  });
  return outfile;
}

function runOnce(bundle: string): Record<string, { p50: number }> {
  const out = join(OUT_DIR, 'ab', `out-${process.pid}.json`);
  const cfg = { sizes: [size], n, nSdk: Math.min(n, 3_000), warmup: 2_000, runs: 1, variants, floor: true };
  const r = spawnSync(process.execPath, [bundle], {
    env: quietWarmEnv(cfg, out),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`warm child exited ${r.status}`);
  const res = JSON.parse(readFileSync(out, 'utf8')).results as Record<string, { runs: Array<{ p50: number }> }>;
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k.split(':')[0] as string, { p50: v.runs[0]?.p50 ?? NaN }]));
}

async function main() {
  mkdirSync(join(OUT_DIR, 'ab'), { recursive: true });
  const a = sourceOf(refs[0]);
  const b = sourceOf(refs[1]);
  const bundles = [await build(a, 'a'), await build(b, 'b')];
  const labels = [a.label, b.label];
  const load0 = loadavg()[0] ?? 0;
  const samples: Array<Record<string, number[]>> = [{}, {}];
  for (let r = 0; r < rounds; r++)
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const res = runOnce(bundles[i] as string);
      const floor = res.floor?.p50 ?? NaN;
      const s = samples[i] as Record<string, number[]>;
      const push = (k: string, v: number) => {
        s[k] = [...(s[k] ?? []), v];
      };
      for (const v of variants) {
        push(v, res[v]?.p50 ?? NaN);
        push(`${v}/floor`, (res[v]?.p50 ?? NaN) / floor);
      }
      push('floor', floor);
    }
  const lines = [
    `${size} B, ${n} deliveries per run, ${rounds} rounds alternating; load average ${load0.toFixed(2)} -> ${(loadavg()[0] ?? 0).toFixed(2)}`,
  ];
  for (const [i, label] of labels.entries()) {
    const s = samples[i] as Record<string, number[]>;
    const parts = Object.entries(s).map(
      ([k, v]) => `${k} ${median(v).toFixed(k.includes('/') ? 2 : 1)}${k.includes('/') ? 'x' : ' µs'}`,
    );
    lines.push(`${label.padEnd(28)} median p50: ${parts.join(', ')}`);
  }
  for (const v of variants) {
    const ra = median((samples[0] as Record<string, number[]>)[v] ?? []);
    const rb = median((samples[1] as Record<string, number[]>)[v] ?? []);
    lines.push(`${v}: ${labels[1]} / ${labels[0]} = ${(rb / ra).toFixed(2)} (p50 ${ra.toFixed(1)} -> ${rb.toFixed(1)} µs)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (process.env.BENCH_AB_WRITE === '1') {
    const sha = (ref: string | undefined) =>
      execFileSync('git', ['rev-parse', '--short', ref ?? 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const entry = {
      command: `BENCH_AB_ROUNDS=${rounds} BENCH_AB_SIZE=${size} BENCH_AB_N=${n} BENCH_AB_WRITE=1 npm run bench:ab -- ${refs.join(' ')}`,
      date: new Date().toISOString(),
      a: a.label,
      b: refs[1] ? b.label : `working tree at ${sha(undefined)}`,
      size,
      n,
      rounds,
      loadavg: [load0, loadavg()[0] ?? 0].map((x) => Number(x.toFixed(2))),
      p50Us: variants.map((v) => [median(samples[0]?.[v] ?? []), median(samples[1]?.[v] ?? [])]),
      floorUs: [median(samples[0]?.floor ?? []), median(samples[1]?.floor ?? [])],
      ratio: median(samples[1]?.[variants[0] as string] ?? []) / median(samples[0]?.[variants[0] as string] ?? []),
      variant: variants[0],
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`,
    };
    const resultsPath = join(ROOT, 'bench-results.json');
    const results = existsSync(resultsPath)
      ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { hotPathAb?: Record<string, unknown> })
      : {};
    results.hotPathAb = { ...(results.hotPathAb ?? {}), [String(size)]: entry };
    writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
    const file = join(ROOT, 'BENCHMARKS.md');
    const doc = readFileSync(file, 'utf8');
    const section = renderHotPathAb(results.hotPathAb);
    const next = doc.includes('<!-- hot-path-ab:start -->')
      ? doc.replace(/<!-- hot-path-ab:start -->[\s\S]*?<!-- hot-path-ab:end -->/, section)
      : doc.replace('## Throughput over HTTP', `${section}\n\n## Throughput over HTTP`);
    writeFileSync(file, next);
  }
}

main().catch((err) => {
  process.stderr.write(`ab failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
