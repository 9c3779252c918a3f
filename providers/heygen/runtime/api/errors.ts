/**
 * Errors raised by the HeyGen management API client.
 *
 * Every class sets `name`, takes `ErrorOptions` (so `cause` travels) and shares one base class.
 * Messages never contain the API key or a signing secret: server-provided text is scrubbed with
 * {@link redact} before it is put into a message.
 */

/** Base class of every error the HeyGen client raises. */
export class HeyGenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeyGenError';
  }
}

/** What the client knows about a failed HTTP exchange. */
export interface HeyGenApiErrorDetails {
  readonly status: number;
  /** Machine-readable code from the `{error:{code}}` envelope, or `http_<status>` when absent. */
  readonly code: string;
  readonly method: string;
  /** Path template-free request path, e.g. `/v3/webhooks/endpoints/ep_1`. */
  readonly path: string;
  /** `X-Request-Id` response header, when HeyGen sent one. */
  readonly requestId?: string | undefined;
  /** How many attempts were made before giving up. */
  readonly attempts: number;
}

/** HeyGen answered with a non-2xx status that the client does not (or no longer) retry. */
export class HeyGenApiError extends HeyGenError {
  readonly status: number;
  readonly code: string;
  readonly method: string;
  readonly path: string;
  readonly requestId: string | undefined;
  readonly attempts: number;

  constructor(message: string, details: HeyGenApiErrorDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeyGenApiError';
    this.status = details.status;
    this.code = details.code;
    this.method = details.method;
    this.path = details.path;
    this.requestId = details.requestId;
    this.attempts = details.attempts;
  }
}

/** 401/403: the API key is missing, wrong, expired or lacks permission. Never retried. */
export class HeyGenAuthError extends HeyGenApiError {
  constructor(message: string, details: HeyGenApiErrorDetails, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'HeyGenAuthError';
  }
}

/** 404: the endpoint (or route) does not exist. */
export class HeyGenNotFoundError extends HeyGenApiError {
  constructor(message: string, details: HeyGenApiErrorDetails, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'HeyGenNotFoundError';
  }
}

/** 409 `conflict` (e.g. an endpoint with this URL already exists). Not retried. */
export class HeyGenConflictError extends HeyGenApiError {
  constructor(message: string, details: HeyGenApiErrorDetails, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'HeyGenConflictError';
  }
}

/** 429 that could not be waited out inside the deadline or attempt budget. */
export class HeyGenRateLimitError extends HeyGenApiError {
  /** What HeyGen asked us to wait, in ms, when it said so. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: HeyGenApiErrorDetails & { retryAfterMs?: number | undefined }, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'HeyGenRateLimitError';
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The request never got an HTTP answer (connection refused/reset, DNS, per-attempt timeout). */
export class HeyGenNetworkError extends HeyGenError {
  readonly method: string;
  readonly path: string;
  readonly attempts: number;
  constructor(message: string, details: { method: string; path: string; attempts: number }, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeyGenNetworkError';
    this.method = details.method;
    this.path = details.path;
    this.attempts = details.attempts;
  }
}

/** The caller's deadline ran out, or its AbortSignal fired, before the call could finish. */
export class HeyGenDeadlineError extends HeyGenError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeyGenDeadlineError';
  }
}

/** HeyGen answered 2xx but the body is not what the spec promises. */
export class HeyGenResponseError extends HeyGenError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeyGenResponseError';
  }
}

/** Redacts secret-looking tokens (`whsec_...`) and every given sensitive value from a string. */
export function redact(text: string, sensitive: readonly string[] = []): string {
  let out = text.replace(/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_[REDACTED]');
  for (const value of sensitive) {
    if (value.length >= 4) out = out.split(value).join('[REDACTED]');
  }
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}
