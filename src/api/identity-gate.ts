import type { Logger } from 'pino';
import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { Config } from '../config';
import { IdentityKeysUnavailableError } from '../identity';
import type { Identity, IdentityVerifier } from '../identity';
import type { RedisClient } from '../redis/client';
import type { RedisKeys } from '../redis/keys';
import { HttpError } from './errors';
import { parse, uuid } from './validation';

const unauthenticated = (message: string): HttpError => new HttpError(401, 'UNAUTHENTICATED', message);

/**
 * Express middleware: `Authorization: Bearer <identity token>` must be a valid identity
 * (`401 UNAUTHENTICATED` otherwise); puts it on `res.locals.identity`.
 */
export function requireIdentity(identity: IdentityVerifier, log: Logger): RequestHandler {
  return async (req, res, next) => {
    const match = req.headers.authorization ? /^Bearer ([^\s]+)$/.exec(req.headers.authorization) : null;
    if (!match?.[1]) throw unauthenticated('An identity token is required (Authorization: Bearer <identity token>)');
    try {
      res.locals.identity = await identity.verify(match[1]);
    } catch (err) {
      if (err instanceof IdentityKeysUnavailableError) {
        log.warn({ err, reqId: req.id }, 'identity keys unavailable');
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'The identity keys cannot be fetched; retry shortly');
      }
      throw unauthenticated('The identity token is invalid or expired');
    }
    next();
  };
}

/** The {@link Identity} that {@link requireIdentity} attached to this response. */
export const identityOf = (res: Response): Identity => res.locals.identity as Identity;

/**
 * Express middleware after {@link requireIdentity}: at most `TOKEN_RATE_PER_MINUTE` token
 * requests per user per minute, counted in Redis so that every api process shares the count
 * (one key per user, so it also works on a Redis Cluster); `429 RATE_LIMITED` with
 * `Retry-After` beyond. Only authenticated calls count.
 */
export function tokenRateLimit(deps: { redis: RedisClient; keys: RedisKeys; config: Config }): RequestHandler {
  const limiter = new RateLimiterRedis({
    storeClient: deps.redis,
    // rate-limiter-flexible appends `:<userId>`: one key per user, fine on a Cluster.
    keyPrefix: deps.keys.tokenRate.replace(/:$/, ''),
    points: deps.config.tokenRatePerMinute,
    duration: 60,
  });
  return async (_req, res, next) => {
    try {
      await limiter.consume(identityOf(res).userId);
    } catch (err) {
      // A RateLimiterRes is a refusal; anything else is Redis failing (503 via the error handler).
      if (!(err instanceof RateLimiterRes)) throw err;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.msBeforeNext / 1000))));
      throw new HttpError(429, 'RATE_LIMITED', 'Too many token requests; retry after the Retry-After delay');
    }
    next();
  };
}

const tokenRequestBody = z.object({ userId: uuid.optional() });

/**
 * The user of `POST /v1/queue/tokens`: the identity's `sub`. A body naming another user is
 * `403 FORBIDDEN` (and nothing is written).
 */
export function tokenRequestUser(req: Request, res: Response): string {
  const { userId } = parse(tokenRequestBody, req.body ?? {});
  const identity = identityOf(res);
  if (userId !== undefined && userId.toLowerCase() !== identity.userId) {
    throw new HttpError(403, 'FORBIDDEN', 'userId must be the user of the identity token');
  }
  return identity.userId;
}
