/**
 * One error hierarchy for the relay. Every error carries the HTTP status and a stable, machine
 * readable `code`; messages never contain secrets, signatures or request bodies. The errors below
 * come in the order of their status.
 */
export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RelayError';
  }
  /** True for faults of the caller (4xx): reported as they are. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

export class BadRequestError extends RelayError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(400, code, message, options);
    this.name = 'BadRequestError';
  }
}

export class SignatureVerificationError extends RelayError {
  constructor(code: 'missing_signature' | 'invalid_signature', message: string, options?: ErrorOptions) {
    super(401, code, message, options);
    this.name = 'SignatureVerificationError';
  }
}

export class StaleDeliveryError extends RelayError {
  constructor(message: string, options?: ErrorOptions) {
    super(401, 'stale_timestamp', message, options);
    this.name = 'StaleDeliveryError';
  }
}

export class NotFoundError extends RelayError {
  constructor(message = 'No route for this path', options?: ErrorOptions) {
    super(404, 'not_found', message, options);
    this.name = 'NotFoundError';
  }
}

export class MethodNotAllowedError extends RelayError {
  constructor(
    method: string,
    readonly allow = 'POST, OPTIONS',
    options?: ErrorOptions,
  ) {
    super(405, 'method_not_allowed', `Method ${method.slice(0, 16)} is not allowed; use POST`, options);
    this.name = 'MethodNotAllowedError';
  }
}

export class InFlightError extends RelayError {
  constructor(options?: ErrorOptions) {
    super(409, 'in_flight', 'The same delivery is being processed; retry later', options);
    this.name = 'InFlightError';
  }
}

export class PayloadTooLargeError extends RelayError {
  constructor(limitBytes: number, options?: ErrorOptions) {
    super(413, 'payload_too_large', `Body exceeds the limit of ${limitBytes} bytes`, options);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * A signed delivery EventBridge can never accept (too large, too deep, a number it cannot carry
 * exactly, a permanent entry error). Never answered as such: the core parks the delivery with its
 * reason and answers 202 `parked`. `busCode` (EventBridge's own error code, if any) is for logs
 * and the parked record only, never for a response body.
 */
export class UnpublishableError extends RelayError {
  constructor(
    readonly reason: string,
    message: string,
    readonly busCode?: string,
    options?: ErrorOptions,
  ) {
    super(500, 'unpublishable', message, options);
    this.name = 'UnpublishableError';
  }
}

export class NotConfiguredError extends RelayError {
  constructor(provider: string, options?: ErrorOptions) {
    super(503, 'not_configured', `No signing secret is configured for ${provider} yet`, options);
    this.name = 'NotConfiguredError';
  }
}

/** A dependency (Secrets Manager, DynamoDB, EventBridge) failed or timed out: the provider should retry. */
export class DependencyError extends RelayError {
  constructor(
    readonly dependency: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(503, 'dependency_unavailable', message, options);
    this.name = 'DependencyError';
  }
}

export class DeadlineExceededError extends RelayError {
  constructor(budgetMs: number, options?: ErrorOptions) {
    super(503, 'deadline_exceeded', `Processing did not finish within ${budgetMs} ms`, options);
    this.name = 'DeadlineExceededError';
  }
}

/** Anything that is not a RelayError becomes a generic 500 (never its message: it may hold details). */
export function toRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  return new RelayError(500, 'internal_error', 'Internal error', { cause: err });
}
