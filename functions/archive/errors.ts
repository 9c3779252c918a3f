/** Why a file could not be archived, and what to do about it. */

/**
 * - `later`: not ready yet or a transient fault (404/425/429/5xx, network, truncated): retry with backoff.
 * - `refresh`: the link was refused (401/403/410, typically expired): renew it through the provider's API, then retry.
 * - `never`: retrying cannot help (not https, host or address refused, too large, wrong content type).
 */
export type ArchiveRetry = 'later' | 'refresh' | 'never';

export class ArchiveError extends Error {
  constructor(
    /** A short machine-readable reason, e.g. `not_ready`, `host_not_allowed`, `too_large`. */
    readonly reason: string,
    message: string,
    readonly retry: ArchiveRetry,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ArchiveError';
  }
}

/** The error of an HTTP status answered for a media link. */
export function statusError(status: number, host: string): ArchiveError {
  if (status === 401 || status === 403 || status === 410)
    return new ArchiveError('link_refused', `${host} refused the link (HTTP ${status}); it has probably expired`, 'refresh');
  if (status === 404 || status === 425 || status === 409)
    return new ArchiveError('not_ready', `${host} answered HTTP ${status}: the file is not there yet`, 'later');
  if (status === 408 || status === 429 || status >= 500)
    return new ArchiveError('transient', `${host} answered HTTP ${status}`, 'later');
  return new ArchiveError(`http_${status}`, `${host} answered HTTP ${status}`, 'never');
}

/** Any error as an ArchiveError: unknown errors (network, S3) are transient. */
export function asArchiveError(err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new ArchiveError('transient', message, 'later', { cause: err });
}
