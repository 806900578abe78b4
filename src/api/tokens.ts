import { createSigner, createVerifier } from 'fast-jwt';
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
 * Signing sits on the token-burst hot path and verifying on every gated request, so both use
 * node:crypto's synchronous HMAC (fast-jwt) rather than WebCrypto, whose promise-per-call
 * machinery cost several times the HMAC itself (bench/README.md, CPU profiles). A verified token
 * is remembered by its exact string until its `exp`: a repeat costs a map lookup, not an HMAC.
 * (Whether the token is still the user's live one is the gate's Redis check, never cached.)
 */
export class TokenService {
  private readonly signer: (payload: Record<string, unknown>) => string;
  private readonly verifier: (token: string) => { sub?: unknown; jti?: unknown; exp?: unknown };
  private readonly verified = new LRUCache<string, TokenClaims & { expiresAt: number }>({
    max: 100_000,
    ttl: MAX_CACHE_MS,
  });

  constructor(secret: string) {
    this.signer = createSigner({ key: secret, algorithm: 'HS256', expiresIn: TOKEN_LIFETIME_SECONDS * 1000 });
    this.verifier = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp'] });
  }

  /** Async for callers that may sign elsewhere one day; the HMAC itself is synchronous. */
  sign({ userId, tokenId }: TokenClaims): Promise<string> {
    return Promise.resolve(this.signer({ sub: userId, jti: tokenId }));
  }

  /** The token's claims, or `401` for anything forged, tampered, expired or malformed. */
  async verify(token: string): Promise<TokenClaims> {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return { userId: known.userId, tokenId: known.tokenId };
    let claims: TokenClaims & { expiresAt: number };
    try {
      const payload = this.verifier(token);
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
