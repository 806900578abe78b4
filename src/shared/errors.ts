import { ApplicationFailure } from '@temporalio/common';

/**
 * Business errors, one factory each, used alike by activities, workflows and the API (which
 * maps the type to an HTTP status in src/api/errors.ts). Each is a non-retryable
 * ApplicationFailure, so Temporal hands it through activity → workflow → update unchanged.
 */
export const ErrorType = {
  SEAT_UNAVAILABLE: 'SEAT_UNAVAILABLE',
  RESERVATION_NOT_FOUND: 'RESERVATION_NOT_FOUND',
  RESERVATION_NOT_HELD: 'RESERVATION_NOT_HELD',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  CONCERT_NOT_FOUND: 'CONCERT_NOT_FOUND',
  DATE_NOT_FOUND: 'DATE_NOT_FOUND',
  BALANCE_LIMIT_EXCEEDED: 'BALANCE_LIMIT_EXCEEDED',
  HOLD_LIMIT_REACHED: 'HOLD_LIMIT_REACHED',
  SALES_CLOSED: 'SALES_CLOSED',
  TOKEN_NOT_ACTIVE: 'TOKEN_NOT_ACTIVE',
  /** Internal: an update reached the run of an older queue entry of the same user. */
  ENTRY_SUPERSEDED: 'ENTRY_SUPERSEDED',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

export const isErrorType = (value: unknown): value is ErrorType =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(ErrorType, value);

/** A business error: an ApplicationFailure whose type is one of ours. */
export type BusinessFailure = ApplicationFailure & { type: ErrorType };

/**
 * The business error a failure carries, found anywhere in its cause chain (update failure →
 * activity failure → application failure), or null.
 */
export function businessFailure(err: unknown): BusinessFailure | null {
  let current: unknown = err;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof ApplicationFailure && isErrorType(current.type)) return current as BusinessFailure;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

export const errorTypeOf = (err: unknown): ErrorType | null => businessFailure(err)?.type ?? null;

const failure = (type: ErrorType, message: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(message, type);

export const seatUnavailable = (date: string, seatNo: number): ApplicationFailure =>
  failure(ErrorType.SEAT_UNAVAILABLE, `Seat ${seatNo} on ${date} is not available`);

export const reservationNotFound = (): ApplicationFailure =>
  failure(ErrorType.RESERVATION_NOT_FOUND, 'No such reservation');

export const reservationNotHeld = (): ApplicationFailure =>
  failure(ErrorType.RESERVATION_NOT_HELD, 'The reservation is no longer held (expired, cancelled or paid)');

export const insufficientBalance = (balance: number, amount: number): ApplicationFailure =>
  failure(
    ErrorType.INSUFFICIENT_BALANCE,
    `The balance ${balance} is below the amount ${amount}; the seats stay held until the hold lapses`,
  );

export const idempotencyKeyReused = (key: string): ApplicationFailure =>
  failure(ErrorType.IDEMPOTENCY_KEY_REUSED, `Idempotency-Key ${key} was used with a different body`);

export const concertNotFound = (concertId: string): ApplicationFailure =>
  failure(ErrorType.CONCERT_NOT_FOUND, `Concert ${concertId} does not exist`);

export const dateNotFound = (concertId: string, date: string): ApplicationFailure =>
  failure(ErrorType.DATE_NOT_FOUND, `Concert ${concertId} has no performance on ${date}`);

export const balanceLimitExceeded = (amount: number, maxBalance: number): ApplicationFailure =>
  failure(ErrorType.BALANCE_LIMIT_EXCEEDED, `Charging ${amount} would take the balance over ${maxBalance}`);

export const holdLimitReached = (max: number): ApplicationFailure =>
  failure(ErrorType.HOLD_LIMIT_REACHED, `A user holds at most ${max} seats at once`);

export const salesClosed = (date: string): ApplicationFailure =>
  failure(ErrorType.SALES_CLOSED, `The performance on ${date} has passed; its sales are closed`);

export const tokenNotActive = (status: string): ApplicationFailure =>
  failure(ErrorType.TOKEN_NOT_ACTIVE, `The queue token is ${status}; this needs ACTIVE`);

export const entrySuperseded = (): ApplicationFailure =>
  failure(ErrorType.ENTRY_SUPERSEDED, 'This queue entry has been replaced by a newer one');
