import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

describe('Generated HeyGen API types', () => {
  it('are up to date with functions/providers/heygen/api/openapi.yaml (npm run gen:heygen-types)', async () => {
    const bin = join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    const run = promisify(execFile)(
      process.execPath,
      [
        bin,
        'functions/providers/heygen/api/openapi.yaml',
        '-o',
        'functions/providers/heygen/api/schema.d.ts',
        '--default-non-nullable',
        'false',
        '--check',
      ],
      { cwd: root },
    );
    await expect(run).resolves.toBeDefined();
  });
});
