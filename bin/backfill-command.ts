/**
 * `heygen-relay backfill --since DURATION [--dry-run] [--json]`: publishes what HeyGen's event history
 * lists as delivered since DURATION ago (default: the dedup window, 48 h) and the relay never
 * published, through the same path as the scheduled backfill (functions/providers/heygen/backfill.ts),
 * under the same lease. A sweep: the whole listing is walked (HeyGen promises no order) and every
 * entry created in the window is looked up (no sampling). `--dry-run` lists the missing events and
 * publishes nothing. With `parkedBucket` (the stack's ParkedBucketName), entries EventBridge can never
 * take are parked there; without it they are counted (`unpublishable`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDedupStore } from '../functions/adapters/aws/dynamodb-dedup.js';
import { DynamoEvidenceStore } from '../functions/adapters/aws/dynamodb-evidence.js';
import { DynamoLeaseStore } from '../functions/adapters/aws/dynamodb-lease.js';
import { EventBridgePublisher } from '../functions/adapters/aws/eventbridge-publisher.js';
import { S3ParkedStore, s3PutVia } from '../functions/adapters/aws/parked-store.js';
import type { HeyGenWebhookClient } from '../functions/providers/heygen/api/client.js';
import { BACKFILL_DEFAULTS, type BackfillSummary, backfill } from '../functions/providers/heygen/backfill.js';

/** `90m`, `36h`, `3d`, `1h30m`, or plain seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const re = /(\d+)(d|h|m|s)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
  for (;;) {
    m = re.exec(t);
    if (!m) break;
    ms += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  if (end !== t.length || end === 0 || ms <= 0)
    throw new RangeError(`--since must be a duration like 48h, 3d or 90m, got ${JSON.stringify(text)}`);
  return ms;
}

export interface BackfillCommandInput {
  readonly since: string | undefined;
  readonly dryRun: boolean;
  readonly client: HeyGenWebhookClient;
  readonly dedupTable: string;
  readonly eventBus: string;
  readonly stateTable: string;
  readonly signingSecretId: string;
  /** The parked-deliveries bucket (stack output ParkedBucketName): where unpublishable entries go. */
  readonly parkedBucket?: string;
  /** The relay source (HeyGen account; the scheduled run's RELAY_SOURCE): the evidence key. @default 'heygen' */
  readonly source?: string;
  readonly dynamoDb?: () => DynamoDBClient;
  readonly eventBridge?: () => EventBridgeClient;
  readonly now?: () => number;
}

export const DEFAULT_SINCE_MS = 48 * 3_600_000;
/** Kept from the window's far end, as the scheduled backfill keeps it (a CLI run takes minutes). */
const WINDOW_MARGIN_MS = 15 * 60_000;

export async function backfillCommand(input: BackfillCommandInput): Promise<BackfillSummary> {
  const now = (input.now ?? Date.now)();
  // Never further back than the dedup window less a margin: an older entry's record may have expired,
  // and it cannot be told from one never published (README), so it would be published again.
  const sinceMs = Math.max(
    now - (input.since === undefined ? DEFAULT_SINCE_MS : parseDuration(input.since)),
    now - DEFAULT_SINCE_MS + WINDOW_MARGIN_MS,
  );
  const ddb = (input.dynamoDb ?? (() => new DynamoDBClient({})))();
  const eventBridge = (input.eventBridge ?? (() => new EventBridgeClient({})))();
  const dedup = {
    windowSeconds: Math.ceil(DEFAULT_SINCE_MS / 1000),
    lockSeconds: BACKFILL_DEFAULTS.claimLockSeconds,
    legacyBodyKeys: true,
    sources: { [input.source ?? 'heygen']: 'heygen' },
  };
  return backfill(
    { sinceMs, dryRun: input.dryRun, maxPages: 1_000, maxEvents: 100_000 },
    {
      history: input.client,
      check: new DynamoDedupStore(ddb, input.dedupTable, { ...dedup, mode: 'record' }),
      claim: new DynamoDedupStore(ddb, input.dedupTable, { ...dedup, mode: 'claim' }),
      publisher: new EventBridgePublisher(eventBridge, input.eventBus),
      evidence: new DynamoEvidenceStore(ddb, input.stateTable),
      ...(input.parkedBucket
        ? {
            parked: new S3ParkedStore(input.parkedBucket, s3PutVia(eventBridge)),
          }
        : {}),
      ...(input.source && input.source !== 'heygen' ? { source: input.source } : {}),
      lease: { store: new DynamoLeaseStore(ddb, input.stateTable), name: `heygen-backfill:${input.signingSecretId}` },
    },
  );
}

export function describeBackfill(s: BackfillSummary): string[] {
  const lines = [
    `outcome: ${s.outcome}${s.dryRun ? ' (dry run)' : ''}; since ${new Date(s.sinceMs).toISOString()}; ${s.pages} page(s), ${s.examined} event(s) looked up`,
    `${s.dryRun ? 'would backfill' : 'backfilled'}: ${s.backfilled}; already published: ${s.alreadyPublished}; in flight: ${s.inFlight}; too recent: ${s.tooRecent}; failed: ${s.failed}`,
    `unpublishable: ${s.unpublishable} (parked: ${s.parked}); same type and data as another entry (one event): ${s.sameContent}`,
  ];
  for (const m of s.missing) lines.push(`  ${m.createdAt} ${m.type} ${m.eventId} -> ${m.id}`);
  if (s.outcome === 'busy') lines.push('another backfill holds the lease; try again later');
  return lines;
}
