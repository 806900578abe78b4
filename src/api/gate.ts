import type { RequestHandler, Response } from 'express';
import { effectiveStatus } from '../queue/service';
import type { RedisClient } from '../redis/client';
import type { RedisKeys } from '../redis/keys';
import type { QueueStatus } from '../shared/types';
import { HttpError, unauthorized } from './errors';
import type { TokenService } from './tokens';

/** Who the request is for, set by {@link requireToken}. */
export interface Auth {
  userId: string;
  tokenId: string;
  status: QueueStatus;
  /** Epoch ms, for ACTIVE entries. */
  activeUntil: number | null;
  token: string;
}

export interface GateDeps {
  redis: RedisClient;
  keys: RedisKeys;
  tokens: TokenService;
}

/**
 * Reads and checks the bearer token: one signature check (cached per token) and one Redis
 * HMGET. A token whose entry is gone or was replaced by a newer one is unknown (`401`).
 */
export async function authenticate(deps: GateDeps, header: string | undefined): Promise<Auth> {
  const match = header ? /^Bearer ([^\s]+)$/.exec(header) : null;
  if (!match?.[1]) throw unauthorized();
  const token = match[1];
  const { userId, tokenId } = await deps.tokens.verify(token);
  const [storedTokenId, status, activeUntil] = await deps.redis.hmget(
    deps.keys.entry(userId),
    'tokenId',
    'status',
    'activeUntil',
  );
  if (!storedTokenId || storedTokenId !== tokenId || !status) {
    throw unauthorized('The queue token is not known (its place in line may have been lost): request a new one');
  }
  const until = activeUntil ? Number(activeUntil) : null;
  return { userId, tokenId, token, activeUntil: until, status: effectiveStatus(status as QueueStatus, until) };
}

export interface GateOptions {
  /** Token states that may pass. */
  allow: readonly QueueStatus[];
  /** Route parameter that must equal the token's user (balance routes). */
  userParam?: string;
}

/** Express middleware: `401` without a valid token, `403` for another user or a token in the wrong state. */
export function requireToken(deps: GateDeps, options: GateOptions): RequestHandler {
  return async (req, res, next) => {
    const auth = await authenticate(deps, req.headers.authorization);
    if (options.userParam && req.params[options.userParam] !== auth.userId) {
      throw new HttpError(403, 'FORBIDDEN', 'The token belongs to another user');
    }
    if (!options.allow.includes(auth.status)) {
      throw new HttpError(
        403,
        'TOKEN_NOT_ACTIVE',
        `The queue token is ${auth.status}; this needs ${options.allow.join(' or ')}`,
      );
    }
    res.locals.auth = auth;
    next();
  };
}

/** The {@link Auth} that {@link requireToken} attached to this response. */
export const authOf = (res: Response): Auth => res.locals.auth as Auth;
