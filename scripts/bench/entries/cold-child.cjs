// One cold module init: require() of a bundle in a fresh node process, timed with hrtime.
const path = process.argv[2];
const t0 = process.hrtime.bigint();
const mod = require(path);
const t1 = process.hrtime.bigint();
if (process.argv[3] === 'handler' && typeof mod.handler !== 'function') throw new Error('bundle has no handler export');
process.stdout.write(
  `${JSON.stringify({ ms: Number(t1 - t0) / 1e6, rssMb: process.memoryUsage().rss / 1048576, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exit(0);
