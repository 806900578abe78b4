import { jwtVerify, SignJWT } from 'jose';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import { unauthorized } from './errors';

export interface TokenClaims {
  userId: string;
  tokenId: string;
}

/** Signs and verifies queue tokens: HS256 JWTs with `sub` = userId and `jti` = token id. */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  sign({ userId, tokenId }: TokenClaims): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setJti(tokenId)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(this.key);
  }

  /** The token's claims, or `401` for anything forged, tampered, expired or malformed. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string') throw new Error('claims missing');
      return { userId: payload.sub, tokenId: payload.jti };
    } catch {
      throw unauthorized('The queue token is invalid or expired');
    }
  }
}
