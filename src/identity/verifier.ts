import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { CryptoKey, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

/** Who an identity token speaks for. */
export interface Identity {
  /** The token's `sub`, lower case. */
  userId: string;
  /** The token's `exp`, epoch ms. */
  expiresAt: number;
}

/** The identity token is missing, malformed, forged, expired or for another issuer/audience (`401`). */
export class IdentityError extends Error {
  override name = 'IdentityError';
}

/** The identity provider's key set could not be fetched: nothing is wrong with the token (`503`). */
export class IdentityKeysUnavailableError extends Error {
  override name = 'IdentityKeysUnavailableError';
}

export interface IdentityVerifierOptions {
  /** HS256 secret (at least 32 characters), or null to trust only the JWKS keys. */
  secret: string | null;
  /** URL of the provider's JWKS (RS256/ES256), or null. */
  jwksUrl: string | null;
  /** Required `iss`, or null. */
  issuer: string | null;
  /** Required `aud`, or null. */
  audience: string | null;
  /**
   * Least time between two JWKS fetches triggered by an unknown `kid` (jose's
   * `cooldownDuration`, default 30 s); tests of key rotation set it to 0.
   */
  jwksCooldownMs?: number;
  /** How many verified tokens are remembered (default 50,000). */
  cacheSize?: number;
}

/** A verified token is remembered at most this long, and never past its `exp`. */
const MAX_CACHE_MS = 10 * 60_000;

const uuid = z.uuid();

/**
 * The HS256 key as a WebCrypto key, imported once: jose would import raw bytes (and, on Node
 * 20, a secret KeyObject) again on every call.
 */
export function importHmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

/**
 * Whether jose failed while fetching the key set rather than on the token: a timeout, a
 * network error, a non-200 answer or a body that is no JWKS. Token faults (bad signature,
 * expired, unknown `kid`, wrong algorithm) are JOSEError subclasses of their own.
 */
function keysUnavailable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  if (err instanceof Error && err.constructor === errors.JOSEError) return true;
  // By name, not instanceof: fetch's errors may come from another realm (e.g. under jest).
  const e = err as { name?: unknown; message?: unknown };
  return e.name === 'TypeError' && e.message === 'fetch failed';
}

/**
 * Verifies identity tokens (API.md "Identity"): a JWT signed by the login service, HS256 with
 * a shared secret or RS256/ES256 with a key from its JWKS, with a UUID `sub` and an `exp`.
 *
 * It sits on the token-burst hot path, so the HS256 key is imported once and a verified token
 * is remembered (by its exact string, until its `exp`): a client repeating its request costs a
 * map lookup, not a signature check. Build one per process.
 */
export class IdentityVerifier {
  private readonly key: JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;
  private readonly verified: LRUCache<string, Identity>;

  constructor(opts: IdentityVerifierOptions) {
    if (!opts.secret && !opts.jwksUrl) throw new Error('IdentityVerifier needs a secret or a JWKS URL');
    const secret = opts.secret ? importHmacKey(opts.secret, 'verify') : null;
    const jwks: JWTVerifyGetKey | null = opts.jwksUrl
      ? createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: opts.jwksCooldownMs ?? 30_000 })
      : null;
    // jose checks the header's alg against `algorithms` before asking for a key, so `none`
    // and any algorithm not configured here never get this far.
    this.key = async (header, token) => {
      if (header.alg === 'HS256' && secret) return secret;
      if (jwks) return jwks(header, token);
      throw new IdentityError('No key for this token');
    };
    this.options = {
      algorithms: [...(secret ? ['HS256'] : []), ...(jwks ? ['RS256', 'ES256'] : [])],
      requiredClaims: ['sub', 'exp'],
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
      ...(opts.audience ? { audience: opts.audience } : {}),
    };
    this.verified = new LRUCache({ max: opts.cacheSize ?? 50_000, ttl: MAX_CACHE_MS });
  }

  /** The identity a token proves, or {@link IdentityError} (or {@link IdentityKeysUnavailableError}). */
  async verify(token: string): Promise<Identity> {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    let identity: Identity;
    try {
      const { payload } = await jwtVerify(token, this.key, this.options);
      if (!uuid.safeParse(payload.sub).success) throw new IdentityError('sub must be a UUID');
      identity = { userId: String(payload.sub).toLowerCase(), expiresAt: Number(payload.exp) * 1000 };
    } catch (err) {
      if (keysUnavailable(err)) throw new IdentityKeysUnavailableError(`Identity keys unavailable: ${String(err)}`);
      throw err instanceof IdentityError ? err : new IdentityError('The identity token is invalid or expired');
    }
    const ttl = Math.min(identity.expiresAt - Date.now(), MAX_CACHE_MS);
    if (ttl > 0) this.verified.set(token, identity, { ttl });
    return identity;
  }
}
