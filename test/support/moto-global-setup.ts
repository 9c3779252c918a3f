/**
 * Vitest globalSetup: starts ONE moto server (AWS emulator) for the whole test run and provides its
 * endpoint to test files as `inject('motoEndpoint')`.
 *
 * Wire it in vitest.config.ts: `globalSetup: ['./test/support/moto-global-setup.ts'],`
 *
 * Test files run in parallel against this one server: give every resource a unique name and do not
 * call the reset API on it (that would wipe the state of other files mid-test). A file that needs a
 * clean emulator of its own can call startMoto() itself.
 */

// Type-only import so the `declare module 'vitest'` augmentation below resolves from this CJS file.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startMoto } from './moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // Throws (and so fails the run, saying why) if the emulator cannot start: no silent skips.
  const moto = await startMoto();
  if (process.env.MOTO_DEBUG) {
    console.log(`[moto] AWS emulator ready at ${moto.endpoint} in ${Date.now() - started} ms`);
  }
  project.provide('motoEndpoint', moto.endpoint);
  return async () => {
    await moto.stop();
  };
}
