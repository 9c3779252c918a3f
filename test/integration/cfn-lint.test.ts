/**
 * The synthesized template passes cfn-lint (PyPI `cfn-lint`, installed into ./.venv by
 * scripts/ensure-python-tools.mjs) with no errors. Warnings are allowed but listed (and written to
 * .reliability/cfn-lint.json); W3005 (redundant DependsOn that CDK emits) is known.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesizeRelayTemplate } from '../support/emulator-stack.js';
import { REPO_ROOT, writeFigures } from '../support/log-capture.js';
import { manySources } from '../support/sources.js';

const run = promisify(execFile);
const CFN_LINT = join(REPO_ROOT, '.venv', 'bin', 'cfn-lint');
const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Finding {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: (string | number)[] };
}

async function lint(name: string, props: Parameters<typeof synthesizeRelayTemplate>[0]): Promise<Finding[]> {
  const file = join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify(synthesizeRelayTemplate(props, name), null, 1));
  try {
    const { stdout } = await run(CFN_LINT, ['--format', 'json', file], { maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout || '[]') as Finding[];
  } catch (err) {
    // cfn-lint exits non-zero when it finds anything (2 = errors, 4 = warnings, 8 = info).
    const e = err as { stdout?: string; code?: number; stderr?: string };
    if (e.stdout?.trim().startsWith('[')) return JSON.parse(e.stdout) as Finding[];
    throw new Error(`cfn-lint failed (exit ${e.code}): ${e.stderr ?? ''}`);
  }
}

const variants: Record<string, Parameters<typeof synthesizeRelayTemplate>[0]> = {
  Default: {},
  Routed: {
    relay: {
      queues: [
        { name: 'failures', eventTypes: ['avatar_video.fail', 'video_translate.fail'] },
        { name: 'ok', eventTypes: ['avatar_video.success'], maxReceiveCount: 3 },
      ],
      tracing: true,
      dedupWindow: Duration.hours(72),
    },
  },
  NoDedupNoDefaultQueue: { relay: { dedup: false, defaultQueue: false, queues: [{ name: 'only' }], reservedConcurrency: null } },
  // Two HeyGen accounts, JoggAI, and every further source the package ships.
  ManySources: { relay: { sources: manySources(), tracing: true } },
};

describe('cfn-lint on the synthesized template', () => {
  it('cfn-lint is installed (npm run emulator:install)', () => {
    expect(existsSync(CFN_LINT), `${CFN_LINT} missing: run npm run emulator:install`).toBe(true);
  });

  const figures: Record<string, { errors: number; warnings: string[] }> = {};
  for (const [name, props] of Object.entries(variants)) {
    it.concurrent(`${name}: no errors (warnings listed)`, async () => {
      const findings = await lint(name, props);
      const errors = findings.filter((f) => f.Level === 'Error');
      const warnings = findings.filter((f) => f.Level !== 'Error');
      figures[name] = {
        errors: errors.length,
        warnings: warnings.map((w) => `${w.Rule.Id} ${w.Location.Path.slice(0, 2).join('/')}: ${w.Message}`),
      };
      if (warnings.length > 0)
        console.info(`cfn-lint ${name}: ${warnings.length} warning(s)\n${figures[name].warnings.join('\n')}`);
      expect(errors.map((e) => `${e.Rule.Id} ${e.Location.Path.join('/')}: ${e.Message}`)).toEqual([]);
      // Anything but the known CDK W3005 is worth a look: listed, and pinned here.
      expect(warnings.filter((w) => w.Rule.Id !== 'W3005').map((w) => `${w.Rule.Id}: ${w.Message}`)).toEqual([]);
    }, 60_000);
  }

  it('figures', () => {
    writeFigures('cfn-lint', {
      templates: Object.keys(figures).length,
      errors: Object.values(figures).reduce((s, f) => s + f.errors, 0),
      warnings: Object.values(figures).reduce((s, f) => s + f.warnings.length, 0),
      warningRules: [...new Set(Object.values(figures).flatMap((f) => f.warnings.map((w) => w.split(' ')[0])))],
      perTemplate: figures,
    });
  });
});
