/**
 * A consumer that imports only `parseRelayEvent` from `heygen-relay/events` bundles to at most 5 KB
 * minified: `import` resolves to the ES module build (dist/events.mjs, made by the package's
 * `build:events-esm` script, run here with its own flags), which a bundler tree-shakes, so the JSON
 * Schema and the event type lists stay out. test/package/install.test.ts checks the same on the
 * packed and installed package.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuildOptions, buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'consumer-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The package.json script's esbuild command line as build options (`--format=esm` -> format: 'esm'). */
function scriptOptions(): BuildOptions {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [tool, entry, ...flags] = (pkg.scripts['build:events-esm'] ?? '').split(/\s+/);
  expect(tool).toBe('esbuild');
  const options: Record<string, unknown> = { entryPoints: [join(ROOT, entry as string)] };
  for (const flag of flags) {
    const [name, value] = flag.replace(/^--/, '').split('=') as [string, string | undefined];
    options[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = value ?? true;
  }
  return options as BuildOptions;
}

const HANDLER = `import { parseRelayEvent } from 'heygen-relay/events';
export const handler = async (event: { Records: { messageId: string; body: string }[] }) => {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      parseRelayEvent(record);
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
`;

describe('Package: the consumer entry point heygen-relay/events', () => {
  it('bundles a handler that imports only parseRelayEvent to <= 5 KB, and it parses queue messages', () => {
    const esm = join(work, 'events.mjs');
    buildSync({ ...scriptOptions(), outfile: esm, logLevel: 'silent' });
    writeFileSync(join(work, 'handler.ts'), HANDLER);
    const outfile = join(work, 'consumer.js');
    buildSync({
      entryPoints: [join(work, 'handler.ts')],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      outfile,
      alias: { 'heygen-relay/events': esm },
      logLevel: 'silent',
    });
    const bytes = statSync(outfile).size;
    expect(bytes).toBeLessThanOrEqual(5 * 1024);
    // The schema's descriptions and the type lists are not in it.
    expect(readFileSync(outfile, 'utf8')).not.toMatch(/draft\/2020-12|avatar_video_gif/);

    const detail = {
      version: '1',
      id: `heygen:evt:${'ab'.repeat(32)}`,
      provider: 'heygen',
      type: 'avatar_video.success',
      subject: { kind: 'video', id: 'v1' },
      callbackId: null,
      deliveryId: null,
      receivedAt: '2026-12-07T10:00:00Z',
      data: { video_id: 'v1' },
    };
    const { handler } = require(outfile) as { handler(e: unknown): Promise<unknown> };
    const body = (d: unknown) => JSON.stringify({ 'detail-type': detail.type, detail: d });
    return expect(
      handler({
        Records: [
          { messageId: 'm1', body: body(detail) },
          { messageId: 'm2', body: body({ ...detail, receivedAt: 'yesterday' }) },
        ],
      }),
    ).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
  });
});
