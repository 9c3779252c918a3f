/**
 * The package as a user meets it: `npm pack` (prepack builds dist/ and the prebuilt function
 * assets), installed into a fresh CDK app written here, outside the repository (so nothing
 * resolves from the repository's node_modules): ts-node, strict tsc, no esbuild, the lowest
 * aws-cdk-lib and constructs the peer ranges admit, cdk-nag on. Then:
 * - the app type-checks and `cdk synth` (the repository's aws-cdk CLI; CDK_DOCKER points at
 *   nothing) passes AwsSolutions and puts the four function assets into the cloud assembly, each
 *   byte for byte the shipped asset and a fresh build of the sources;
 * - a consumer Lambda importing `heygen-relay/events` bundles to at most 5 KB and parses a queue message;
 * - examples/consumer-app, copied out of the repository, installs the tarball and builds on its own;
 * - `npx heygen-relay --help` runs from the installed package (no tsx, no dev dependencies).
 * Figures (tarball size and files, consumer bundle, synth time) go to .reliability/package.json.
 * Needs the npm registry (or a warm npm cache) for the fresh app's dependencies.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_ENTRIES } from '../../lib/function-assets.js';
import { buildFunction } from '../../lib/function-build.js';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lowest = (range: string) => {
  const m = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!m?.[1]) throw new Error(`peer range ${range} is not ^x.y.z`);
  return m[1];
};
const CDK_LIB = lowest(pkg.peerDependencies['aws-cdk-lib']);
const CONSTRUCTS = lowest(pkg.peerDependencies.constructs);
const dev = (name: string) => String(pkg.devDependencies[name]).replace(/^[~^]/, '');

let work: string;
let app: string;
let tarball: string;
const figures: Record<string, unknown> = {};

/** The environment for the fresh app's tools: no repository paths, no test-only switches. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(NODE_OPTIONS|NODE_PATH|VITEST.*|CDK_.*|POWERTOOLS_.*|INIT_CWD)$/.test(k)) continue;
    if (k.startsWith('npm_') && !/^npm_config_(registry|cache|userconfig|globalconfig|.*proxy|strict_ssl|cafile)$/i.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()) {
  try {
    return await run(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`.slice(0, 8000));
  }
}

function writeApp(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'consumer'), { recursive: true });
  const files: Record<string, unknown> = {
    'package.json': {
      name: 'fresh-relay-app',
      private: true,
      version: '0.0.0',
      dependencies: { 'heygen-relay': `file:${tarball}`, 'aws-cdk-lib': CDK_LIB, constructs: CONSTRUCTS },
      devDependencies: {
        'cdk-nag': dev('cdk-nag'),
        typescript: dev('typescript'),
        'ts-node': '10.9.2',
        '@types/node': dev('@types/node'),
        '@types/aws-lambda': dev('@types/aws-lambda'),
      },
    },
    // `cdk init app --language typescript`'s compiler options (strict, NodeNext).
    'tsconfig.json': {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['es2022'],
        declaration: true,
        strict: true,
        noImplicitAny: true,
        strictNullChecks: true,
        noImplicitThis: true,
        alwaysStrict: true,
        noImplicitReturns: true,
        inlineSourceMap: true,
        experimentalDecorators: true,
        strictPropertyInitialization: false,
        skipLibCheck: true,
        typeRoots: ['./node_modules/@types'],
        noEmit: true,
        isolatedModules: true,
        types: ['node'],
      },
      exclude: ['node_modules', 'cdk.out'],
    },
    'cdk.json': {
      app: 'npx ts-node --transpile-only --prefer-ts-exts bin/app.ts',
      notices: false,
      context: { 'cli-telemetry': false },
    },
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
  writeFileSync(
    join(dir, 'bin', 'app.ts'),
    `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HeyGenRelay } from 'heygen-relay';

const app = new App();
const stack = new Stack(app, 'FreshRelay');
const relay = new HeyGenRelay(stack, 'Relay', {
  joggai: {},
  archive: {},
  queues: [{ name: 'failures', eventTypes: ['avatar_video.fail'] }],
});
const url: string | undefined = relay.boundSources.heygen?.webhookUrl;
void url;
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
`,
  );
  writeFileSync(
    join(dir, 'consumer', 'handler.ts'),
    `import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseRelayEvent, type RelayEvent } from 'heygen-relay/events';

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const e: RelayEvent = parseRelayEvent(record);
      if (e.type.length === 0) throw new Error('no type');
    } catch {
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
};
`,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'heygen-relay-pkg-'));
  app = join(work, 'app');
  mkdirSync(app);
  // `npm pack` runs prepack (npm run build): tsc, then the prebuilt assets.
  const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], ROOT, {
    ...process.env,
    npm_config_loglevel: 'error',
  });
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string }[];
  }[];
  const entry = info[0];
  if (!entry) throw new Error('npm pack printed no package');
  tarball = join(work, entry.filename);
  Object.assign(figures, {
    tarballBytes: entry.size,
    unpackedBytes: entry.unpackedSize,
    files: entry.entryCount,
    paths: entry.files.map((f) => f.path),
  });
  writeApp(app);
  const t0 = Date.now();
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
  figures.installSeconds = (Date.now() - t0) / 1000;
}, 480_000);

afterAll(() => {
  mkdirSync(join(ROOT, '.reliability'), { recursive: true });
  const { paths: _paths, ...shown } = figures;
  writeFileSync(
    join(ROOT, '.reliability', 'package.json'),
    `${JSON.stringify({ measuredBy: 'test/package/install.test.ts', aws_cdk_lib: CDK_LIB, constructs: CONSTRUCTS, ...shown }, null, 2)}\n`,
  );
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Package: what the tarball carries', () => {
  it('ships the build, the prebuilt assets and the compiled CLI; no sources, tests, bench data or CI files', () => {
    const paths = figures.paths as string[];
    for (const name of FUNCTION_ENTRIES) expect(paths).toContain(`dist/assets/${name}/index.js`);
    expect(paths).toEqual(expect.arrayContaining(['dist/index.js', 'dist/events.js', 'dist/events.d.ts', 'dist/bin/cli.js']));
    expect(
      paths.filter(
        (p) => /^(test|scripts|\.ci|python|bench|functions|lib|bin)\/|\.ts$|bench-results/.test(p) && !p.endsWith('.d.ts'),
      ),
    ).toEqual([]);
    expect(paths).not.toContain('dist/bin/app.js');
  });

  it('declares aws-cdk-lib and constructs as peers only, and installs without esbuild, tsx or Docker', () => {
    for (const peer of ['aws-cdk-lib', 'constructs', 'cdk-nag']) expect(pkg.dependencies[peer]).toBeUndefined();
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8'));
    expect(installed.version).toBe(CDK_LIB);
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    // One aws-cdk-lib: the app's (no second copy under the package).
    expect(existsSync(join(app, 'node_modules', 'heygen-relay', 'node_modules', 'aws-cdk-lib'))).toBe(false);
  });
});

describe('Package: a fresh CDK app', () => {
  it('type-checks (strict) and synthesizes with cdk-nag, the prebuilt function assets in the cloud assembly', async () => {
    await sh(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
    const t0 = Date.now();
    await sh(
      process.execPath,
      [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '--output', 'cdk.out'],
      app,
      cleanEnv({ CDK_DOCKER: join(work, 'no-docker-here') }),
    );
    figures.synthSeconds = (Date.now() - t0) / 1000;
    const out = join(app, 'cdk.out');
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual(
      expect.arrayContaining([expect.objectContaining({ pluginName: 'AwsSolutions', conclusion: 'success' })]),
    );
    const template = JSON.parse(readFileSync(join(out, 'FreshRelay.template.json'), 'utf8'));
    const hashes = Object.values(
      template.Resources as Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Handler?: string } }>,
    )
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler')
      .map((r) => String(r.Properties.Code?.S3Key).replace(/\.zip$/, ''));
    const fresh = join(work, 'fresh-build');
    for (const name of FUNCTION_ENTRIES) {
      const shipped = readFileSync(join(app, 'node_modules', 'heygen-relay', 'dist', 'assets', name, 'index.js'));
      const rebuilt = readFileSync(buildFunction(name, join(fresh, name)));
      expect(shipped.equals(rebuilt), `${name}: the shipped asset differs from a fresh build of the sources`).toBe(true);
      const inAssembly = hashes.filter((h) => {
        const file = join(out, `asset.${h}`, 'index.js');
        return existsSync(file) && readFileSync(file).equals(shipped);
      });
      expect(inAssembly, `${name}: its asset is not in the cloud assembly`).toHaveLength(1);
    }
  }, 300_000);

  it('bundles a consumer of heygen-relay/events to at most 5 KB, which parses a queue message', async () => {
    const outfile = join(work, 'consumer.js');
    await esbuild.build({
      absWorkingDir: app,
      entryPoints: [join(app, 'consumer', 'handler.ts')],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      outfile,
      logLevel: 'silent',
    });
    const bytes = readFileSync(outfile).length;
    figures.consumerBundleBytes = bytes;
    expect(bytes).toBeLessThanOrEqual(5 * 1024); // `import` picks dist/events.mjs, which tree-shakes
    const envelope = JSON.parse(readFileSync(join(ROOT, 'test', 'events', 'heygen', 'avatar_video.success.json'), 'utf8'));
    const detail = {
      version: '1',
      id: `heygen:evt:${'ab'.repeat(32)}`, // the schema's pattern (parseRelayEvent enforces it)
      provider: 'heygen',
      type: envelope.event_type,
      subject: { kind: 'video', id: null },
      callbackId: null,
      deliveryId: null,
      receivedAt: new Date(0).toISOString(),
      data: envelope.event_data,
    };
    const { handler } = require(outfile) as { handler(e: unknown): Promise<unknown> };
    const records = [
      { messageId: 'm1', body: JSON.stringify({ 'detail-type': detail.type, detail }) },
      { messageId: 'm2', body: JSON.stringify({ 'detail-type': detail.type, detail: { ...detail, version: '0' } }) },
    ];
    await expect(handler({ Records: records })).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
  });

  it('runs `npx heygen-relay --help` from the installed package', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'heygen-relay', '--help'], app);
    expect(stdout).toMatch(/Usage: heygen-relay <command>/);
  });
});

describe('Package: examples/consumer-app as a project of its own', () => {
  it('copied out of the repository, installs the packed tarball and builds (strict tsc)', async () => {
    const dir = join(work, 'consumer-app');
    cpSync(join(ROOT, 'examples', 'consumer-app'), dir, { recursive: true });
    const file = join(dir, 'package.json');
    const own = JSON.parse(readFileSync(file, 'utf8')) as { dependencies: Record<string, string> };
    own.dependencies['heygen-relay'] = `file:${tarball}`; // as published, this is the registry's version
    writeFileSync(file, JSON.stringify(own, null, 2));
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
    await sh('npm', ['run', 'build'], dir);
    expect(existsSync(join(dir, 'dist', 'functions', 'consumer.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'bin', 'app.js'))).toBe(true);
  }, 480_000);
});

describe('Package: the README quotes what this run measured', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const near = (quoted: number, measured: number) => Math.abs(quoted - measured) <= 0.1 * measured;

  it('its tarball and consumer-bundle figures are within 10 % of this run (rerun and copy .reliability/package.json when not)', () => {
    const m = /tarball [\d.]+ KB\s+\(([\d,]+) bytes\), (\d+) files;\s+consumer bundle [\d.]+ KB \(([\d,]+) bytes/.exec(readme);
    expect(m, 'the README names the tarball and consumer bundle figures').not.toBeNull();
    const [tarball, files, bundle] = [m?.[1], m?.[2], m?.[3]].map((x) => Number(String(x).replace(/,/g, '')));
    expect(near(tarball as number, figures.tarballBytes as number), `tarball ${tarball} vs ${figures.tarballBytes}`).toBe(true);
    expect(near(files as number, figures.files as number), `files ${files} vs ${figures.files}`).toBe(true);
    expect(
      near(bundle as number, figures.consumerBundleBytes as number),
      `bundle ${bundle} vs ${figures.consumerBundleBytes}`,
    ).toBe(true);
  });

  it('names as many prebuilt Lambda functions as the package ships', () => {
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    const m = /the (\w+) Lambda functions \(/.exec(readme);
    expect(words.indexOf(m?.[1] ?? '')).toBe(FUNCTION_ENTRIES.length);
  });
});
