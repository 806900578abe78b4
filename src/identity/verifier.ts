import { createVerifier } from 'fast-jwt';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey, JWTVerifyOptions, JWTPayload } from 'jose';
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
 * It sits on the token-burst hot path. HS256 tokens are checked with node:crypto's synchronous
 * HMAC (fast-jwt): WebCrypto's promise-per-call machinery cost several times the HMAC itself.
 * JWKS tokens go through jose (key set fetching, caching and rotation). A verified token is
 * remembered by its exact string until its `exp`: a client repeating its request costs a map
 * lookup, not a signature check. Build one per process.
 */
export class IdentityVerifier {
  private readonly hmac: ((token: string) => JWTPayload) | null;
  private readonly jwks: JWTVerifyGetKey | null;
  private readonly jwksOptions: JWTVerifyOptions;
  private readonly verified: LRUCache<string, Identity>;

  constructor(opts: IdentityVerifierOptions) {
    if (!opts.secret && !opts.jwksUrl) throw new Error('IdentityVerifier needs a secret or a JWKS URL');
    // fast-jwt checks iss/aud only when present, so configured ones are also required.
    this.hmac = opts.secret
      ? createVerifier({
          key: opts.secret,
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp', ...(opts.issuer ? ['iss'] : []), ...(opts.audience ? ['aud'] : [])],
          ...(opts.issuer ? { allowedIss: opts.issuer } : {}),
          ...(opts.audience ? { allowedAud: opts.audience } : {}),
        })
      : null;
    this.jwks = opts.jwksUrl
      ? createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: opts.jwksCooldownMs ?? 30_000 })
      : null;
    // jose checks the header's alg against `algorithms` before asking for a key, so `none`
    // and any algorithm not configured here never reach the key set.
    this.jwksOptions = {
      algorithms: ['RS256', 'ES256'],
      requiredClaims: ['sub', 'exp'],
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
      ...(opts.audience ? { audience: opts.audience } : {}),
    };
    this.verified = new LRUCache({ max: opts.cacheSize ?? 50_000, ttl: MAX_CACHE_MS });
  }

  /** The verified payload; which key checks it follows the header's `alg`. */
  private async payloadOf(token: string): Promise<JWTPayload> {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256' && this.hmac) return this.hmac(token);
    if (alg !== 'HS256' && this.jwks) return (await jwtVerify(token, this.jwks, this.jwksOptions)).payload;
    throw new IdentityError('No key for this token');
  }

  /** The identity a token proves, or {@link IdentityError} (or {@link IdentityKeysUnavailableError}). */
  async verify(token: string): Promise<Identity> {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    let identity: Identity;
    try {
      const payload = await this.payloadOf(token);
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
