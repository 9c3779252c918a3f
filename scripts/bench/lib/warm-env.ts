/**
 * Environment of a warm-handler child (scripts/bench/entries/warm.ts) for the A/B and profile
 * scripts: no routes from the environment (the child builds its own), logging and metrics off.
 */
export function quietWarmEnv(config: object, outPath: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    RELAY_PROVIDERS: '[]',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    NODE_NO_WARNINGS: '1',
    BENCH_WARM: JSON.stringify(config),
    BENCH_OUT: outPath,
  };
}
