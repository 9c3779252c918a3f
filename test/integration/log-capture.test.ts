/**
 * The secret-leak scan's own checks: the capture is installed in this worker (vitest setupFiles)
 * and sees Powertools' JSON lines, and the scanner finds a planted secret, API key or signature
 * (in any case) in a log line. The scan of the whole run happens in the globalSetup teardown of
 * test/support/log-capture.ts, which fails the run on any leak.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { capturedLines, scanForLeaks } from '../support/log-capture.js';

describe('log capture', () => {
  it('captures Powertools Logger and console output in this worker', () => {
    const marker = `capture-probe-${Math.random().toString(36).slice(2)}`;
    new Logger({ serviceName: 'capture-probe' }).info(marker);
    console.log(`plain console ${marker}`);
    const lines = capturedLines().filter((l) => l.includes(marker));
    expect(lines.some((l) => l.startsWith('{') && JSON.parse(l).message === marker)).toBe(true);
    expect(lines.some((l) => l.startsWith('plain console'))).toBe(true);
  });

  it('the scanner finds planted secrets, API keys and signatures (any case), and nothing in clean lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leak-selftest-'));
    try {
      const sig = 'ab'.repeat(32);
      writeFileSync(
        join(dir, 'w.sensitive'),
        [
          { kind: 'secret', value: 'whsec_planted_0123456789abcdef' },
          { kind: 'api_key', value: 'hg_key_planted_987654321' },
          { kind: 'signature', value: sig },
        ]
          .map((x) => JSON.stringify(x))
          .join('\n'),
      );
      writeFileSync(
        join(dir, 'w.log'),
        [
          '{"level":"INFO","message":"clean","id":"heygen:0000000000000000000000000000000000000000000000000000000000000000"}',
          '{"level":"ERROR","message":"oops whsec_planted_0123456789abcdef"}',
          `{"level":"WARN","sig":"${sig.toUpperCase()}"}`,
          'Authorization: hg_key_planted_987654321',
          'unregistered but secret-shaped: whsec_AbCdEf0123456789XyZ',
        ].join('\n'),
      );
      const report = scanForLeaks(dir);
      expect(report.linesScanned).toBe(5);
      expect(report.leaks.map((l) => l.kind).sort()).toEqual(['api_key', 'secret', 'secret', 'signature']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
