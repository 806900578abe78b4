import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** Development defaults: fine on a laptop, refused by `loadConfig` under `NODE_ENV=production`. */
export const DEV_TOKEN_SECRET = 'dev-only-token-secret-change-me';
export const DEV_ADMIN_API_KEY = 'dev-admin-key';
/** HS256 secret for identity tokens when neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set (development). */
export const DEV_AUTH_JWT_SECRET = 'dev-only-identity-secret-change-me-0000';

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  DATABASE_URL: z.url().default('mysql://concert:concert@127.0.0.1:3306/concert'),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('cr:'),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('concert-reservations'),
  SEAT_HOLD_SECONDS: int(1, 86_400).default(300),
  ACTIVE_TOKEN_TTL_SECONDS: int(1, 86_400).default(600),
  QUEUE_MAX_ACTIVE: int(0, 1_000_000).default(100),
  QUEUE_ADMIT_PER_SECOND: int(0, 100_000).default(10),
  TOKEN_SECRET: z.string().min(16).default(DEV_TOKEN_SECRET),
  ADMIN_API_KEY: z.string().min(8).default(DEV_ADMIN_API_KEY),
  MAX_CHARGE_AMOUNT: int(1).default(10_000_000),
  MAX_BALANCE: int(1).default(1_000_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DB_POOL_SIZE: int(1, 1000).default(20),
  AUTH_JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  MAX_HOLDS_PER_USER: int(1, 1000).default(4),
  TOKEN_RATE_PER_MINUTE: int(1, 1_000_000).default(10),
  NODE_ENV: z.string().optional(),
});

/** Validated, typed configuration shared by the API, the worker and the tests. */
export interface Config {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  seatHoldSeconds: number;
  activeTokenTtlSeconds: number;
  queueMaxActive: number;
  queueAdmitPerSecond: number;
  tokenSecret: string;
  adminApiKey: string;
  maxChargeAmount: number;
  maxBalance: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  dbPoolSize: number;
  /**
   * HS256 secret for identity tokens; null when only JWKS keys are trusted. Defaults to
   * {@link DEV_AUTH_JWT_SECRET} when neither it nor `authJwksUrl` is set.
   */
  authJwtSecret: string | null;
  /** Where RS256/ES256 identity keys are fetched from, or null. */
  authJwksUrl: string | null;
  /** Required `iss` of identity tokens, or null for any. */
  authIssuer: string | null;
  /** Required `aud` of identity tokens, or null for any. */
  authAudience: string | null;
  maxHoldsPerUser: number;
  tokenRatePerMinute: number;
  /** `NODE_ENV=production`: no development defaults, no development routes. */
  production: boolean;
}

/** Thrown when an environment variable holds a value the service cannot run with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration from the environment. Empty strings count as unset, so that
 * `FOO=` in a compose file falls back to the default. Fails naming the first bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name}: ${issue?.message ?? 'invalid value'}`);
  }
  const e = parsed.data;
  const authJwtSecret = e.AUTH_JWT_SECRET ?? (e.AUTH_JWKS_URL ? null : DEV_AUTH_JWT_SECRET);
  const production = e.NODE_ENV === 'production';
  if (production) {
    const refuse = (name: string, why: string): never => {
      throw new ConfigError(`Invalid configuration: ${name}: ${why} (NODE_ENV=production)`);
    };
    if (authJwtSecret === DEV_AUTH_JWT_SECRET)
      refuse(
        'AUTH_JWT_SECRET',
        e.AUTH_JWT_SECRET ? 'is the development default' : 'set AUTH_JWT_SECRET or AUTH_JWKS_URL for identity tokens',
      );
    if (e.TOKEN_SECRET === DEV_TOKEN_SECRET) refuse('TOKEN_SECRET', 'is the development default');
    if (e.ADMIN_API_KEY === DEV_ADMIN_API_KEY) refuse('ADMIN_API_KEY', 'is the development default');
  }
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    seatHoldSeconds: e.SEAT_HOLD_SECONDS,
    activeTokenTtlSeconds: e.ACTIVE_TOKEN_TTL_SECONDS,
    queueMaxActive: e.QUEUE_MAX_ACTIVE,
    queueAdmitPerSecond: e.QUEUE_ADMIT_PER_SECOND,
    tokenSecret: e.TOKEN_SECRET,
    adminApiKey: e.ADMIN_API_KEY,
    maxChargeAmount: e.MAX_CHARGE_AMOUNT,
    maxBalance: e.MAX_BALANCE,
    logLevel: e.LOG_LEVEL,
    dbPoolSize: e.DB_POOL_SIZE,
    authJwtSecret,
    authJwksUrl: e.AUTH_JWKS_URL ?? null,
    authIssuer: e.AUTH_ISSUER ?? null,
    authAudience: e.AUTH_AUDIENCE ?? null,
    maxHoldsPerUser: e.MAX_HOLDS_PER_USER,
    tokenRatePerMinute: e.TOKEN_RATE_PER_MINUTE,
    production,
  };
}
