import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../bin/commands/program.js';
import { DirectoryParkedStore } from '../../functions/adapters/local/parked-dir.js';
import type { ParkedDelivery } from '../../functions/core/ports.js';

describe('CLI: heygen-relay parked list | republish', () => {
  let dir: string;
  let out: string[];
  let errs: string[];
  const io = (): CliIo => ({ env: {}, out: (l) => out.push(l), err: (l) => errs.push(l) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parked-cli-'));
    out = [];
    errs = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const park = async (body: string, reason: ParkedDelivery['reason']) => {
    const store = new DirectoryParkedStore(join(dir, 'parked'));
    await store.park({
      id: `heygen:${createHash('sha256').update(body).digest('hex')}`,
      provider: 'heygen',
      reason,
      message: 'parked by the test',
      receivedAt: '2026-11-29T00:00:00.000Z',
      path: '/heygen',
      headers: { 'content-type': 'application/json' },
      keyLabel: 'AWSCURRENT',
      body: Buffer.from(body),
    });
  };

  it('lists parked deliveries, republishes one to the sink once it is publishable, and deletes its record', async () => {
    // Parked while the bus refused it (e.g. a transient schema problem): publishable with the current code.
    await park('{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}', 'rejected_by_bus');
    expect(await main(['parked', 'list', '--parked-dir', join(dir, 'parked'), '--json'], io())).toBe(0);
    const [item] = JSON.parse(out.join('\n')) as { key: string; reason: string; provider: string }[];
    expect(item).toMatchObject({ provider: 'heygen', reason: 'rejected_by_bus' });

    out = [];
    const sink = join(dir, 'events.jsonl');
    const args = ['parked', 'republish', item?.key as string, '--parked-dir', join(dir, 'parked'), '--bus', sink];
    expect(await main([...args, '--dry-run'], io())).toBe(0);
    expect(out.join('\n')).toMatch(/would publish/);
    expect(await main(args, io())).toBe(0);
    const published = (await readFile(sink, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(published).toHaveLength(1);
    out = [];
    expect(await main(['parked', 'list', '--parked-dir', join(dir, 'parked')], io())).toBe(0);
    expect(out).toEqual(['no parked deliveries']);
  });

  it('reports a delivery that is still unpublishable (exit 1) and keeps it', async () => {
    await park('{"event_type":"avatar_video.success","event_data":{"n":12345678901234567890}}', 'lossy_number');
    await main(['parked', 'list', '--parked-dir', join(dir, 'parked'), '--json'], io());
    const [item] = JSON.parse(out.join('\n')) as { key: string }[];
    out = [];
    const code = await main(
      ['parked', 'republish', item?.key as string, '--parked-dir', join(dir, 'parked'), '--bus', join(dir, 's.jsonl')],
      io(),
    );
    expect(code).toBe(1);
    // An error: one line on stderr, nothing on stdout.
    expect(errs.join('\n')).toMatch(/^error: .*still unpublishable \(lossy_number\)/);
    expect(out).toEqual([]);
    out = [];
    await main(['parked', 'list', '--parked-dir', join(dir, 'parked')], io());
    expect(out).toHaveLength(1);
  });

  it('explains what is missing', async () => {
    expect(await main(['parked', 'list'], io())).toBe(64);
    expect(errs.join('\n')).toMatch(/--stack, --parked-bucket or --parked-dir/);
    expect(await main(['parked', 'bogus', '--parked-dir', dir], io())).toBe(64);
  });
});
