import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** `401` unless the request carries `X-Admin-Key: <ADMIN_API_KEY>` (compared in constant time). */
export function requireAdmin(adminApiKey: string): RequestHandler {
  const expected = digest(adminApiKey);
  return (req, _res, next) => {
    const given = req.headers['x-admin-key'];
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new HttpError(401, 'UNAUTHORIZED', 'A valid X-Admin-Key header is required');
    }
    next();
  };
}
