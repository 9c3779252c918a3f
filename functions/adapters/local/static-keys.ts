import type { SigningKey, SigningKeySource } from '../../core/ports.js';
import { type SecretProblem, usableKeys, type WeakSecretReporter } from '../../core/usable-keys.js';

/**
 * Signing keys held in memory (local relay, tests). `set()` swaps them, like a rotation. A secret
 * that fails the quality rule (functions/core/secret-quality.ts) is never a key: it is reported
 * (label and reason, never the value) and left out, so a relay with only weak secrets answers 503.
 */
export class StaticKeySource implements SigningKeySource {
  private keys: readonly SigningKey[];
  constructor(
    secrets: readonly string[],
    private readonly label = 'local',
    private readonly report: WeakSecretReporter = () => {},
    /** The provider's own rule for its secrets (ProviderIngress.secretProblem). */
    private readonly problem?: SecretProblem,
  ) {
    this.keys = this.usable(secrets);
  }
  private usable(secrets: readonly string[]): SigningKey[] {
    return usableKeys(
      secrets.filter((s) => s.length > 0).map((value, i) => ({ value, label: i === 0 ? this.label : `${this.label}-${i}` })),
      this.report,
      this.problem,
    );
  }
  set(secrets: readonly string[]): void {
    this.keys = this.usable(secrets);
  }
  async getKeys(): Promise<readonly SigningKey[]> {
    return this.keys;
  }
  async refresh(): Promise<readonly SigningKey[]> {
    return this.keys;
  }
}
