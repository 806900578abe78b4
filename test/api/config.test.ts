import { ConfigError, DEV_AUTH_JWT_SECRET, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      temporalAddress: 'localhost:7233',
      temporalNamespace: 'default',
      seatHoldSeconds: 300,
      activeTokenTtlSeconds: 600,
      queueMaxActive: 100,
      queueAdmitPerSecond: 10,
      maxChargeAmount: 10_000_000,
      maxBalance: 1_000_000_000,
      logLevel: 'info',
      maxHoldsPerUser: 4,
      tokenRatePerMinute: 10,
      authJwtSecret: DEV_AUTH_JWT_SECRET,
      authJwksUrl: null,
      authIssuer: null,
      authAudience: null,
      production: false,
    });
  });

  it('when only AUTH_JWKS_URL is set, then no HS256 secret is trusted', () => {
    const config = loadConfig({ AUTH_JWKS_URL: 'https://login.example/jwks.json' });
    expect(config.authJwtSecret).toBeNull();
    expect(config.authJwksUrl).toBe('https://login.example/jwks.json');
  });

  it('when a variable is an empty string, then its default applies', () => {
    expect(loadConfig({ SEAT_HOLD_SECONDS: '' }).seatHoldSeconds).toBe(300);
  });

  it.each([
    ['PORT', 'eighty'],
    ['SEAT_HOLD_SECONDS', '0'],
    ['QUEUE_MAX_ACTIVE', '-1'],
    ['DATABASE_URL', 'not a url'],
    ['TOKEN_SECRET', 'short'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_BALANCE', '1.5'],
    ['AUTH_JWT_SECRET', 'x'.repeat(31)],
    ['AUTH_JWKS_URL', 'not a url'],
    ['AUTH_JWKS_URL', 'ftp://login.example/jwks.json'],
    ['MAX_HOLDS_PER_USER', '0'],
    ['TOKEN_RATE_PER_MINUTE', '0'],
    ['TOKEN_RATE_PER_MINUTE', 'ten'],
  ])('when %s=%s, then start-up fails naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
  });

  describe('NODE_ENV=production', () => {
    const good = {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 's'.repeat(40),
      TOKEN_SECRET: 't'.repeat(40),
      ADMIN_API_KEY: 'a'.repeat(40),
    };

    it('when every secret is set, then it starts, without the development routes', () => {
      expect(loadConfig(good)).toMatchObject({ production: true, authJwtSecret: 's'.repeat(40) });
    });

    it('when identity comes from a JWKS URL only, then it starts', () => {
      const { AUTH_JWT_SECRET: _unset, ...rest } = good;
      expect(loadConfig({ ...rest, AUTH_JWKS_URL: 'https://login.example/jwks.json' }).authJwtSecret).toBeNull();
    });

    it.each([
      ['AUTH_JWT_SECRET', { AUTH_JWT_SECRET: DEV_AUTH_JWT_SECRET }],
      ['AUTH_JWT_SECRET', { AUTH_JWT_SECRET: '' }],
      ['TOKEN_SECRET', { TOKEN_SECRET: undefined }],
      ['TOKEN_SECRET', { TOKEN_SECRET: 'dev-only-token-secret-change-me' }],
      ['ADMIN_API_KEY', { ADMIN_API_KEY: undefined }],
      ['ADMIN_API_KEY', { ADMIN_API_KEY: 'dev-admin-key' }],
    ])('when %s is a development default (%j), then start-up fails naming it', (name, change) => {
      const env = { ...good, ...change };
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name}: .*NODE_ENV=production`));
    });

    it('when neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set, then the message says to set one', () => {
      const { AUTH_JWT_SECRET: _unset, ...rest } = good;
      expect(() => loadConfig(rest)).toThrow(/AUTH_JWT_SECRET: set AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    });

    it('when NODE_ENV is not production, then the development defaults are fine', () => {
      expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
    });
  });
});
