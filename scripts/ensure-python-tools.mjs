#!/usr/bin/env node
// Makes sure the project-local Python virtualenv (.venv) exists and holds exactly the tools
// pinned in python/requirements-test.txt (moto[server] for the AWS emulator, cfn-lint).
//
// Runs as npm's "pretest" hook, so `npm ci && npm test` sets everything up on a fresh machine.
// Idempotent and fast: a stamp file inside .venv records a hash of the requirements file and the
// interpreter version; when it matches (and the venv's python still runs), nothing is installed.
//
// Environment:
//   PYTHON=/path/to/python3   interpreter used to create the venv (default: python3, then python)
//   HEYGEN_RELAY_VENV=dir     venv location (default: <repo>/.venv)
//   Standard pip variables (PIP_INDEX_URL, PIP_CACHE_DIR, ...) are honoured by pip itself.
//
// Plain Node ESM, no dependencies. Exits non-zero with a readable message on any failure.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_PYTHON = [3, 9]; // moto 5.2 and cfn-lint 1.x need Python >= 3.9
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REQUIREMENTS = join(REPO, 'python', 'requirements-test.txt');
const VENV = resolve(REPO, process.env.HEYGEN_RELAY_VENV || '.venv');
const IS_WINDOWS = process.platform === 'win32';
const VENV_BIN = join(VENV, IS_WINDOWS ? 'Scripts' : 'bin');
const VENV_PYTHON = join(VENV_BIN, IS_WINDOWS ? 'python.exe' : 'python');
const STAMP = join(VENV, '.heygen-relay-requirements.stamp');
// Executables the test suite calls directly; their absence means the venv is not usable.
const REQUIRED_EXECUTABLES = ['moto_server', 'cfn-lint'].map((n) => join(VENV_BIN, IS_WINDOWS ? `${n}.exe` : n));

const PREFIX = '[ensure-python-tools]';

function fail(message, hint) {
  process.stderr.write(`\n${PREFIX} ERROR: ${message}\n`);
  if (hint) process.stderr.write(`${PREFIX} ${hint.split('\n').join(`\n${PREFIX} `)}\n`);
  process.stderr.write('\n');
  process.exit(1);
}

function info(message) {
  process.stderr.write(`${PREFIX} ${message}\n`);
}

/** Runs `exe args` and returns {ok, stdout, stderr, error}. Never throws. */
function run(exe, args, opts = {}) {
  const r = spawnSync(exe, args, { encoding: 'utf8', ...opts });
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    error: r.error,
  };
}

/** Returns "3.11.7" etc. for a python executable, or null if it cannot be run. */
function pythonVersion(exe) {
  const r = run(exe, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
  if (!r.ok) return null;
  const v = r.stdout.trim();
  return /^\d+\.\d+\.\d+$/.test(v) ? v : null;
}

function versionAtLeast(v, [major, minor]) {
  const [a, b] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

function findBasePython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  const tried = [];
  for (const exe of candidates) {
    const v = pythonVersion(exe);
    if (!v) {
      tried.push(`${exe}: not found or not runnable`);
      continue;
    }
    if (!versionAtLeast(v, MIN_PYTHON)) {
      tried.push(`${exe}: version ${v} is too old`);
      continue;
    }
    return { exe, version: v };
  }
  fail(
    `no usable Python ${MIN_PYTHON.join('.')}+ interpreter found (needed for the AWS emulator moto and cfn-lint).`,
    `Tried: ${tried.join('; ')}.\nInstall Python 3 (e.g. 'apt-get install python3 python3-venv'), or point PYTHON=/path/to/python3 at one.`,
  );
}

function requirementsHash(pythonVer) {
  let text;
  try {
    text = readFileSync(REQUIREMENTS, 'utf8');
  } catch (e) {
    fail(`cannot read ${REQUIREMENTS}: ${e.message}`);
  }
  return createHash('sha256')
    .update(`python=${pythonVer}\nplatform=${process.platform}-${process.arch}\n`)
    .update(text)
    .digest('hex');
}

function readStamp() {
  try {
    return readFileSync(STAMP, 'utf8').trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

const started = Date.now();

// Fast path: venv python runs, stamp matches, executables present.
const venvVersion = existsSync(VENV_PYTHON) ? pythonVersion(VENV_PYTHON) : null;
if (venvVersion) {
  const hash = requirementsHash(venvVersion);
  if (readStamp() === hash && REQUIRED_EXECUTABLES.every((p) => existsSync(p))) {
    process.exit(0);
  }
}

// Slow path: (re)create the venv if needed, then install the pinned requirements.
let pyVersion = venvVersion;
if (!venvVersion) {
  const base = findBasePython();
  if (existsSync(VENV)) {
    info(`${VENV} exists but its python does not run (broken or made by another interpreter); recreating it.`);
    rmSync(VENV, { recursive: true, force: true });
  }
  info(`creating virtualenv ${VENV} with ${base.exe} (Python ${base.version}) ...`);
  const r = run(base.exe, ['-m', 'venv', VENV]);
  if (!r.ok) {
    rmSync(VENV, { recursive: true, force: true });
    const output = `${r.stdout}${r.stderr}`.trim() || String(r.error ?? `exit status ${r.status}`);
    fail(
      `'${base.exe} -m venv ${VENV}' failed:\n${output}`,
      /ensurepip|No module named venv/.test(output)
        ? "The venv module or ensurepip is missing. On Debian/Ubuntu: 'apt-get install python3-venv'."
        : undefined,
    );
  }
  pyVersion = pythonVersion(VENV_PYTHON);
  if (!pyVersion) fail(`the new virtualenv's interpreter ${VENV_PYTHON} does not run.`);
}

const hash = requirementsHash(pyVersion);
rmSync(STAMP, { force: true }); // an interrupted install must not leave a valid stamp behind
info(`installing ${REQUIREMENTS.slice(REPO.length + 1)} into ${VENV} (first run or requirements changed) ...`);
const pip = spawnSync(
  VENV_PYTHON,
  [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--no-input',
    '--progress-bar',
    'off',
    '--quiet',
    '--requirement',
    REQUIREMENTS,
  ],
  { stdio: 'inherit' },
);
if (pip.error || pip.status !== 0) {
  fail(
    `pip install failed (${pip.error ? pip.error.message : `exit status ${pip.status}`}); see pip's output above.`,
    'Check network access to the Python package index (PIP_INDEX_URL) and the pins in python/requirements-test.txt.\n' +
      `To start over: rm -rf ${VENV} && npm test`,
  );
}
const missing = REQUIRED_EXECUTABLES.filter((p) => !existsSync(p));
if (missing.length > 0) {
  fail(`pip succeeded but these executables are missing: ${missing.join(', ')}`);
}

const tmp = `${STAMP}.${process.pid}.tmp`;
writeFileSync(tmp, `${hash}\n`);
renameSync(tmp, STAMP);
info(`Python tools ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
