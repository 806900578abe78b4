import pino from 'pino';
import type { Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/** One JSON logger per process; `component` tells api, worker and tooling lines apart. */
export function createLogger(config: Pick<Config, 'logLevel'>, component: string): Logger {
  return pino({ level: config.logLevel, base: { component, pid: process.pid } });
}
