export { IdentityError, IdentityKeysUnavailableError, IdentityVerifier } from './verifier';
export type { Identity, IdentityVerifierOptions } from './verifier';
export { identityVerifierFor, signDevIdentity } from './config';
