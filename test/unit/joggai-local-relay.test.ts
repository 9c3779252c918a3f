import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRelay, startLocalRelay } from '../../functions/adapters/local/relay.js';
import { parseRelayEvent } from '../../functions/core/envelope.js';
import { joggaiHeaders, joggaiSample } from '../support/joggai.js';

const HEYGEN = 'whsec_local_heygen';
const JOGGAI = 'whsec_local_joggai';

describe('Local relay: POST /joggai next to /heygen, one sink', () => {
  let relay: LocalRelay;
  let sink: string;
  beforeAll(async () => {
    sink = join(mkdtempSync(join(tmpdir(), 'relay-')), 'events.jsonl');
    relay = await startLocalRelay({
      providers: [
        { name: 'heygen', secrets: [HEYGEN] },
        { name: 'joggai', secrets: [JOGGAI], acceptSubpaths: true },
      ],
      sinkPath: sink,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    });
  });
  afterAll(() => relay.close());

  const post = (path: string, body: string, secret: string) =>
    fetch(`${relay.url}${path}`, { method: 'POST', body, headers: joggaiHeaders(body, { secret }) });

  it('publishes JoggAI deliveries (also on /joggai/<segment>) to the same sink, deduplicated', async () => {
    const body = joggaiSample('generated_avatar_video_success');
    expect((await post('/joggai', body, JOGGAI)).status).toBe(200);
    const again = await post('/joggai/r2', body, JOGGAI);
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    expect((await post('/joggai/r2', joggaiSample('generated_motion_failed'), JOGGAI)).status).toBe(200);
    const lines = readFileSync(sink, 'utf8').trim().split('\n');
    expect(lines.map((l) => parseRelayEvent({ body: l }).type)).toEqual([
      'generated_avatar_video_success',
      'generated_motion_failed',
    ]);
  });

  it("keeps the providers' secrets apart", async () => {
    expect((await post('/joggai', joggaiSample('generated_image_success'), HEYGEN)).status).toBe(401);
  });
});
