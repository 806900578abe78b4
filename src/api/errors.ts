import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { TemporalFailure } from '@temporalio/common';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
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
  // ioredis: a lost connection; on a Redis Cluster also a node that is down (its slots answer
  // CLUSTERDOWN, are being moved, or no node answers at all).
  if (e.name === 'ClusterAllFailedError') return true;
  if (
    typeof e.message === 'string' &&
    (/Connection is closed|max retries per request|Stream isn't writeable|Failed to refresh slots cache|None of startup nodes is available/i.test(
      e.message,
    ) ||
      /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK)\b/.test(e.message))
  )
    return true;
  return false;
}

/** The parts of Express 5's router (`router` 2.x) that {@link allowedMethods} reads. */
interface RouterLayer {
  match(path: string): { path: string } | false;
  route?: { _methods(includeAll?: boolean): string[] };
  handle: { stack?: RouterLayer[] };
}

/**
 * The methods the registered routes answer for `path`, found by walking the routers as
 * Express would (mounted routers see the path without their prefix).
 */
function allowedMethods(stack: readonly RouterLayer[], path: string, into: Set<string>): Set<string> {
  for (const layer of stack) {
    const match = layer.match(path);
    if (!match) continue;
    if (layer.route) {
      for (const method of layer.route._methods()) into.add(method);
    } else if (layer.handle.stack) {
      const rest = path.slice(match.path.length);
      allowedMethods(layer.handle.stack, rest.startsWith('/') ? rest : `/${rest}`, into);
    }
  }
  return into;
}

/**
 * After every route: a known path called with a method it does not have is `405
 * METHOD_NOT_ALLOWED` with an `Allow` header, derived from the app's own routers so it never
 * drifts from them. Unknown paths fall through to {@link notFoundHandler}.
 */
export function methodNotAllowedHandler(app: Express): RequestHandler {
  return (req, res, next) => {
    const router = (app as unknown as { router: { stack: RouterLayer[] } }).router;
    const allowed = allowedMethods(router.stack, req.path, new Set());
    if (allowed.size === 0 || allowed.has(req.method)) {
      next();
      return;
    }
    res.setHeader('Allow', [...allowed].sort().join(', '));
    next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`));
  };
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
