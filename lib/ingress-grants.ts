/**
 * The ingress's DynamoDB grants, item by item. The ingress is the one function strangers on the
 * internet reach, so it may touch only the items it writes: in the dedup table its sources' event
 * records (`<source>:*`, functions/core/event-key.ts) and the two scheme markers; in the state table
 * its sources' evidence items (`evidence#<source>`), never a lease (`lease#...`) or a backfill
 * checkpoint (`backfill#...`). Each statement is conditioned on `dynamodb:LeadingKeys` with
 * `ForAllValues:StringLike`, and lists only single-item actions, which always carry their key (an
 * action without a key, a Scan, would pass a `ForAllValues` condition vacuously).
 * test/infra/ingress-iam.test.ts fails when a statement is widened.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { DEDUP_META_KEYS } from '../functions/core/event-key.js';
import type { SourceRoute } from './source.js';

/** One grant: single-item actions on the items whose partition key matches one of `keys` (StringLike). */
export interface ItemGrant {
  readonly actions: readonly string[];
  readonly keys: readonly string[];
}

const sourceOf = (r: SourceRoute) => r.source ?? r.name;

/**
 * The dedup table: `record` mode reads and puts its sources' records; `claim` mode also updates (mark
 * published) and deletes (release a failed claim). The markers are read and put once (conditional).
 * A second account of a provider also reads its provider's earlier keys (`<provider>:*`, written before
 * keys were per source; read for one dedup window, never written).
 */
export function dedupItemGrants(routes: readonly SourceRoute[]): ItemGrant[] {
  const grants: ItemGrant[] = [];
  const prefixes = (mode: string) => routes.filter((r) => r.dedupMode === mode).map((r) => `${sourceOf(r)}:*`);
  const record = prefixes('record');
  const claim = prefixes('claim');
  if (record.length > 0) grants.push({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], keys: record });
  if (claim.length > 0)
    grants.push({ actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], keys: claim });
  grants.push({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], keys: [...DEDUP_META_KEYS] });
  const own = new Set(routes.map(sourceOf));
  const earlier = [...new Set(routes.filter((r) => sourceOf(r) !== r.name).map((r) => r.name))].filter((p) => !own.has(p));
  if (earlier.length > 0) grants.push({ actions: ['dynamodb:GetItem'], keys: earlier.map((p) => `${p}:*`) });
  return grants;
}

/** The state table: the ingress moves its sources' evidence stamps forward (functions/core/evidence.ts). */
export function evidenceItemGrants(routes: readonly SourceRoute[]): ItemGrant[] {
  // Its evidence item, and one item per refused key (`evidence#<source>#refused#<key>`, dynamodb-evidence.ts).
  const keys = routes.flatMap((r) => [`evidence#${sourceOf(r)}`, `evidence#${sourceOf(r)}#refused#*`]);
  return [{ actions: ['dynamodb:UpdateItem'], keys }];
}

/** `grants` on `tableArn` as policy statements, each conditioned on the items' partition keys. */
export function itemPolicyStatements(tableArn: string, grants: readonly ItemGrant[]): iam.PolicyStatement[] {
  return grants.map(
    (g) =>
      new iam.PolicyStatement({
        actions: [...g.actions],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...g.keys] } },
      }),
  );
}
