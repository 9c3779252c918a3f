/**
 * The ingress never uses a weak or placeholder secret as an HMAC key (functions/core/secret-quality.ts):
 * anyone who read the docs could sign with it. Each refused candidate is reported by its label and
 * the reason, never its value.
 */
import type { SigningKey } from './ports.js';
import { signingSecretProblem } from './secret-quality.js';

/** Called once per refused secret: its label (e.g. `AWSCURRENT`) and why, never the value. */
export type WeakSecretReporter = (label: string, reason: string) => void;

/** Why a secret that passes the general rule can still never verify a provider's deliveries (ProviderIngress.secretProblem). */
export type SecretProblem = (secret: string) => string | null;

/** The usable, distinct keys among `candidates`, in order; the rest reported. `extra`: the provider's own rule. */
export function usableKeys(
  candidates: readonly { readonly label: string; readonly value: unknown }[],
  report: WeakSecretReporter,
  extra?: SecretProblem,
): SigningKey[] {
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  for (const { label, value } of candidates) {
    const problem = signingSecretProblem(value) ?? extra?.(value as string) ?? null;
    if (problem !== null) {
      report(label, problem);
      continue;
    }
    const secret = value as string;
    if (seen.has(secret)) continue;
    seen.add(secret);
    keys.push({ secret, label });
  }
  return keys;
}
