import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

describe('Generated HeyGen API types', () => {
  it('are up to date with providers/heygen/runtime/api/openapi.yaml (npm run gen:heygen-types)', async () => {
    const bin = join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    const run = promisify(execFile)(
      process.execPath,
      [
        bin,
        'providers/heygen/runtime/api/openapi.yaml',
        '-o',
        'providers/heygen/runtime/api/schema.d.ts',
        '--default-non-nullable',
        'false',
        '--check',
      ],
      { cwd: root },
    );
    await expect(run).resolves.toBeDefined();
  });
});
