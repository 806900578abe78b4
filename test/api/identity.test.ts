import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import type { CryptoKey, JWK } from 'jose';
import request from 'supertest';
import type * as FastJwt from 'fast-jwt';
import { createApp } from '../../src/api/app';
import { TokenService } from '../../src/api/tokens';
import { DEV_AUTH_JWT_SECRET } from '../../src/config';
import { IdentityError, identityVerifierFor, IdentityVerifier } from '../../src/identity';
import { createRedis } from '../../src/redis/client';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { identityFor } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';

const OTHER_SECRET = 'another-secret-of-at-least-thirty-two-chars';

/** HMAC checks made through fast-jwt verifiers (which use node:crypto, so crypto.subtle is not involved). */
let mockHmacChecks = 0;
jest.mock('fast-jwt', () => {
  const actual = jest.requireActual<typeof FastJwt>('fast-jwt');
  return {
    ...actual,
    createVerifier: (options: Parameters<typeof actual.createVerifier>[0]) => {
      const verify = actual.createVerifier(options) as (token: string) => unknown;
      return (token: string) => {
        mockHmacChecks += 1;
        return verify(token);
      };
    },
  };
});

/** An identity token as a login service would sign it; every claim can be bent for a test. */
async function sign(
  key: CryptoKey | Uint8Array,
  {
    alg = 'HS256',
    kid,
    sub = randomUUID(),
    expiresIn = 3600,
    iss,
    aud,
  }: { alg?: string; kid?: string; sub?: string | null; expiresIn?: number | null; iss?: string; aud?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).setIssuedAt();
  if (sub !== null) jwt.setSubject(sub);
  if (expiresIn !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn);
  if (iss) jwt.setIssuer(iss);
  if (aud) jwt.setAudience(aud);
  return jwt.sign(key);
}

const secretKey = (secret: string): Uint8Array => new TextEncoder().encode(secret);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWKS endpoint on 127.0.0.1 whose key set the test changes at will; counts the fetches. */
async function jwksServer(): Promise<{ url: string; keys: JWK[]; fetches: () => number; close(): Promise<void> }> {
  const state = { keys: [] as JWK[], fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(keys: JWK[]) {
      state.keys = keys;
    },
    fetches: () => state.fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A signing key pair and its public JWK with a `kid`. */
async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } as JWK };
}

describe('identity tokens (API.md Identity)', () => {
  let stack: InProcessStack;
  const enter = (app: Express, headers: Record<string, string>, body?: object) => {
    const req = request(app).post('/v1/queue/tokens').set(headers);
    return body ? req.send(body) : req;
  };
  const entryExists = async (userId: string) => (await stack.redis.exists(stack.deps.keys.entry(userId))) === 1;

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ tokenRatePerMinute: 3 }), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('HS256 (AUTH_JWT_SECRET)', () => {
    it('when the identity is valid, then the token request is for its sub and gets 201', async () => {
      const userId = randomUUID();
      const res = await enter(stack.app, await identityFor(userId));
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(userId);
      expect(await entryExists(userId)).toBe(true);
    });

    it('when the body names the same user, then 201 for that user', async () => {
      const userId = randomUUID();
      const res = await enter(stack.app, await identityFor(userId), { userId: userId.toUpperCase() });
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(userId);
    });

    it('when the body names another user, then 403 FORBIDDEN and no entry or user row for either', async () => {
      const userId = randomUUID();
      const other = randomUUID();
      const res = await enter(stack.app, await identityFor(userId), { userId: other });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
      expect(await entryExists(other)).toBe(false);
      expect(await entryExists(userId)).toBe(false);
      const rows = await stack.db.dataSource.query('SELECT id FROM users WHERE id IN (?, ?)', [userId, other]);
      expect(rows).toHaveLength(0);
    });

    const refused: Array<[string, () => Promise<Record<string, string>>]> = [
      ['there is no Authorization header', async () => ({})],
      ['the header is not a Bearer', async () => ({ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
      ['the bearer is not a JWT', async () => bearer('not-a-jwt')],
      [
        'the Bearer has two parts',
        async () => ({ Authorization: `Bearer ${await sign(secretKey(DEV_AUTH_JWT_SECRET))} x` }),
      ],
      ['it is signed with another key', async () => bearer(await sign(secretKey(OTHER_SECRET)))],
      ['it has expired', async () => bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET), { expiresIn: -10 }))],
      ['it has no exp', async () => bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET), { expiresIn: null }))],
      ['it has no sub', async () => bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET), { sub: null }))],
      ['its sub is not a UUID', async () => bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET), { sub: 'alice' }))],
      [
        'it is unsigned (alg: none)',
        async () => bearer(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: randomUUID(), exp: 2e9 })}.`),
      ],
      [
        'it is HS512 with the right secret (algorithm not allowed)',
        async () => bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET), { alg: 'HS512' })),
      ],
      [
        'it is a queue token (signed with TOKEN_SECRET)',
        async () =>
          bearer(
            await new TokenService(stack.deps.config.tokenSecret).sign({ userId: randomUUID(), tokenId: randomUUID() }),
          ),
      ],
    ];
    it.each(refused)('when %s, then 401 UNAUTHENTICATED', async (_what, headers) => {
      const res = await enter(stack.app, await headers(), {});
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    });

    it('when AUTH_ISSUER and AUTH_AUDIENCE are set, then only tokens with both match', async () => {
      const config = { ...stack.deps.config, authIssuer: 'https://login.example', authAudience: 'concerts' };
      const app = createApp({ ...stack.deps, identity: identityVerifierFor(config), shutdownHooks: [] });
      const key = secretKey(DEV_AUTH_JWT_SECRET);
      const ok = await enter(app, bearer(await sign(key, { iss: 'https://login.example', aud: 'concerts' })));
      expect(ok.status).toBe(201);
      for (const claims of [
        { iss: 'https://evil.example', aud: 'concerts' },
        { iss: 'https://login.example', aud: 'other-app' },
        { aud: 'concerts' },
        { iss: 'https://login.example' },
      ]) {
        const res = await enter(app, bearer(await sign(key, claims)));
        expect({ claims, status: res.status, code: res.body.error?.code }).toEqual({
          claims,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    });
  });

  describe('JWKS (AUTH_JWKS_URL)', () => {
    let jwks: Awaited<ReturnType<typeof jwksServer>>;
    let app: Express;
    let rsa: Awaited<ReturnType<typeof keyPair>>;
    let ec: Awaited<ReturnType<typeof keyPair>>;
    beforeAll(async () => {
      jwks = await jwksServer();
      [rsa, ec] = await Promise.all([keyPair('RS256', 'rsa-1'), keyPair('ES256', 'ec-1')]);
      jwks.keys = [rsa.jwk, ec.jwk];
      // JWKS only: the HS256 development secret is not trusted then. No cooldown, so that a
      // rotation right after a fetch is seen at once.
      const config = { ...stack.deps.config, authJwtSecret: null, authJwksUrl: jwks.url };
      app = createApp({
        ...stack.deps,
        identity: identityVerifierFor(config, { jwksCooldownMs: 0 }),
        shutdownHooks: [],
      });
    });
    afterAll(async () => {
      await jwks?.close();
    });

    it('when the identity is signed RS256 by a key of the set, then 201 for its sub', async () => {
      const userId = randomUUID();
      const res = await enter(app, bearer(await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1', sub: userId })));
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(userId);
    });

    it('when the identity is signed ES256 by a key of the set, then 201 for its sub', async () => {
      const userId = randomUUID();
      const res = await enter(app, bearer(await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1', sub: userId })));
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(userId);
    });

    it('when the provider rotates to a key with a new kid, then the set is fetched again and its tokens pass', async () => {
      expect((await enter(app, bearer(await sign(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' })))).status).toBe(201);
      const fetchesBefore = jwks.fetches();
      const next = await keyPair('RS256', 'rsa-2');
      jwks.keys = [next.jwk, ec.jwk];
      const res = await enter(app, bearer(await sign(next.privateKey, { alg: 'RS256', kid: 'rsa-2' })));
      expect(res.status).toBe(201);
      expect(jwks.fetches()).toBe(fetchesBefore + 1);
    });

    it('when the token is signed by a key not in the set (same kid), then 401', async () => {
      const stranger = await keyPair('ES256', 'ec-1');
      const res = await enter(app, bearer(await sign(stranger.privateKey, { alg: 'ES256', kid: 'ec-1' })));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('when the kid is unknown even after a fresh fetch, then 401', async () => {
      const stranger = await keyPair('RS256', 'nobody');
      const res = await enter(app, bearer(await sign(stranger.privateKey, { alg: 'RS256', kid: 'nobody' })));
      expect(res.status).toBe(401);
    });

    it('when only JWKS is configured, then HS256 tokens (even with the development secret) and alg none get 401', async () => {
      const hs = await enter(app, bearer(await sign(secretKey(DEV_AUTH_JWT_SECRET))));
      expect(hs.status).toBe(401);
      const none = `${b64url({ alg: 'none', kid: 'rsa-2' })}.${b64url({ sub: randomUUID(), exp: 2e9 })}.`;
      expect((await enter(app, bearer(none))).status).toBe(401);
    });

    it('when the identity has expired, then 401', async () => {
      const res = await enter(app, bearer(await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1', expiresIn: -5 })));
      expect(res.status).toBe(401);
    });

    it('when the JWKS endpoint cannot be reached, then 503 SERVICE_UNAVAILABLE (the token may be fine)', async () => {
      const down = await jwksServer();
      await down.close();
      const config = { ...stack.deps.config, authJwtSecret: null, authJwksUrl: down.url };
      const unreachable = createApp({
        ...stack.deps,
        identity: identityVerifierFor(config),
        log: pino({ level: 'silent' }), // the 503 is expected; keep the output quiet
        shutdownHooks: [],
      });
      const res = await enter(unreachable, bearer(await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1' })));
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
    });
  });

  describe('verification cost', () => {
    let subtleVerify: jest.SpyInstance;
    beforeEach(() => {
      subtleVerify = jest.spyOn(crypto.subtle, 'verify');
      mockHmacChecks = 0;
    });
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('when the same identity token comes again, then no signature is checked again (and WebCrypto is not used)', async () => {
      const verifier = new IdentityVerifier({ secret: OTHER_SECRET, jwksUrl: null, issuer: null, audience: null });
      const tokens = [await sign(secretKey(OTHER_SECRET)), await sign(secretKey(OTHER_SECRET))];
      subtleVerify.mockClear();
      await verifier.verify(tokens[0]!);
      await verifier.verify(tokens[1]!);
      expect(mockHmacChecks).toBe(2);
      await verifier.verify(tokens[0]!);
      await verifier.verify(tokens[1]!);
      expect(mockHmacChecks).toBe(2);
      expect(subtleVerify).not.toHaveBeenCalled();
    });

    it('when the same queue token comes again, then no signature is checked again (and WebCrypto is not used)', async () => {
      const service = new TokenService(OTHER_SECRET);
      const token = await service.sign({ userId: randomUUID(), tokenId: randomUUID() });
      subtleVerify.mockClear();
      const first = await service.verify(token);
      expect(await service.verify(token)).toEqual(first);
      expect(mockHmacChecks).toBe(1);
      expect(subtleVerify).not.toHaveBeenCalled();
    });

    it('when a remembered identity token reaches its exp, then it is refused', async () => {
      const verifier = new IdentityVerifier({ secret: OTHER_SECRET, jwksUrl: null, issuer: null, audience: null });
      const token = await sign(secretKey(OTHER_SECRET), { expiresIn: 60 });
      await verifier.verify(token);
      // Only the wall clock moves on (the cache's own ttl clock does not).
      jest.useFakeTimers({
        now: Date.now() + 61_000,
        doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'setInterval', 'performance', 'hrtime'],
      });
      try {
        await expect(verifier.verify(token)).rejects.toThrow(IdentityError);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('rate limit (TOKEN_RATE_PER_MINUTE=3)', () => {
    it('when a user asks a 4th time within a minute, then 429 RATE_LIMITED with Retry-After in seconds', async () => {
      const userId = randomUUID();
      const identity = await identityFor(userId);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await enter(stack.app, identity)).status);
      expect(statuses).toEqual([201, 200, 200]);
      const limited = await enter(stack.app, identity);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // Another user is not limited by this one.
      expect((await enter(stack.app, await identityFor(randomUUID()))).status).toBe(201);
    });

    it('when 12 concurrent requests of one user arrive at two api instances sharing Redis, then exactly 3 pass', async () => {
      const otherRedis = createRedis(stack.deps.config, 'test-api-2');
      try {
        const second = createApp({ ...stack.deps, redis: otherRedis, shutdownHooks: [] });
        const identity = await identityFor(randomUUID());
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) => enter(i % 2 ? second : stack.app, identity, {})),
        );
        const statuses = answers.map((a) => a.status);
        expect(statuses.filter((s) => s === 429)).toHaveLength(9);
        expect(statuses.filter((s) => s === 200 || s === 201)).toHaveLength(3);
      } finally {
        otherRedis.disconnect();
      }
    });

    it('when requests fail the identity check, then they do not count', async () => {
      const userId = randomUUID();
      const forged = bearer(await sign(secretKey(OTHER_SECRET), { sub: userId }));
      for (let i = 0; i < 5; i++) expect((await enter(stack.app, forged)).status).toBe(401);
      const identity = await identityFor(userId);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await enter(stack.app, identity)).status);
      expect(statuses).toEqual([201, 200, 200]);
    });
  });
});
