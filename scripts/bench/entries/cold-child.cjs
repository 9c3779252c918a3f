// One cold module init: require() of a bundle in a fresh node process, timed with hrtime (wall)
// and process.cpuUsage (CPU of this process: less sensitive to other load on a shared machine).
const path = process.argv[2];
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const mod = require(path);
const t1 = process.hrtime.bigint();
const c1 = process.cpuUsage(c0);
if (process.argv[3] === 'handler' && typeof mod.handler !== 'function') throw new Error('bundle has no handler export');
process.stdout.write(
  `${JSON.stringify({ ms: Number(t1 - t0) / 1e6, cpuMs: (c1.user + c1.system) / 1000, rssMb: process.memoryUsage().rss / 1048576, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exit(0);
