#!/usr/bin/env node
'use strict';
// Shim for the `heygen-relay` bin: runs bin/cli.ts through tsx in the repo (devDependency), or the
// compiled dist/bin/cli.js (`npm run build`) where tsx is not installed.
const fs = require('node:fs');
const path = require('node:path');

function load() {
  const source = path.join(__dirname, 'cli.ts');
  if (fs.existsSync(source)) {
    try {
      const tsx = require('tsx/cjs/api');
      return tsx.require('./cli.ts', __filename);
    } catch (err) {
      if (err && err.code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  const compiled = path.join(__dirname, '..', 'dist', 'bin', 'cli.js');
  if (fs.existsSync(compiled)) return require(compiled);
  throw new Error('heygen-relay: neither tsx (npm install) nor dist/bin/cli.js (npm run build) is available');
}

load()
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`error: ${err?.message ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
