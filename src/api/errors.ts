import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { TemporalFailure } from '@temporalio/common';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { businessFailure } from '../shared/errors';
import type { ErrorType } from '../shared/errors';

/** HTTP status of each business error (API.md). */
const errorStatus: Record<ErrorType, number> = {
  SEAT_UNAVAILABLE: 409,
  RESERVATION_NOT_FOUND: 404,
  RESERVATION_NOT_HELD: 409,
  INSUFFICIENT_BALANCE: 402,
  IDEMPOTENCY_KEY_REUSED: 409,
  CONCERT_NOT_FOUND: 404,
  DATE_NOT_FOUND: 404,
  BALANCE_LIMIT_EXCEEDED: 400,
  HOLD_LIMIT_REACHED: 409,
  SALES_CLOSED: 409,
  TOKEN_NOT_ACTIVE: 403,
  // Only if the entry's previous run outlived the retry: the client may simply try again.
  ENTRY_SUPERSEDED: 503,
};

/** An error with the HTTP status and error code API.md gives it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'VALIDATION_FAILED', message);
export const unauthorized = (message = 'A valid queue token is required'): HttpError =>
  new HttpError(401, 'UNAUTHORIZED', message);

/** The HTTP error a failure means, if it is one of ours (an HttpError or a business error anywhere in its causes). */
export function domainError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  const failure = businessFailure(err);
  return failure ? new HttpError(errorStatus[failure.type], failure.type, failure.message) : null;
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'EPIPE']);

/** Whether a failure means a dependency (MySQL, Redis, Temporal) is unreachable rather than a bug. */
export function isUnavailable(err: unknown): boolean {
  // A workflow call that ran into its deadline: no worker answered in time.
  if (err instanceof ServiceError || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (
    typeof e.message === 'string' &&
    /Connection is closed|max retries per request|Stream isn't writeable/i.test(e.message)
  )
    return true;
  return false;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`));
};

/** Maps every error to API.md's envelope `{"error": {"code", "message"}}`. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const body = err as { type?: unknown; status?: unknown };
    let http: HttpError | null = domainError(err);
    if (!http && body.type === 'entity.parse.failed') http = badRequest('Request body is not valid JSON');
    if (!http && body.type === 'entity.too.large')
      http = new HttpError(413, 'PAYLOAD_TOO_LARGE', 'Request body exceeds 16 KiB');
    if (!http && (err instanceof WorkflowUpdateFailedError || err instanceof TemporalFailure)) {
      log.error({ err, reqId: req.id }, 'workflow call failed');
      http = new HttpError(500, 'INTERNAL', 'The request could not be completed');
    }
    if (!http && err instanceof WorkflowNotFoundError) http = new HttpError(404, 'NOT_FOUND', 'Not found');
    if (!http && isUnavailable(err)) {
      log.warn({ err, reqId: req.id }, 'dependency unavailable');
      http = new HttpError(503, 'SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly');
    }
    if (!http) {
      log.error({ err, reqId: req.id }, 'unhandled error');
      http = new HttpError(500, 'INTERNAL', 'Internal server error');
    }
    if (http.status === 503) res.setHeader('Retry-After', '1');
    res.status(http.status).json({ error: { code: http.code, message: http.message } });
  };
}
