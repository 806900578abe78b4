/**
 * Error types shared by activities, workflows and the API. Activities throw
 * `ApplicationFailure.nonRetryable(message, ErrorType.X)`; the API maps the type to a status.
 */
export const ErrorType = {
  SEAT_UNAVAILABLE: 'SEAT_UNAVAILABLE',
  RESERVATION_NOT_FOUND: 'RESERVATION_NOT_FOUND',
  RESERVATION_NOT_HELD: 'RESERVATION_NOT_HELD',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  CONCERT_NOT_FOUND: 'CONCERT_NOT_FOUND',
  DATE_NOT_FOUND: 'DATE_NOT_FOUND',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  BALANCE_LIMIT_EXCEEDED: 'BALANCE_LIMIT_EXCEEDED',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** HTTP status for each domain error type (API.md). */
export const errorStatus: Record<ErrorType, number> = {
  SEAT_UNAVAILABLE: 409,
  RESERVATION_NOT_FOUND: 404,
  RESERVATION_NOT_HELD: 409,
  INSUFFICIENT_BALANCE: 402,
  IDEMPOTENCY_KEY_REUSED: 409,
  CONCERT_NOT_FOUND: 404,
  DATE_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  BALANCE_LIMIT_EXCEEDED: 400,
};

export const isErrorType = (value: unknown): value is ErrorType =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(errorStatus, value);
