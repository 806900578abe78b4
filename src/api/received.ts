import type { Request } from 'express';

const RECEIVED_AT = Symbol('receivedAt');
type Stamped = Request & { [RECEIVED_AT]?: number };

/**
 * Notes when the request's head reached this process. Called by the app's first middleware,
 * before the body is read and before the request waits for anything else, so a busy process
 * does not move a request's arrival later.
 */
export function stampReceipt(req: Request): void {
  (req as Stamped)[RECEIVED_AT] = Date.now();
}

/** When the request reached this process (epoch ms): the stamp, or now for an unstamped request. */
export function receivedAt(req: Request): number {
  return (req as Stamped)[RECEIVED_AT] ?? Date.now();
}
