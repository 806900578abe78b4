import type { Logger } from 'pino';
import type { Services } from '../services';
import type { TokenService } from './tokens';

/** Everything the HTTP layer uses; built once per process by src/server.ts (or by a test). */
export interface AppDeps extends Services {
  log: Logger;
  tokens: TokenService;
  /** Run, in order, when the process shuts down (e.g. closing pub/sub subscribers). */
  shutdownHooks: Array<() => Promise<void>>;
}
