import { describe, expect, it } from 'vitest';
import { synthRelay } from '../support/synth.js';

describe('Construct: HeyGenRelay public surface', () => {
  const { stack } = synthRelay({ relay: { joggai: {} } });

  it('keeps none of the deprecated accessors (0.x, never published: read boundSources)', () => {
    const removed = [
      'heygenWebhookUrl',
      'signingSecret',
      'apiKeySecret',
      'registrar',
      'heygenBackfill',
      'joggaiWebhookUrl',
      'joggaiSigningSecret',
      'joggaiApiKeySecret',
      'joggaiRegistrar',
    ];
    expect(removed.filter((name) => name in stack.relay)).toEqual([]);
    expect(stack.relay.boundSources.heygen?.webhookUrl).toBeDefined();
    expect(stack.relay.boundSources.joggai?.signingSecret).toBeDefined();
  });
});
