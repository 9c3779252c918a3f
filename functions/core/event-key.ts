/**
 * The one key that identifies an event inside the relay: the envelope `id`, the dedup record's `pk`,
 * the parked record's id (and its S3 key, core/parked.ts `parkedKey`), and what the backfill and the
 * registrar look up. A source is a tenant: its id is part of the key, so one source can never shadow
 * another (two Standard Webhooks sources sending the same `webhook-id`, two HeyGen accounts).
 *
 * Layout: `<source>:<rest>`, where `<rest>` is what the provider's key has after its `<provider>:`
 * prefix (`evt:<sha256>` for HeyGen's content key, `<sha256>` for a body key or a Standard Webhooks
 * id). For a provider's default source (its id is the provider's name) that is the provider's key
 * itself, unchanged from before keys were per source. Source ids are 1-40 of `[a-z0-9_-]` and never
 * hold a `:`, so `<source>:` is an unambiguous prefix: the envelope schema's pattern
 * `^[a-z0-9_-]+:(evt:)?[0-9a-f]{64}$` still holds, and IAM can match a source's items with
 * `dynamodb:LeadingKeys` `<source>:*`.
 *
 * Earlier scheme (before this layout): `<provider>:<rest>` for every source of a provider. Stores
 * recognise records of that scheme for one dedup window (functions/adapters/aws/dynamodb-dedup.ts,
 * `sources`); `unscopedEventKey` gives the key such a record has.
 */

/** The relay's key of an event of `source` whose provider keys it `<provider>:<rest>`. */
export function sourceEventKey(source: string, providerKey: string): string {
  const colon = providerKey.indexOf(':');
  if (colon <= 0) throw new TypeError('Not a provider event key (<provider>:<rest>)');
  // The default source: the provider's key as it is (no new string on the hot path).
  if (colon === source.length && providerKey.startsWith(source)) return providerKey;
  return `${source}${providerKey.slice(colon)}`;
}

/** The source id a relay key starts with. */
export function sourceOfKey(key: string): string {
  const colon = key.indexOf(':');
  return colon <= 0 ? '' : key.slice(0, colon);
}

/**
 * The key the same event had before keys were per source (`<provider>:<rest>`), or undefined when it
 * is the same key (the provider's default source) or `key` is not of `source`.
 */
export function unscopedEventKey(key: string, source: string, provider: string): string | undefined {
  if (source === provider || key.length <= source.length || key[source.length] !== ':' || !key.startsWith(source))
    return undefined;
  return `${provider}${key.slice(source.length)}`;
}

/**
 * The dedup table's items that are not an event's record: when content keys, then per-source keys,
 * were first used (functions/adapters/aws/dynamodb-dedup.ts). The ingress's IAM grant names them exactly.
 */
export const DEDUP_META_KEYS = ['dedup-meta#event-keys-since', 'dedup-meta#source-keys-since'] as const;
