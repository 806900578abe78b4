import { ConfigError, loadConfig } from '../../src/config';

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
    });
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
  ])('when %s=%s, then start-up fails naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
  });
});
