/**
 * What a failed PutEvents says about the event: stored for sure not, or unknown. EventBridge has no
 * idempotency token, so an attempt whose answer was lost (a request timeout after the bytes left, a
 * reset connection, a 5xx) may have stored the event: retrying it can put a second copy on the bus.
 *
 * - `putEventsNotStored(error)`: true only when EventBridge refused the request (throttling: an
 *   answer, so nothing was stored), the connection was never made (refused, unreachable, DNS,
 *   connect timeout), or every entry came back failed (the publisher's DependencyError).
 * - `StoredOnceRetryStrategy`: the SDK's standard retry strategy (same attempts, backoff and retry
 *   quota) that retries only those failures. A failure that may have stored the event ends the call:
 *   the ingress answers 5xx, counts `PossibleDuplicatePublished` (reason `publish_unconfirmed`), and
 *   the provider's retry publishes at most one more copy, instead of the SDK adding up to two.
 */
import { isThrottlingError, StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';
import { DependencyError } from '../../core/errors.js';

/** Node's codes for a connection that was never made (nothing was sent). */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type MaybeSdkError = Error & { code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown };

/** Whether a failed PutEvents certainly did not store the event (see the module comment). */
export function putEventsNotStored(error: unknown): boolean {
  if (error instanceof DependencyError && error.dependency === 'publish') return true; // entry-level failures
  if (!(error instanceof Error)) return false;
  const e = error as MaybeSdkError;
  if (e.$metadata?.httpStatusCode !== undefined && isThrottlingError(e as never)) return true;
  if (e.code !== undefined && NEVER_CONNECTED.has(e.code)) return true;
  // @smithy/node-http-handler's connect timeout (the request socket never connected).
  if (e.name === 'TimeoutError' && e.message.includes('did not establish a connection')) return true;
  return false;
}

/** The SDK's standard retry strategy, retrying only attempts that certainly did not store the event. */
export class StoredOnceRetryStrategy implements RetryStrategyV2 {
  private readonly standard: StandardRetryStrategy;
  constructor(maxAttempts: number) {
    this.standard = new StandardRetryStrategy(maxAttempts);
  }
  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.standard.acquireInitialRetryToken(scope);
  }
  refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    if (!putEventsNotStored(errorInfo.error))
      return Promise.reject(new Error('Not retried: the attempt may have stored the event'));
    return this.standard.refreshRetryTokenForRetry(token as StandardRetryToken, errorInfo);
  }
  recordSuccess(token: RetryToken): void {
    this.standard.recordSuccess(token as StandardRetryToken);
  }
}
