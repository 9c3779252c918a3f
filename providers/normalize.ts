/** Helpers shared by provider adapters (provider-agnostic). */

import { parseBodyJson } from '../functions/core/body-text.js';
import type { RelaySubject } from '../functions/core/envelope.js';
import { BadRequestError } from '../functions/core/errors.js';

/** Parses a verified body as a JSON object or throws a 400. */
export function readJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseBodyJson(body);
  } catch (err) {
    throw new BadRequestError('invalid_json', 'Body is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadRequestError('invalid_json', 'Body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The first id-like field (string or number) among `idKeys`, as a string. */
export function pickSubject(data: Record<string, unknown>, rule: { kind: string; idKeys: readonly string[] }): RelaySubject {
  for (const key of rule.idKeys) {
    const v = data[key];
    if (typeof v === 'string' && v.length > 0) return { kind: rule.kind, id: v };
    if (typeof v === 'number' && Number.isFinite(v)) return { kind: rule.kind, id: String(v) };
  }
  return { kind: rule.kind, id: null };
}

/** `table[key]` only when `key` is the table's own property (never `constructor`, `__proto__`...). */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
