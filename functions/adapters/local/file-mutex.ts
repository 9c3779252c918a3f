import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Runs `fn` while holding `<path>.mutex` (a directory: `mkdir` is atomic), so read-modify-write
 * sequences on `path` by several local processes do not interleave. A mutex left by a process
 * that died inside its few milliseconds is broken after `staleMs`.
 */
export async function withFileMutex<T>(path: string, fn: () => Promise<T>, staleMs = 10_000): Promise<T> {
  const mutex = `${path}.mutex`;
  await mkdir(dirname(path), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      await mkdir(mutex);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(mutex).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await rmdir(mutex).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, Math.min(5 * (i + 1), 50)));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}
