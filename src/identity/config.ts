import { createSigner } from 'fast-jwt';
import type { Config } from '../config';
import { IdentityVerifier } from './verifier';

type AuthConfig = Pick<Config, 'authJwtSecret' | 'authJwksUrl' | 'authIssuer' | 'authAudience'>;

/** The process's verifier for the configured keys (built once, by the composition root). */
export function identityVerifierFor(config: AuthConfig, extra: { jwksCooldownMs?: number } = {}): IdentityVerifier {
  return new IdentityVerifier({
    secret: config.authJwtSecret,
    jwksUrl: config.authJwksUrl,
    issuer: config.authIssuer,
    audience: config.authAudience,
    ...extra,
  });
}

/** How long a development identity token lasts. */
export const DEV_IDENTITY_LIFETIME_SECONDS = 24 * 3600;

/**
 * Mints an HS256 identity token for `userId`, as a login service would (with the configured
 * issuer and audience, so it passes verification): for development, the tests and the README.
 */
export function signDevIdentity(
  config: Pick<Config, 'authIssuer' | 'authAudience'> & { authJwtSecret: string },
  userId: string,
  lifetimeSeconds = DEV_IDENTITY_LIFETIME_SECONDS,
): Promise<string> {
  const sign = createSigner({
    key: config.authJwtSecret,
    algorithm: 'HS256',
    expiresIn: lifetimeSeconds * 1000,
    ...(config.authIssuer ? { iss: config.authIssuer } : {}),
    ...(config.authAudience ? { aud: config.authAudience } : {}),
  });
  return Promise.resolve(sign({ sub: userId }));
}
