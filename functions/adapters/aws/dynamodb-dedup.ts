import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DEDUP_META_KEYS, sourceOfKey, unscopedEventKey } from '../../core/event-key.js';
import type { ClaimResult, CompleteResult, DedupMode, DedupStore } from '../../core/ports.js';

export interface DynamoDedupOptions {
  /** How long a published delivery is remembered. */
  readonly windowSeconds: number;
  /** How long an in-progress claim blocks others (must exceed the function timeout). */
  readonly lockSeconds: number;
  /** See `DedupMode`. @default 'claim' */
  readonly mode?: DedupMode;
  /**
   * Recognise deliveries recorded under the earlier body key (`seenLegacy`) during the first dedup
   * window after content keys were first used in the table. Off: the store has no `seenLegacy`
   * and the check costs nothing (a table that never held body keys). @default false
   */
  readonly legacyBodyKeys?: boolean;
  /**
   * The relay's sources served through this store: source id → provider name. A source whose id is
   * not its provider's name had its events keyed `<provider>:<rest>` before keys were per source
   * (core/event-key.ts): with `legacyBodyKeys` on, `claim` of such a source's key also reads that
   * earlier key (in parallel, one round trip) during the first dedup window after per-source keys
   * were first used in the table (item `dedup-meta#source-keys-since`), and a record found there
   * makes the delivery a duplicate. A provider's default source needs no read (same key). @default none
   */
  readonly sources?: Readonly<Record<string, string>>;
  readonly now?: () => number;
}

/**
 * Dedup in DynamoDB. Item: `pk` (dedup key), `status` (IN_PROGRESS | COMPLETED), `owner` (the
 * request that wrote it), `lockUntil` (ms; IN_PROGRESS only), `expiresAt` (seconds; the table's TTL
 * attribute; also checked in conditions because TTL deletes late).
 *
 * `claim` mode: conditional PutItem IN_PROGRESS, publish, UpdateItem COMPLETED (2 WRU); a failure
 * deletes the claim. `record` mode: consistent GetItem, publish, conditional PutItem COMPLETED
 * (1 RRU + 1 WRU); nothing is written before the event is on the bus, so nothing needs releasing.
 * The two modes read each other's items, so switching modes on a live table is safe.
 *
 * Both modes say `took_over` when they go ahead over another owner's unfinished claim whose lock has
 * passed (`claim`: the PutItem's `ALL_OLD`; `record`: the read), and `record` mode's write says
 * `raced` when it replaced another owner's live claim: the caller counts the possible second copy.
 * Not seen: a put whose answer was lost and which the SDK retried (the retry sees our own item).
 */
export class DynamoDedupStore implements DedupStore {
  private readonly now: () => number;
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDedupOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.mode = options.mode ?? 'claim';
    // Off: no `seenLegacy` at all, so callers skip even computing the earlier-scheme key.
    this.seenLegacy = options.legacyBodyKeys ? (key, signal) => this.readLegacy(key, signal) : undefined;
    if (options.legacyBodyKeys && options.sources)
      for (const [source, provider] of Object.entries(options.sources))
        if (source !== provider) this.earlierProviders.set(source, provider);
  }

  /** Sources whose keys changed when keys became per source: source id → provider name. */
  private readonly earlierProviders = new Map<string, string>();

  /** The key `key`'s event had before keys were per source, while such records may be live; else undefined. */
  private earlierKey(key: string): string | undefined {
    if (this.earlierProviders.size === 0) return undefined;
    const source = sourceOfKey(key);
    const provider = this.earlierProviders.get(source);
    return provider === undefined ? undefined : unscopedEventKey(key, source, provider);
  }

  readonly seenLegacy: ((key: string, signal?: AbortSignal) => Promise<boolean>) | undefined;

  readonly mode: DedupMode;

  /**
   * The attributes every item has; `expiresAt` is the dedup window from `nowS`. `src` (the key's
   * source) marks a record written under per-source keys: the default source's records have the
   * earlier scheme's key, and only records without `src` are of that scheme (`readLegacy`).
   */
  private item(key: string, status: 'IN_PROGRESS' | 'COMPLETED', owner: string, nowS: number) {
    return {
      pk: { S: key },
      status: { S: status },
      owner: { S: owner },
      expiresAt: { N: String(nowS + this.options.windowSeconds) },
      src: { S: sourceOfKey(key) },
    };
  }

  async claim(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    const earlier = this.earlierKey(key);
    if (earlier === undefined) return this.claimKey(key, owner, signal);
    // Read the earlier key together with the claim (one round trip); it counts only if the claim went ahead.
    const seen = this.readLegacy(earlier, signal, SOURCE_KEYS_MARKER);
    seen.catch(() => undefined);
    const result = await this.claimKey(key, owner, signal);
    if (result !== 'claimed' && result !== 'took_over') return result;
    try {
      if (!(await seen)) return result;
    } catch (err) {
      await this.release(key, owner);
      throw err;
    }
    // Published before the upgrade: mark this key too (later copies need one read), answer duplicate.
    if (this.mode === 'claim') await this.complete(key, owner, signal).catch(() => this.release(key, owner));
    return 'duplicate';
  }

  private async claimKey(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    if (this.mode === 'record') return this.check(key, owner, signal);
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    const put = await this.putIf(
      { ...this.item(key, 'IN_PROGRESS', owner, nowS), lockUntil: { N: String(nowMs + this.options.lockSeconds * 1000) } },
      {
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowS OR (#s = :ip AND lockUntil < :nowMs)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':nowS': { N: String(nowS) }, ':nowMs': { N: String(nowMs) }, ':ip': { S: 'IN_PROGRESS' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
      signal,
    );
    if ('refused' in put) return this.claimRefused(key, owner, put.refused.Item, signal);
    // What the claim replaced: another owner's unfinished claim means `took_over`.
    if (!this.unfinishedOfAnother(put.replaced, owner, nowS)) return 'claimed';
    this.tookOver.add(claimId(key, owner));
    return 'took_over';
  }

  /** A claim refused by its condition: what holds the key (`old`, read when the refusal did not carry it) says why. */
  private async claimRefused(
    key: string,
    owner: string,
    refusedOver: Record<string, AttributeValue> | undefined,
    signal?: AbortSignal,
  ): Promise<ClaimResult> {
    const old = refusedOver ?? (await this.readItem(key, signal));
    if (old?.status?.S === 'COMPLETED') return 'duplicate';
    // Our own put landed but its answer was lost, and the SDK's retry hit our own item.
    if (old?.status?.S === 'IN_PROGRESS' && old.owner?.S === owner) return 'claimed';
    return 'in_flight';
  }

  /** `record` mode: a strongly consistent read; writes nothing. */
  private async check(key: string, owner: string, signal?: AbortSignal): Promise<ClaimResult> {
    const item = await this.readItem(key, signal);
    const nowMs = this.now();
    if (!item || Number(item.expiresAt?.N) < Math.floor(nowMs / 1000)) return 'claimed';
    if (item.status?.S === 'COMPLETED') return 'duplicate';
    // A claim written by `claim` mode (e.g. while the mode is being switched) still blocks.
    if (item.status?.S === 'IN_PROGRESS' && Number(item.lockUntil?.N) >= nowMs && item.owner?.S !== owner) return 'in_flight';
    return this.unfinishedOfAnother(item, owner, Math.floor(nowMs / 1000)) ? 'took_over' : 'claimed';
  }

  /** The item at `key`, read strongly consistent (undefined: none). */
  private async readItem(key: string, signal?: AbortSignal): Promise<Record<string, AttributeValue> | undefined> {
    const got = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
      { abortSignal: signal },
    );
    return got.Item;
  }

  /**
   * A conditional PutItem of `item`: `replaced`, the item it replaced (`ALL_OLD`; no read units), or
   * `refused`, the ConditionalCheckFailedException of a condition that did not hold.
   */
  private async putIf(
    item: Record<string, AttributeValue>,
    condition: Pick<
      PutItemCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues' | 'ReturnValuesOnConditionCheckFailure'
    >,
    signal?: AbortSignal,
  ): Promise<{ replaced: Record<string, AttributeValue> | undefined } | { refused: ConditionalCheckFailedException }> {
    try {
      const put = await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: item, ReturnValues: 'ALL_OLD', ...condition }),
        { abortSignal: signal },
      );
      return { replaced: put.Attributes };
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      return { refused: err as ConditionalCheckFailedException };
    }
  }

  /**
   * Whether `item` (as read, or as a claim replaced it) is an unexpired `IN_PROGRESS` claim of another
   * owner: its writer died or lost an answer, maybe after PutEvents landed (ports.ts `took_over`).
   */
  private unfinishedOfAnother(item: Record<string, AttributeValue> | undefined, owner: string, nowS: number): boolean {
    return item?.status?.S === 'IN_PROGRESS' && item.owner?.S !== owner && Number(item.expiresAt?.N) >= nowS;
  }

  async complete(key: string, owner: string, signal?: AbortSignal): Promise<CompleteResult> {
    if (this.mode === 'record') return this.record(key, owner, signal);
    this.tookOver.delete(claimId(key, owner));
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET #s = :c, expiresAt = :exp REMOVE lockUntil',
        ConditionExpression: '#o = :o',
        ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
        ExpressionAttributeValues: {
          ':c': { S: 'COMPLETED' },
          ':o': { S: owner },
          ':exp': { N: String(Math.floor(this.now() / 1000) + this.options.windowSeconds) },
        },
      }),
      { abortSignal: signal },
    );
    return 'completed';
  }

  /** `record` mode: one conditional PutItem; `raced` if another request recorded the key first. */
  private async record(key: string, owner: string, signal?: AbortSignal): Promise<CompleteResult> {
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    const put = await this.putIf(
      this.item(key, 'COMPLETED', owner, nowS),
      {
        // Fails only on an unexpired COMPLETED item written by someone else; not on our own put
        // retried by the SDK after a lost answer.
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowS OR #s <> :c OR #o = :o',
        ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
        ExpressionAttributeValues: { ':nowS': { N: String(nowS) }, ':c': { S: 'COMPLETED' }, ':o': { S: owner } },
      },
      signal,
    );
    if ('refused' in put) return 'raced';
    // A live claim of another writer (the backfill's, taken after our read) it replaced: both may publish.
    const old = put.replaced;
    return this.unfinishedOfAnother(old, owner, nowS) && Number(old?.lockUntil?.N) >= nowMs ? 'raced' : 'completed';
  }

  /** Per marker: epoch ms until which items of that earlier key scheme may still be live (read once, then cached). */
  private readonly legacyUntil = new Map<string, Promise<number>>();
  /** The body-key scheme's `legacyUntil` once read (`legacyWindowOpen`). */
  private legacyUntilMs: number | undefined;

  /** `DedupStore.legacyWindowOpen`: false once the body-key scheme's window is known to be over. */
  legacyWindowOpen(): boolean {
    return this.legacyUntilMs === undefined || this.now() <= this.legacyUntilMs;
  }

  /**
   * `seenLegacy`: a consistent GetItem of an earlier-scheme key, but only within one dedup window of
   * the moment the scheme after it was first used in this table. That moment is one item per scheme,
   * `marker` (`dedup-meta#event-keys-since`: content keys replaced body keys;
   * `dedup-meta#source-keys-since`: keys became per source), written once, conditionally, and read
   * once per execution environment, so the extra read per delivery stops by itself when the last
   * earlier-scheme item has expired.
   */
  private async readLegacy(key: string, signal?: AbortSignal, marker: string = LEGACY_MARKER): Promise<boolean> {
    let until = this.legacyUntil.get(marker);
    if (until === undefined) {
      until = this.schemeSince(marker, signal).then(
        (since) => {
          const until = since + this.options.windowSeconds * 1000;
          if (marker === LEGACY_MARKER) this.legacyUntilMs = until;
          return until;
        },
        (err: unknown) => {
          this.legacyUntil.delete(marker); // try again next time
          throw err;
        },
      );
      this.legacyUntil.set(marker, until);
    }
    if (this.now() > (await until)) return false;
    const item = await this.readItem(key, signal);
    // Under the source-keys marker, a record with `src` is the default source's own (written after the
    // upgrade, under the key that is also the earlier scheme's): another source's event, not this one.
    if (marker === SOURCE_KEYS_MARKER && item?.src !== undefined) return false;
    return item?.status?.S === 'COMPLETED' && Number(item.expiresAt?.N) >= Math.floor(this.now() / 1000);
  }

  private async schemeSince(marker: string, signal?: AbortSignal): Promise<number> {
    const nowMs = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { pk: { S: marker }, since: { N: String(nowMs) } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      return nowMs;
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item?.since?.N;
      return old === undefined ? nowMs : Number(old);
    }
  }

  /**
   * Claims of this instance that took over another owner's unfinished claim (`claimKey`), until
   * completed or released: releasing one ends its lock and keeps it, `IN_PROGRESS`, instead of
   * deleting it, since the writer before may have published and the next reader must know it.
   */
  private readonly tookOver = new Set<string>();

  async release(key: string, owner: string): Promise<void> {
    if (this.mode === 'record') return; // nothing was written before the publish
    if (this.tookOver.delete(claimId(key, owner))) return this.endLock(key, owner);
    // Nothing to release, or DynamoDB is down: the claim then expires at lockUntil.
    await this.ownUnfinished(new DeleteItemCommand(this.ownUnfinishedInput(key, owner)));
  }

  /** Ends the lock of `owner`'s claim, keeping it `IN_PROGRESS` (unfinished). Never throws. */
  private async endLock(key: string, owner: string): Promise<void> {
    // Not ours any more, or DynamoDB is down: the claim then stays locked until lockUntil.
    const input = this.ownUnfinishedInput(key, owner);
    await this.ownUnfinished(
      new UpdateItemCommand({
        ...input,
        UpdateExpression: 'SET lockUntil = :zero',
        ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':zero': { N: '0' } },
      }),
    );
  }

  /** A write to `owner`'s claim while it is unfinished (`IN_PROGRESS`): the key and the condition. */
  private ownUnfinishedInput(key: string, owner: string) {
    const values: Record<string, AttributeValue> = { ':ip': { S: 'IN_PROGRESS' }, ':o': { S: owner } };
    return {
      TableName: this.tableName,
      Key: { pk: { S: key } },
      ConditionExpression: '#s = :ip AND #o = :o',
      ExpressionAttributeNames: { '#s': 'status', '#o': 'owner' },
      ExpressionAttributeValues: values,
    };
  }

  /** A best-effort write to one's own unfinished claim, within 1.5 s; never throws (the caller says what follows). */
  private async ownUnfinished(command: DeleteItemCommand | UpdateItemCommand): Promise<void> {
    try {
      await this.client.send(command as UpdateItemCommand, { abortSignal: AbortSignal.timeout(1_500) });
    } catch {
      // Not ours (any more), or DynamoDB is down.
    }
  }
}

/** A claim of `owner` on `key`, as `DynamoDedupStore.tookOver` remembers it. */
const claimId = (key: string, owner: string) => `${owner}\u0000${key}`;

/** The item recording when content-derived event keys were first used in a dedup table (no TTL). */
export const LEGACY_MARKER = DEDUP_META_KEYS[0];

/** The item recording when per-source keys (core/event-key.ts) were first used in a dedup table (no TTL). */
export const SOURCE_KEYS_MARKER = DEDUP_META_KEYS[1];

/** A failed ConditionExpression (by class, or by name when the error crossed a module boundary). */
function isConditionalFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err as Error)?.name === 'ConditionalCheckFailedException';
}
