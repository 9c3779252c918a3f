/**
 * Entry of the `heygen-relay` operator CLI (see bin/heygen-relay-cli.ts). bin/cli.js, the npm bin,
 * loads this file through tsx (in the repo) or its compiled form dist/bin/cli.js.
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
