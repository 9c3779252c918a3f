#!/usr/bin/env node
/**
 * Entry of the `heygen-relay` operator CLI (see bin/commands/program.ts). The package's bin is its
 * compiled form, dist/bin/cli.js (plain Node, no tsx); in this repository `npm run cli -- <args>`
 * runs it from source.
 */
import { main } from './commands/program.js';

export { main };

if (require.main === module) {
  // The SDK's notice that its 2027 releases need Node 22 (9 lines on stderr on every call on Node 20)
  // is the SDK's to give and the README's to document (Node versions), not each command's output:
  // the SDK's own switch turns it off unless the user set it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `heygen-relay ... | head`: the reader has gone, nothing more is wanted; end quietly.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
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
