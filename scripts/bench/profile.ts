/**
 * `npm run bench:profile`: a CPU profile of the warm handler (scripts/bench/entries/warm.ts, built
 * with the functions' esbuild options but not minified, so function names stay readable), run with
 * `node --cpu-prof`; prints the functions and the packages with the most self time, and the
 * handler's p50 per variant. Informational (no target): it shows where the per-request time goes.
 *
 *   BENCH_PROFILE_VARIANT=local|sdk (default local), BENCH_PROFILE_SIZE (default 1024),
 *   BENCH_PROFILE_N (default 20000), BENCH_PROFILE_TOP (default 25).
 * The .cpuprofile is left in .bench-tmp/profile/ (open it in Chrome DevTools or speedscope).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildBundle, OUT_DIR } from './lib/build';
import { quietWarmEnv } from './lib/warm-env';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const variant = process.env.BENCH_PROFILE_VARIANT ?? 'local';
const size = Number(process.env.BENCH_PROFILE_SIZE) || 1024;
const n = Number(process.env.BENCH_PROFILE_N) || 20_000;
const top = Number(process.env.BENCH_PROFILE_TOP) || 25;

/** The package (or project directory) a line of the unminified bundle came from, by esbuild's `// path` comments. */
function originIndex(bundlePath: string): (line: number) => string {
  const lines = readFileSync(bundlePath, 'utf8').split('\n');
  const origin: string[] = new Array(lines.length);
  let current = '(bundle)';
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*\/\/ (\S+\.(?:[cm]?js|ts))$/.exec(lines[i] as string);
    if (m) {
      const p = m[1] as string;
      const nm = p.lastIndexOf('node_modules/');
      if (nm >= 0) {
        const rest = p.slice(nm + 'node_modules/'.length).split('/');
        current = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? p);
      } else current = p;
    }
    origin[i] = current;
  }
  return (line) => origin[line] ?? '(bundle)';
}

async function main() {
  const dir = join(OUT_DIR, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const built = await buildBundle('warm-profile', join(__dirname, 'entries', 'warm.ts'), { minify: false });
  const bundle = join(OUT_DIR, 'warm-profile.js');
  const load = loadavg().map((x) => x.toFixed(2));
  const cfg = { sizes: [size], n, nSdk: n, warmup: 2_000, runs: 1, variants: [variant], floor: true };
  const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, bundle], {
    env: quietWarmEnv(cfg, join(dir, 'warm.json')),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`warm child exited ${run.status}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const warm = JSON.parse(readFileSync(join(dir, 'warm.json'), 'utf8')) as {
    results: Record<string, { runs: Array<{ p50: number; mean: number }> }>;
  };
  const origin = originIndex(bundle);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++)
    selfUs.set(profile.samples[i] as number, (selfUs.get(profile.samples[i] as number) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const f = node.callFrame;
    const inBundle = f.url.endsWith('warm-profile.js');
    const where = inBundle ? origin(f.lineNumber) : f.url ? f.url.replace(/^node:/, 'node:') : '(native/gc)';
    const fn = `${f.functionName || '(anonymous)'}  [${where}${inBundle ? `:${f.lineNumber + 1}` : ''}]`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const pkg = inBundle ? origin(f.lineNumber) : f.functionName.startsWith('(') ? f.functionName : f.url || '(native)';
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const out: string[] = [];
  out.push(`variant ${variant}, ${size} B bodies, ${n} deliveries (+2,000 warm-up), load average ${load.join(' / ')}`);
  out.push(`bundle ${built.bytes} bytes (unminified); profile ${(total / 1e6).toFixed(2)} s of samples; ${join(dir, file)}`);
  for (const [k, r] of Object.entries(warm.results))
    out.push(`p50 ${k}: ${r.runs[0]?.p50.toFixed(1)} µs (mean ${r.runs[0]?.mean.toFixed(1)} µs)`);
  out.push('', `self time by function (top ${top}):`);
  for (const [k, us] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${pct(us)}  ${k}`);
  out.push('', 'self time by package / file:');
  for (const [k, us] of [...byPkg.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${pct(us)}  ${k}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`profile failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
