import type { SigningKey, SigningKeySource } from '../../core/ports.js';

/** Signing keys held in memory (local relay, tests). `set()` swaps them, like a rotation. */
export class StaticKeySource implements SigningKeySource {
  private keys: readonly SigningKey[];
  constructor(secrets: readonly string[], label = 'local') {
    this.keys = secrets.filter((s) => s.length > 0).map((secret, i) => ({ secret, label: i === 0 ? label : `${label}-${i}` }));
  }
  set(secrets: readonly string[]): void {
    this.keys = secrets.map((secret, i) => ({ secret, label: `local-${i}` }));
  }
  async getKeys(): Promise<readonly SigningKey[]> {
    return this.keys;
  }
  async refresh(): Promise<readonly SigningKey[]> {
    return this.keys;
  }
}
