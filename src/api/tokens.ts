import { jwtVerify, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import { unauthorized } from './errors';

export interface TokenClaims {
  userId: string;
  tokenId: string;
}

/** A verified token is remembered at most this long, and never past its `exp`. */
const MAX_CACHE_MS = 10 * 60_000;

/**
 * Signs and verifies queue tokens: HS256 JWTs with `sub` = userId and `jti` = token id.
 *
 * Every gated request verifies its token, so the key is imported once and a verified token is
 * remembered by its exact string until its `exp`: a repeat costs a map lookup, not an HMAC.
 * (Whether the token is still the user's live one is the gate's Redis check, never cached.)
 */
export class TokenService {
  /** Imported once (jose would import raw bytes again on every call). */
  private readonly key: Promise<CryptoKey>;
  private readonly verified = new LRUCache<string, TokenClaims & { expiresAt: number }>({
    max: 100_000,
    ttl: MAX_CACHE_MS,
  });

  constructor(secret: string) {
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
  }

  async sign({ userId, tokenId }: TokenClaims): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setJti(tokenId)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(await this.key);
  }

  /** The token's claims, or `401` for anything forged, tampered, expired or malformed. */
  async verify(token: string): Promise<TokenClaims> {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return { userId: known.userId, tokenId: known.tokenId };
    let claims: TokenClaims & { expiresAt: number };
    try {
      const { payload } = await jwtVerify(token, await this.key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string') throw new Error('claims missing');
      claims = { userId: payload.sub, tokenId: payload.jti, expiresAt: Number(payload.exp) * 1000 };
    } catch {
      throw unauthorized('The queue token is invalid or expired');
    }
    const ttl = Math.min(claims.expiresAt - Date.now(), MAX_CACHE_MS);
    if (ttl > 0) this.verified.set(token, claims, { ttl });
    return { userId: claims.userId, tokenId: claims.tokenId };
  }
}
