/** What a Lambda entry writes through Powertools, captured while it runs: its log lines and EMF metric blobs. */
import { vi } from 'vitest';

/** An Embedded Metric Format blob (CloudWatch's metric directive plus the values and dimensions). */
export interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] };
  [k: string]: unknown;
}

export type LogLine = { level: string; message: string; [k: string]: unknown };

export interface Captured<T> {
  readonly result: T | undefined;
  /** What `run` threw, if it threw (`threw` tells an `undefined` thrown from none). */
  readonly error: unknown;
  readonly threw: boolean;
  readonly emf: Emf[];
  readonly logs: LogLine[];
}

/**
 * Runs `run` with stdout and stderr captured (Powertools writes INFO and EMF to stdout, WARN and ERROR
 * to stderr, so nothing reaches the test output) and splits the JSON lines into EMF blobs and logs.
 */
export async function capturePowertools<T>(run: () => Promise<T>): Promise<Captured<T>> {
  const writes: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  let result: T | undefined;
  let error: unknown;
  let threw = false;
  try {
    result = await run();
  } catch (err) {
    error = err;
    threw = true;
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const json = writes
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const emf = json.filter((j): j is Emf => '_aws' in j);
  const logs = json.filter((j) => !('_aws' in j)) as LogLine[];
  return { result, error, threw, emf, logs };
}
