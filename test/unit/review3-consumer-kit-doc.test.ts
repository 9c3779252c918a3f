/**
 * Review 3: docs/consuming.md's consumer-kit snippet is what people copy. It used Powertools'
 * default idempotency expiry (1 h) and called `idempotencyConfig.registerLambdaContext` on a name it
 * never declared, while the example it quotes keeps ids 7 days. A copy the backfill publishes an hour
 * or more after the first (a record that was not written, a claim it took over) was then acted on twice.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(resolve(__dirname, '../../docs/consuming.md'), 'utf8');
const snippet = /```ts\n([^`]*makeIdempotent[^`]*)```/.exec(doc)?.[1] ?? '';

describe('review3: the consumer kit as docs/consuming.md shows it', () => {
  it('review3-consumer-kit-expiry: the snippet keeps ids longer than the dedup window plus HeyGen retries (72 h), and declares what it uses', () => {
    expect(snippet).toContain('makeIdempotent');
    const expiry = /expiresAfterSeconds:\s*([\d\s*_]+)/.exec(snippet)?.[1];
    expect(expiry).toBeDefined();
    const seconds = (expiry as string)
      .split('*')
      .map((f) => Number(f.replaceAll('_', '').trim()))
      .reduce((a, b) => a * b, 1);
    expect(seconds).toBeGreaterThanOrEqual(72 * 3600);
    if (snippet.includes('idempotencyConfig.')) expect(snippet).toMatch(/const idempotencyConfig\s*=/);
  });
});
