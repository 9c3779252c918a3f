/**
 * The answer's time when a dependency hangs, against the provider's own deadline (JoggAI 5 s,
 * HeyGen 10 s; providers/runtime.ts `answerBudgetMs` leaves 20 % after the budget). DynamoDB
 * hanging as a whole: the claim never returns, the deadline's release of the claim runs into the
 * DynamoDB store's 1.5 s cap, and the failure evidence write into the evidence recorder's 500 ms
 * cap. Fake timers, the real budgets.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StaticKeySource } from '../../functions/adapters/local/static-keys.js';
import { evidenceRecorder } from '../../functions/core/evidence.js';
import { createIngress } from '../../functions/core/ingress.js';
import type { DedupStore } from '../../functions/core/ports.js';
import { sign } from '../../functions/core/verify.js';
import { heygen } from '../../providers/heygen/runtime/index.js';
import { joggai } from '../../providers/joggai/runtime/index.js';
import { answerBudgetMs } from '../../providers/runtime.js';
import type { ProviderIngress } from '../../providers/types.js';
import { captureTelemetry } from '../support/aws-mocks.js';
import { joggaiHeaders, joggaiSample } from '../support/joggai.js';

const SECRET = 'whsec_test_answer_deadline_0123456789';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** DynamoDB down: the claim hangs; a release takes the store's full 1.5 s cap. */
const hungDynamo: DedupStore = {
  claim: () => new Promise(() => {}),
  complete: () => new Promise(() => {}),
  release: () => sleep(1_500),
};

function request(provider: ProviderIngress) {
  const body =
    provider === joggai
      ? Buffer.from(joggaiSample('generated_avatar_video_success'))
      : Buffer.from(JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: 'v1' } }));
  const headers = provider === joggai ? joggaiHeaders(body, { secret: SECRET }) : { 'heygen-signature': sign(SECRET, body) };
  return { method: 'POST', path: `/${provider.name}`, headers, body, requestId: 'r' };
}

describe('The answer comes inside the provider’s deadline while DynamoDB hangs', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const provider of [joggai, heygen])
    it(`${provider.name}: 503 before ${provider.answerWithinMs} ms`, async () => {
      const ingress = createIngress({
        maxBodyBytes: 1 << 16,
        publisher: { publish: async () => {} },
        telemetry: captureTelemetry(),
        // The evidence write hangs too, until the recorder's 500 ms cap.
        onTrouble: evidenceRecorder({ record: () => sleep(500), read: async () => ({}) as never }),
        routes: [
          {
            provider,
            path: `/${provider.name}`,
            keys: new StaticKeySource([SECRET]),
            timestampToleranceSeconds: 0,
            budgetMs: answerBudgetMs(provider),
            dedup: hungDynamo,
          },
        ],
      });
      const t0 = Date.now();
      let answeredAfter = Number.NaN;
      const answer = ingress(request(provider)).then((r) => {
        answeredAfter = Date.now() - t0;
        return r;
      });
      await vi.advanceTimersByTimeAsync(15_000);
      const res = await answer;
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(res.body).error.code).toBe('deadline_exceeded');
      // A margin for the network and the Function URL between our answer and the provider.
      expect(answeredAfter).toBeLessThanOrEqual(provider.answerWithinMs - 250);
    });
});
