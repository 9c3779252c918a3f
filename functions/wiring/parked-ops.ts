/**
 * Operators' functions over parked deliveries (signed deliveries EventBridge could not take as
 * they were): list them, and re-publish one after a fix. Re-publishing runs the provider's
 * normalize and the relay's checks again with the current code, publishes the same envelope `id`
 * (consumers that dedupe on it see one event) with the original `receivedAt`, and deletes the record
 * only once EventBridge accepted it. The signature is not checked again: it was verified at intake,
 * and the record lives in the relay's private bucket.
 */

import { getProvider } from '../../providers/runtime.js';
import type { ParkedArchive, ParkedSummary } from '../adapters/aws/parked-store.js';
import { UnpublishableError } from '../core/errors.js';
import { prepareEvent, Unpublishable } from '../core/ingress.js';
import { parkedBody, parseParkedRecord } from '../core/parked.js';
import type { EventPublisher } from '../core/ports.js';

export type { ParkedArchive, ParkedSummary };

/** Parked deliveries, oldest first. */
export async function listParked(
  archive: ParkedArchive,
  options: { readonly provider?: string; readonly limit?: number } = {},
): Promise<ParkedSummary[]> {
  const all = await archive.list(options);
  return all.sort((a, b) => a.parkedAt.localeCompare(b.parkedAt));
}

export interface RepublishOptions {
  /**
   * Publish even when the body would not reach the bus exactly as sent (`lossy_number`,
   * `duplicate_key`, `invalid_utf8`): `data` is then what `JSON.parse` makes of it. Size and depth
   * limits still apply. @default false
   */
  readonly acceptLossy?: boolean;
  /** Check and report only; publish and delete nothing. @default false */
  readonly dryRun?: boolean;
}

export type RepublishResult =
  | { readonly key: string; readonly id: string; readonly outcome: 'published' | 'would_publish' }
  | {
      readonly key: string;
      readonly id: string;
      readonly outcome: 'still_unpublishable';
      readonly reason: string;
      readonly message: string;
    }
  | { readonly key: string; readonly outcome: 'not_found' };

/** Re-publishes one parked delivery (by its key from `listParked`); deletes it once published. */
export async function republishParked(
  deps: { readonly archive: ParkedArchive; readonly publisher: EventPublisher },
  key: string,
  options: RepublishOptions = {},
): Promise<RepublishResult> {
  const text = await deps.archive.read(key);
  if (text === null) return { key, outcome: 'not_found' };
  const record = parseParkedRecord(text);
  const provider = getProvider(record.provider);
  const body = parkedBody(record);
  let prepared: ReturnType<typeof prepareEvent>;
  try {
    const delivery = provider.normalize(body, record.headers);
    prepared = prepareEvent(provider.name, body, delivery, record.id, record.receivedAt, {
      exact: !options.acceptLossy,
      ...(record.source ? { source: record.source } : {}),
    });
  } catch (err) {
    return { key, id: record.id, outcome: 'still_unpublishable', reason: 'invalid', message: (err as Error).message };
  }
  if (prepared instanceof Unpublishable)
    return { key, id: record.id, outcome: 'still_unpublishable', reason: prepared.reason, message: prepared.message };
  if (options.dryRun) return { key, id: record.id, outcome: 'would_publish' };
  try {
    await deps.publisher.publish(prepared.event, undefined, prepared.detail);
  } catch (err) {
    if (err instanceof UnpublishableError)
      return { key, id: record.id, outcome: 'still_unpublishable', reason: err.reason, message: err.busCode ?? err.message };
    throw err;
  }
  await deps.archive.remove(key);
  return { key, id: record.id, outcome: 'published' };
}
