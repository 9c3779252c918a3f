#!/usr/bin/env node
/**
 * Entry of the `heygen-relay` operator CLI (see bin/heygen-relay-cli.ts). The package's bin is its
 * compiled form, dist/bin/cli.js (plain Node, no tsx); in this repository `npm run cli -- <args>`
 * runs it from source.
 */
import { main } from './heygen-relay-cli.js';

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
