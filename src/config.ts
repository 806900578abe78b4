import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** Development defaults: fine on a laptop, refused by `loadConfig` under `NODE_ENV=production`. */
export const DEV_TOKEN_SECRET = 'dev-only-token-secret-change-me';
export const DEV_ADMIN_API_KEY = 'dev-admin-key';
/** HS256 secret for identity tokens when neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set (development). */
export const DEV_AUTH_JWT_SECRET = 'dev-only-identity-secret-change-me-0000';

/** `host:port,host:port` seeds of a Redis Cluster (empty: a single Redis at REDIS_URL). */
const nodeList = z
  .string()
  .regex(/^[^\s:,]+:\d{1,5}(,[^\s:,]+:\d{1,5})*$/, 'must be host:port[,host:port…]')
  .transform((value) => value.split(','));

/**
 * Every setting of the service: the configuration property, the environment variable that sets
 * it, and its validation and default. The single source of `loadConfig` and `toEnv`.
 */
const variables = {
  port: ['PORT', int(0, 65535).default(3000)],
  databaseUrl: ['DATABASE_URL', z.url().default('mysql://concert:concert@127.0.0.1:3306/concert')],
  redisUrl: ['REDIS_URL', z.url().default('redis://127.0.0.1:6379')],
  redisClusterNodes: ['REDIS_CLUSTER_NODES', nodeList.default([])],
  redisKeyPrefix: ['REDIS_KEY_PREFIX', z.string().default('cr:')],
  temporalAddress: ['TEMPORAL_ADDRESS', z.string().min(1).default('localhost:7233')],
  temporalNamespace: ['TEMPORAL_NAMESPACE', z.string().min(1).default('default')],
  taskQueue: ['TEMPORAL_TASK_QUEUE', z.string().min(1).default('concert-reservations')],
  seatHoldSeconds: ['SEAT_HOLD_SECONDS', int(1, 86_400).default(300)],
  activeTokenTtlSeconds: ['ACTIVE_TOKEN_TTL_SECONDS', int(1, 86_400).default(600)],
  queueMaxActive: ['QUEUE_MAX_ACTIVE', int(0, 1_000_000).default(100)],
  queueAdmitPerSecond: ['QUEUE_ADMIT_PER_SECOND', int(0, 100_000).default(10)],
  /** Least time between two position-only events of one queue stream (SSE). */
  queueStreamPositionEveryMs: ['QUEUE_STREAM_POSITION_EVERY_MS', int(0, 15_000).default(1_000)],
  maxHoldsPerUser: ['MAX_HOLDS_PER_USER', int(1, 50).default(4)],
  tokenRatePerMinute: ['TOKEN_RATE_PER_MINUTE', int(1, 1_000_000).default(10)],
  tokenSecret: ['TOKEN_SECRET', z.string().min(16).default(DEV_TOKEN_SECRET)],
  adminApiKey: ['ADMIN_API_KEY', z.string().min(8).default(DEV_ADMIN_API_KEY)],
  /**
   * HS256 secret of identity tokens; null when only JWKS keys are trusted. `loadConfig` puts
   * {@link DEV_AUTH_JWT_SECRET} here when neither it nor AUTH_JWKS_URL is set.
   */
  authJwtSecret: [
    'AUTH_JWT_SECRET',
    z.string().min(32, { error: 'must be at least 32 characters' }).nullable().default(null),
  ],
  /** Where RS256/ES256 identity keys are fetched from, or null. */
  authJwksUrl: [
    'AUTH_JWKS_URL',
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .nullable()
      .default(null),
  ],
  /** Required `iss` / `aud` of identity tokens, or null for any. */
  authIssuer: ['AUTH_ISSUER', z.string().min(1).nullable().default(null)],
  authAudience: ['AUTH_AUDIENCE', z.string().min(1).nullable().default(null)],
  maxChargeAmount: ['MAX_CHARGE_AMOUNT', int(1).default(10_000_000)],
  maxBalance: ['MAX_BALANCE', int(1).default(1_000_000_000)],
  logLevel: ['LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')],
  dbPoolSize: ['DB_POOL_SIZE', int(1, 1000).default(20)],
  /**
   * Longest an HTTP request waits on a workflow update (a hold, a cancel) before answering 503
   * with Retry-After; it bounds the wait when no worker runs. The integration tier on the
   * cluster profile raises it (test/helpers/cluster-profile.ts, docs/scaling.md); above the
   * server's own 30 s per call, a hold is asked again under the same update id.
   */
  workflowCallTimeoutMs: ['WORKFLOW_CALL_TIMEOUT_MS', int(100, 600_000).default(10_000)],
} as const;

type Variables = typeof variables;

/** Validated, typed configuration shared by the API, the worker, the tools and the tests. */
export type Config = { -readonly [K in keyof Variables]: z.output<Variables[K][1]> } & {
  /** `NODE_ENV=production`: no development defaults, no development routes. */
  production: boolean;
};

/** Thrown when an environment variable holds a value the service cannot run with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration from the environment. Empty strings count as unset, so that `FOO=`
 * in a compose file falls back to the default. Fails naming the first bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [property, [name, schema]] of Object.entries(variables)) {
    const raw = env[name];
    const parsed = (schema as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (!parsed.success) {
      throw new ConfigError(`Invalid configuration: ${name}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
    }
    config[property] = parsed.data;
  }
  const result = config as Config;
  result.authJwtSecret ??= result.authJwksUrl ? null : DEV_AUTH_JWT_SECRET;
  result.production = env.NODE_ENV === 'production';
  if (result.production) refuseDevelopmentSecrets(result, env);
  return result;
}

/** Under NODE_ENV=production, no secret may be a development default (the message names it). */
function refuseDevelopmentSecrets(config: Config, env: NodeJS.ProcessEnv): void {
  const refuse = (name: string, why: string): never => {
    throw new ConfigError(`Invalid configuration: ${name}: ${why} (NODE_ENV=production)`);
  };
  if (config.authJwtSecret === DEV_AUTH_JWT_SECRET)
    refuse(
      'AUTH_JWT_SECRET',
      env.AUTH_JWT_SECRET ? 'is the development default' : 'set AUTH_JWT_SECRET or AUTH_JWKS_URL for identity tokens',
    );
  if (config.tokenSecret === DEV_TOKEN_SECRET) refuse('TOKEN_SECRET', 'is the development default');
  if (config.adminApiKey === DEV_ADMIN_API_KEY) refuse('ADMIN_API_KEY', 'is the development default');
}

/** The environment variables that hand `config` to a child process (tests, tools). */
export function toEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [property, [name]] of Object.entries(variables)) {
    const value = config[property as keyof Config];
    // null (unset) becomes an empty string, which loadConfig reads as unset.
    env[name] = value === null ? '' : Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}
