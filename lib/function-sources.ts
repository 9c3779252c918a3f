/** Where each of the relay's Lambda functions starts. No imports: read by the build and by the construct. */
/**
 * Every function: its asset name and its entry (a file in an `entries/` folder, relative to the
 * repository root), each built into dist/assets/<name> at pack time. The relay's own entries are
 * in functions/entries/, a provider's in providers/<name>/runtime/entries/.
 */
export const FUNCTION_SOURCES: Readonly<Record<string, string>> = {
  ingress: 'functions/entries/ingress.ts',
  registrar: 'providers/heygen/runtime/entries/registrar.ts',
  rotation: 'providers/heygen/runtime/entries/rotation.ts',
  'joggai-registrar': 'providers/joggai/runtime/entries/registrar.ts',
  backfill: 'providers/heygen/runtime/entries/backfill.ts',
  'temp-route-sweeper': 'functions/entries/temp-route-sweeper.ts',
  archiver: 'functions/entries/archiver.ts',
};

/** Every function's asset name. */
export const FUNCTION_ENTRIES: readonly string[] = Object.keys(FUNCTION_SOURCES);
