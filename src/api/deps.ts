import type { Logger } from 'pino';
import type { IdentityVerifier } from '../identity';
import type { SettlementNotices } from '../money/settlement-notices';
import type { Services } from '../services';
import type { TokenService } from './tokens';

/** Everything the HTTP layer uses; built once per process by src/server.ts (or by a test). */
export interface AppDeps extends Services {
  log: Logger;
  tokens: TokenService;
  /** Verifies identity tokens (token request, `/v1/me`). */
  identity: IdentityVerifier;
  /** Tells workflows what a checkout decided, after the payer has the answer. */
  settlementNotices: SettlementNotices;
  /** Run, in order, when the process shuts down (e.g. closing pub/sub subscribers). */
  shutdownHooks: Array<() => Promise<void>>;
}
