import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hmacKeyProblem,
  isUsableSigningSecret,
  MIN_HMAC_KEY_BYTES,
  signingSecretProblem,
} from '../../functions/core/secret-quality.js';

describe('Function: signingSecretProblem', () => {
  it('refuses placeholders, weak values and non-strings, naming the reason and never the value', () => {
    const refused: unknown[] = [
      'whsec_...',
      '{"secret":"whsec_..."}',
      'REPLACE_ME',
      'replace_me_with_the_secret_from_heygen',
      '<your webhook secret>',
      '   ',
      'null',
      ['whsec_abc'],
      null,
      'whsec_xxxxxxxxxxxxxxxxxxxx',
      'whsec_your_signing_secret_here',
      'whsec_placeholder',
      'whsec_my_webhook_secret_2024',
      'set-this-to-the-heygen-secret',
      'short',
      'with whitespace inside the value',
    ];
    for (const v of refused) {
      const reason = signingSecretProblem(v);
      expect(reason, JSON.stringify(v)).not.toBeNull();
      if (typeof v === 'string' && v.trim().length > 6) expect(reason).not.toContain(v);
    }
  });

  it('accepts secrets as providers issue them', () => {
    expect(isUsableSigningSecret('whsec_k7x9m2abcdefghQ')).toBe(true);
    expect(isUsableSigningSecret('123ec_TS_YwqJ-HujAT0KvEMqxrg==')).toBe(true);
    expect(isUsableSigningSecret('a1b2c3d4e5f6a7b8')).toBe(true); // JoggAI's 16 characters
  });

  it('never refuses a random secret of the shapes HeyGen and JoggAI issue (a refusal would lock the relay out)', () => {
    // Found by the lifecycle chaos run: a substring check refused a random HeyGen secret containing "tbd".
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), () => {
        const heygen = `whsec_${randomBytes(24).toString('base64url')}`;
        const joggai = randomBytes(8).toString('hex');
        const base64 = randomBytes(22).toString('base64');
        return isUsableSigningSecret(heygen) && isUsableSigningSecret(joggai) && isUsableSigningSecret(base64);
      }),
      { numRuns: 20_000 },
    );
    // A random HeyGen token that merely starts like a placeholder word (`mykey`: 1 in 32^5 draws, by count).
    for (const tricky of ['whsec_TbDq9x', 'whsec_aTodoB', 'whsec_xExamplex', 'whsec_mykey', 'whsec_setit-', 'whsec_TheToken_']) {
      expect(isUsableSigningSecret(`${tricky}${randomBytes(12).toString('hex')}`)).toBe(true);
    }
  });
});

describe('Function: hmacKeyProblem (decoded key bytes, e.g. a Standard Webhooks whsec_ secret)', () => {
  it('refuses short, published-example and degenerate keys, the reason never holding the key', () => {
    const example = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const cases: [Uint8Array, RegExp][] = [
      [randomBytes(MIN_HMAC_KEY_BYTES - 1), /shorter than 16/],
      [example, /published example/],
      [Buffer.alloc(32), /every byte of the key is the same/],
      [Buffer.alloc(24, 0x41), /every byte of the key is the same/],
      [Buffer.from('abcabcabcabcabcabcabcabc'), /too few distinct bytes/],
    ];
    for (const [key, reason] of cases) {
      const problem = hmacKeyProblem(key);
      expect(problem).toMatch(reason);
      expect(problem).not.toContain(Buffer.from(key).toString('base64').slice(0, 8));
    }
  });

  it('never refuses a random key of 16 bytes or more (a refusal would lock a sender out)', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_HMAC_KEY_BYTES, max: 64 }), (n) => hmacKeyProblem(randomBytes(n)) === null),
      { numRuns: 20_000 },
    );
  });
});
