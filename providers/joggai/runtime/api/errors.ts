/** JoggAI API errors by business code (envelope `{code, msg, data}`; code 0 = success). */
export const JOGGAI_CODES = {
  ok: 0,
  notFound: 10104,
  invalidApiKey: 10105,
  insufficientCredit: 18020,
  noPermission: 18025,
  parameterError: 40000,
  systemError: 50000,
} as const;

export class JoggAiApiError extends Error {
  /** True when trying again later may succeed (system errors, 5xx, 429, no answer or no envelope). */
  readonly retryable: boolean;
  constructor(
    /** JoggAI business code (or -1 when the answer was not an envelope). */
    readonly code: number,
    message: string,
    /** HTTP status of the answer (0 when there was none). */
    readonly httpStatus: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'JoggAiApiError';
    this.retryable =
      code === JOGGAI_CODES.systemError || code === -1 || httpStatus === 0 || httpStatus >= 500 || httpStatus === 429;
  }
}

export class JoggAiNotFoundError extends JoggAiApiError {
  constructor(message: string, httpStatus: number) {
    super(JOGGAI_CODES.notFound, message, httpStatus);
    this.name = 'JoggAiNotFoundError';
  }
}

/** 10105 invalid API key, or 18025 no permission. */
export class JoggAiAuthError extends JoggAiApiError {
  constructor(code: number, message: string, httpStatus: number) {
    super(code, message, httpStatus);
    this.name = 'JoggAiAuthError';
  }
}

export function joggAiError(code: number, msg: string, httpStatus: number): JoggAiApiError {
  if (code === JOGGAI_CODES.notFound) return new JoggAiNotFoundError(msg, httpStatus);
  if (code === JOGGAI_CODES.invalidApiKey || code === JOGGAI_CODES.noPermission)
    return new JoggAiAuthError(code, msg, httpStatus);
  return new JoggAiApiError(code, msg, httpStatus);
}
