import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { ServiceError } from '@temporalio/client';
import express from 'express';
import { SignJWT } from 'jose';
import request from 'supertest';
import { createQueueActivities } from '../../src/activities/queue';
import { createApp } from '../../src/api/app';
import { errorHandler } from '../../src/api/errors';
import { authOf, requireToken } from '../../src/api/gate';
import { TokenService } from '../../src/api/tokens';
import { admissionTick, EntryStarter } from '../../src/queue/admission';
import { entryStateQuery, queueEntryWorkflowId, SA } from '../../src/shared';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { identityFor, tokenFor } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';
import { deleteKeys } from '../../scripts/lib/redis';
import { validateResponse } from '../helpers/openapi';
import { until } from '../../scripts/lib/wait';

describe('queue API', () => {
  let stack: InProcessStack;
  let activities: ReturnType<typeof createQueueActivities>;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    // The rate limit has its own tests (identity.test.ts); here one user may ask 20 times.
    stack = await startInProcessStack(
      testConfig({ queueMaxActive: 1000, queueAdmitPerSecond: 100_000, tokenRatePerMinute: 1000 }),
    );
    activities = createQueueActivities(stack.deps);
  });
  /** One admission tick, a second after the previous one (so the rate allows everyone in). */
  const tick = async () => {
    await stack.redis.hset(stack.deps.keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
    return activities.admitTick();
  };
  afterAll(async () => {
    await stack?.stop();
  });

  const enter = async (userId: string = randomUUID()) =>
    validateResponse(
      await request(stack.app)
        .post('/v1/queue/tokens')
        .set(await identityFor(userId))
        .send({ userId }),
    );
  const current = async (token: string) =>
    validateResponse(await request(stack.app).get('/v1/queue/tokens/current').set(bearer(token)));
  const entryWorkflow = (userId: string) => stack.temporal.workflow.getHandle(queueEntryWorkflowId(userId));

  describe('POST /v1/queue/tokens', () => {
    it('when an unknown user enters, then it gets 201 with a WAITING token and nothing but Redis is written; admission starts its entry workflow', async () => {
      const userId = randomUUID();
      const res = await enter(userId);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ userId, status: 'WAITING', activeUntil: null });
      expect(res.body.position).toBe((await stack.redis.zrank(stack.deps.keys.waiting, userId))! + 1);
      expect(await stack.deps.tokens.verify(res.body.token)).toMatchObject({ userId });
      // Arrival costs Redis only: no user row (balance reads 0 all the same) and no workflow.
      expect(await stack.db.dataSource.query('SELECT id FROM users WHERE id = ?', [userId])).toEqual([]);
      await expect(entryWorkflow(userId).describe()).rejects.toThrow(/not found/i);

      await tick();
      expect(await stack.redis.hget(stack.deps.keys.entry(userId), 'workflow')).toBe('1');
      // Its search attributes (set by its first workflow task) let operators find it.
      const described = await until(
        'the entry workflow carries its search attributes',
        () => entryWorkflow(userId).describe(),
        (d) => d.typedSearchAttributes.get(SA.userId) !== undefined,
      );
      expect(described.status.name).toBe('RUNNING');
      expect(described.typedSearchAttributes.get(SA.userId)).toBe(userId);
      expect(described.typedSearchAttributes.get(SA.queueStatus)).toBe('ACTIVE');
    });

    it('when the user enters again while waiting, then the same token comes back with 200', async () => {
      const first = await enter();
      const again = await enter(first.body.userId);
      expect(again.status).toBe(200);
      expect(again.body.token).toBe(first.body.token);
      expect(again.body.position).toBe(first.body.position);
    });

    it('when one user asks for a token 20 times at once, then exactly one entry is made and every answer carries its token', async () => {
      const userId = randomUUID();
      const answers = await Promise.all(Array.from({ length: 20 }, () => enter(userId)));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(19);
      expect(new Set(answers.map((a) => a.body.token as string)).size).toBe(1);
      expect(await stack.redis.zscore(stack.deps.keys.waiting, userId)).not.toBeNull();
      await expect(entryWorkflow(userId).describe()).rejects.toThrow(/not found/i);
    });

    it('when the entry workflow of an admission cannot be started, then the admission waits in the outbox and the next tick starts it', async () => {
      const entered = await enter();
      const { userId, token } = entered.body as { userId: string; token: string };
      const { tokenId } = await stack.deps.tokens.verify(token);
      const unreachable = {
        workflow: {
          signalWithStart: async () => {
            throw new ServiceError('temporal unreachable');
          },
        },
      } as unknown as Client;
      await stack.redis.hset(stack.deps.keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
      const failed = await admissionTick({
        queue: stack.deps.queue,
        settings: stack.deps.queueSettings,
        temporal: unreachable,
        taskQueue: stack.deps.config.taskQueue,
      });
      // Everyone waiting was admitted (this user among them); no start got through.
      expect(failed.admitted).toBeGreaterThanOrEqual(1);
      expect([failed.started, failed.failed]).toEqual([0, failed.admitted]);
      // Admitted all the same (the slot is the user's), but without a workflow yet.
      expect((await current(token)).body.status).toBe('ACTIVE');
      expect(await stack.redis.hget(stack.deps.keys.entry(userId), 'workflow')).toBeNull();
      expect((await stack.deps.queue.pendingAdmissions()).map((a) => a.userId)).toContain(userId);

      const next = await tick();
      expect(next.started).toBeGreaterThanOrEqual(1);
      expect(await stack.redis.hget(stack.deps.keys.entry(userId), 'workflow')).toBe('1');
      expect((await stack.deps.queue.pendingAdmissions()).map((a) => a.userId)).not.toContain(userId);
      const state = await entryWorkflow(userId).query(entryStateQuery);
      expect(state).toMatchObject({ tokenId, status: 'ACTIVE', activeUntil: (await current(token)).body.activeUntil });
    });

    it('when entry workflow starts outlast the tick, then the tick returns on time and the next tick does not start them twice', async () => {
      const entered = await enter();
      const { userId } = entered.body as { userId: string };
      let calls = 0;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const slow = {
        workflow: {
          signalWithStart: async (...args: Parameters<Client['workflow']['signalWithStart']>) => {
            calls += 1;
            await held;
            return stack.temporal.workflow.signalWithStart(...args);
          },
        },
      } as unknown as Client;
      const deps = {
        queue: stack.deps.queue,
        settings: stack.deps.queueSettings,
        temporal: slow,
        taskQueue: stack.deps.config.taskQueue,
      };
      const starter = new EntryStarter(deps);
      await stack.redis.hset(stack.deps.keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
      const first = await admissionTick({ ...deps, starter, startWaitMs: 50 });
      expect(first.admitted).toBeGreaterThanOrEqual(1);
      expect([first.started, first.failed, first.inFlight]).toEqual([0, 0, first.admitted]);
      const second = await admissionTick({ ...deps, starter, startWaitMs: 50 });
      expect(second.inFlight).toBe(first.admitted);
      expect(calls).toBe(first.admitted);

      release();
      // The released starts may finish before or during this tick: either way it starts nothing
      // again, waits for whatever is still under way, and leaves nothing failed or pending.
      const third = await admissionTick({ ...deps, starter });
      expect([third.failed, third.inFlight]).toEqual([0, 0]);
      expect(calls).toBe(first.admitted);
      expect(await stack.redis.hget(stack.deps.keys.entry(userId), 'workflow')).toBe('1');
      expect(await stack.deps.queue.pendingAdmissions()).toEqual([]);
    });

    it('when users enter one after another, then positions follow arrival order', async () => {
      const a = await enter();
      const b = await enter();
      expect(b.body.position).toBe(a.body.position + 1);
    });

    it('when the entry has ended, then the old token reads EXPIRED and a new entry gets 201 with a new token', async () => {
      const first = await enter();
      const { userId, token } = first.body;
      const tokenId = (await stack.deps.tokens.verify(token)).tokenId;
      await activities.finishEntry({ userId, tokenId, status: 'EXPIRED' });
      const ended = await current(token);
      expect(ended.status).toBe(200);
      expect(ended.body).toMatchObject({ status: 'EXPIRED', position: 0 });

      const next = await enter(userId);
      expect(next.status).toBe(201);
      expect(next.body.token).not.toBe(token);
      expect(next.body.status).toBe('WAITING');
      // The replaced token is unknown now.
      expect((await current(token)).status).toBe(401);
    });

    it("when the body is missing, then the user is the identity token's and gets 201", async () => {
      const userId = randomUUID();
      const res = validateResponse(
        await request(stack.app)
          .post('/v1/queue/tokens')
          .set(await identityFor(userId)),
      );
      expect(res.status).toBe(201);
      expect(res.body.userId).toBe(userId);
    });

    it('when the body is not JSON or has no valid userId, then 400 VALIDATION_FAILED names the field', async () => {
      const identity = await identityFor(randomUUID());
      const bad = validateResponse(
        await request(stack.app).post('/v1/queue/tokens').set(identity).send({ userId: 'nope' }),
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/^userId/);
      const malformed = validateResponse(
        await request(stack.app)
          .post('/v1/queue/tokens')
          .set(identity)
          .set('Content-Type', 'application/json')
          .send('{"userId":'),
      );
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('when Temporal is unreachable, then a token request still gets its 201: arrival makes no Temporal call', async () => {
      const unreachable = new Proxy({} as Client, {
        get: () => {
          throw new ServiceError('temporal unreachable');
        },
      });
      const app = createApp({ ...stack.deps, temporal: unreachable, shutdownHooks: [] });
      const userId = randomUUID();
      const res = validateResponse(
        await request(app)
          .post('/v1/queue/tokens')
          .set(await identityFor(userId))
          .send({ userId }),
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ userId, status: 'WAITING' });
      expect(await stack.redis.zscore(stack.deps.keys.waiting, userId)).not.toBeNull();
    });

    it('when a tick admits a user, then it starts the entry workflow ACTIVE with the same window, once', async () => {
      const entered = await enter();
      const { userId, token } = entered.body as { userId: string; token: string };
      const outcome = await tick();
      expect(outcome.started).toBeGreaterThanOrEqual(1);
      const view = await current(token);
      expect(view.body).toMatchObject({ status: 'ACTIVE', position: 0, estimatedWaitSeconds: 0 });
      const handle = entryWorkflow(userId);
      const state = await until(
        'the entry workflow is ACTIVE',
        () => handle.query(entryStateQuery),
        (s) => s.status === 'ACTIVE',
      );
      expect(state.activeUntil).toBe(view.body.activeUntil);
      const { runId } = await handle.describe();
      // Nothing left to start: a later tick neither starts nor restarts it.
      expect(await tick()).toMatchObject({ started: 0 });
      expect((await handle.describe()).runId).toBe(runId);
    });
  });

  describe('GET /v1/queue/tokens/current', () => {
    it('when the entry is admitted, then the body says ACTIVE with position 0 and activeUntil, and the workflow agrees', async () => {
      const entered = await enter();
      await tick();
      const res = await current(entered.body.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        token: entered.body.token,
        userId: entered.body.userId,
        status: 'ACTIVE',
        position: 0,
        estimatedWaitSeconds: 0,
      });
      const activeUntil = Date.parse(res.body.activeUntil);
      expect(activeUntil).toBeGreaterThan(Date.now() + (stack.deps.config.activeTokenTtlSeconds - 60) * 1000);
      const handle = stack.temporal.workflow.getHandle(queueEntryWorkflowId(entered.body.userId));
      await until(
        'the entry workflow is ACTIVE',
        () => handle.query(entryStateQuery),
        (s) => s.status === 'ACTIVE',
      );
      // Admitted: a repeat POST returns the same ACTIVE token with 200.
      const again = await enter(entered.body.userId);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ token: entered.body.token, status: 'ACTIVE' });
    });

    it('when the entry was completed, then the token reads COMPLETED with position 0', async () => {
      const entered = await enter();
      await tick();
      expect(await activities.markEntryCompleted({ userId: entered.body.userId })).toBe(
        (await stack.deps.tokens.verify(entered.body.token)).tokenId,
      );
      const res = await current(entered.body.token);
      expect(res.body).toMatchObject({ status: 'COMPLETED', position: 0 });
    });

    it('when the token is missing, malformed, forged, tampered, expired or unknown, then 401', async () => {
      const entered = await enter();
      const { token, userId } = entered.body as { token: string; userId: string };
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { jti: string };
      const tampered = [
        header,
        Buffer.from(JSON.stringify({ ...claims, sub: randomUUID() })).toString('base64url'),
        signature,
      ].join('.');
      const forged = await new TokenService('another-secret-of-enough-length').sign({ userId, tokenId: claims.jti });
      const expired = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setJti(claims.jti)
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(stack.deps.config.tokenSecret));
      const unknown = await stack.deps.tokens.sign({ userId: randomUUID(), tokenId: randomUUID() });
      const otherTokenId = await stack.deps.tokens.sign({ userId, tokenId: randomUUID() });

      const headers: Array<Record<string, string>> = [
        {},
        { Authorization: token },
        { Authorization: `Basic ${token}` },
        bearer('not-a-jwt'),
        bearer(tampered),
        bearer(forged),
        bearer(expired),
        bearer(unknown),
        bearer(otherTokenId),
      ];
      for (const h of headers) {
        const res = validateResponse(await request(stack.app).get('/v1/queue/tokens/current').set(h));
        expect({ h, status: res.status, code: res.body.error?.code }).toEqual({ h, status: 401, code: 'UNAUTHORIZED' });
      }
      const stream = validateResponse(
        await request(stack.app).get('/v1/queue/tokens/current/events').set(bearer(forged)),
      );
      expect(stream.status).toBe(401);
      expect((await current(token)).status).toBe(200);
    });
  });

  describe('the gate', () => {
    /** Two tiny routes behind the real gate: a funnel route and a balance-like route. */
    const gated = () => {
      const app = express();
      app.get('/funnel', requireToken(stack.deps, { allow: ['ACTIVE'] }), (_req, res) => {
        res.json({ userId: authOf(res).userId });
      });
      app.get(
        '/users/:userId/balance',
        requireToken(stack.deps, { allow: ['WAITING', 'ACTIVE'], userParam: 'userId' }),
        (_req, res) => {
          res.json({ userId: authOf(res).userId });
        },
      );
      app.use(errorHandler(stack.deps.log));
      return app;
    };
    const gateDeps = () => ({
      ...stack.deps,
      dataSource: stack.db.dataSource,
      tokenSecret: stack.deps.config.tokenSecret,
    });

    it('when a WAITING token is used on the funnel, then 403 TOKEN_NOT_ACTIVE; once admitted, it passes', async () => {
      const entered = await enter();
      const app = gated();
      const waiting = await request(app).get('/funnel').set(bearer(entered.body.token));
      expect(waiting.status).toBe(403);
      expect(waiting.body.error.code).toBe('TOKEN_NOT_ACTIVE');
      await tick();
      const active = await request(app).get('/funnel').set(bearer(entered.body.token));
      expect(active.status).toBe(200);
      expect(active.body.userId).toBe(entered.body.userId);
    });

    it('when an ACTIVE token has run out of time or was completed, then the funnel answers 403 TOKEN_NOT_ACTIVE', async () => {
      const app = gated();
      const lapsed = await tokenFor(gateDeps(), { status: 'ACTIVE', activeForMs: -1 });
      const completed = await tokenFor(gateDeps(), { status: 'COMPLETED' });
      for (const user of [lapsed, completed]) {
        const res = await request(app).get('/funnel').set(user.auth);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('TOKEN_NOT_ACTIVE');
      }
      const lapsedView = await current(lapsed.token);
      expect(lapsedView.body).toMatchObject({ status: 'EXPIRED', position: 0 });
    });

    it("when a token is used on another user's balance route, then 403 FORBIDDEN; on its own, 200", async () => {
      const app = gated();
      const entered = await enter();
      const other = await request(app).get(`/users/${randomUUID()}/balance`).set(bearer(entered.body.token));
      expect(other.status).toBe(403);
      expect(other.body.error.code).toBe('FORBIDDEN');
      const own = await request(app).get(`/users/${entered.body.userId}/balance`).set(bearer(entered.body.token));
      expect(own.status).toBe(200);
      const none = await request(app).get(`/users/${entered.body.userId}/balance`);
      expect(none.status).toBe(401);
    });
  });

  describe('admin queue', () => {
    const admin = () => ({ 'X-Admin-Key': stack.deps.config.adminApiKey });
    /** The stored settings row (MySQL), as the admission tick reads it. */
    const storedSettings = async () => {
      const [row] = await stack.db.dataSource.query(
        'SELECT max_active, admit_per_second, paused FROM queue_settings WHERE id = 1',
      );
      return row as { max_active: unknown; admit_per_second: unknown; paused: unknown };
    };

    it('when the admin key is missing or wrong, then 401', async () => {
      for (const h of [{}, { 'X-Admin-Key': 'wrong-key-123' }]) {
        const get = validateResponse(await request(stack.app).get('/v1/admin/queue').set(h));
        expect(get.status).toBe(401);
        const patch = validateResponse(await request(stack.app).patch('/v1/admin/queue').set(h).send({ paused: true }));
        expect(patch.status).toBe(401);
      }
      expect(Number((await storedSettings()).paused)).toBe(0);
    });

    it('when the body is empty or a field is invalid, then 400 VALIDATION_FAILED names the field and nothing changes', async () => {
      const before = await storedSettings();
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /^body/],
        [{}, /^body/],
        [{ maxActive: -1 }, /^maxActive/],
        [{ maxActive: 1.5 }, /^maxActive/],
        [{ maxActive: '10' }, /^maxActive/],
        [{ admitPerSecond: 100_001 }, /^admitPerSecond/],
        [{ paused: 'yes' }, /^paused/],
        [{ paused: true, speed: 3 }, /speed|body/],
      ];
      for (const [body, message] of cases) {
        const req = request(stack.app).patch('/v1/admin/queue').set(admin());
        const res = validateResponse(await (body === undefined ? req : req.send(body as object)));
        expect({ body, status: res.status, code: res.body.error?.code }).toEqual({
          body,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
        expect(res.body.error.message).toMatch(message);
      }
      expect(await storedSettings()).toEqual(before);
    });

    it('when settings are patched, then GET shows them, the next tick obeys them, and counts are live', async () => {
      const before = validateResponse(await request(stack.app).get('/v1/admin/queue').set(admin()));
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ maxActive: 1000, admitPerSecond: 100_000, paused: false });

      const paused = validateResponse(
        await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: true, maxActive: 7 }),
      );
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ maxActive: 7, admitPerSecond: 100_000, paused: true });
      const entered = await enter();
      const got = validateResponse(await request(stack.app).get('/v1/admin/queue').set(admin()));
      expect(got.body.waiting).toBe(await stack.redis.zcard(stack.deps.keys.waiting));
      expect(got.body.active).toBe(await stack.redis.zcard(stack.deps.keys.active));
      expect(got.body.paused).toBe(true);
      expect((await current(entered.body.token)).body.estimatedWaitSeconds).toBeNull();
      expect(await tick()).toMatchObject({ admitted: 0 });
      expect(await storedSettings()).toEqual({ max_active: 7, admit_per_second: null, paused: 1 });

      const resumed = validateResponse(
        await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: false, maxActive: 1000 }),
      );
      expect(resumed.body.paused).toBe(false);
      await tick();
      expect((await current(entered.body.token)).body.status).toBe('ACTIVE');
    });
    it('when the queue is paused and Redis loses the queue keys, then the pause holds: it is read from MySQL', async () => {
      expect(
        validateResponse(await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: true })).status,
      ).toBe(200);
      // A Redis wipe of the waiting line and its stats (where the paused flag is also mirrored).
      await deleteKeys(stack.redis, `${stack.deps.config.redisKeyPrefix}{q}:`);
      expect(await stack.redis.exists(stack.deps.keys.queueStats)).toBe(0);

      const got = validateResponse(await request(stack.app).get('/v1/admin/queue').set(admin()));
      expect(got.body).toMatchObject({ paused: true, waiting: 0, active: 0 });
      const entered = await enter();
      expect(entered.status).toBe(201);
      expect(await tick()).toMatchObject({ admitted: 0 });
      expect((await current(entered.body.token)).body).toMatchObject({ status: 'WAITING', position: 1 });

      await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: false }).expect(200);
      await tick();
      expect((await current(entered.body.token)).body.status).toBe('ACTIVE');
    });

    describe('GET /v1/admin/queue/users/{userId}', () => {
      const lookup = async (userId: string, headers: Record<string, string> = admin()) =>
        validateResponse(await request(stack.app).get(`/v1/admin/queue/users/${userId}`).set(headers));

      it('when the user waits, then their entry shows WAITING with its position and no workflow', async () => {
        await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: true }).expect(200);
        try {
          const first = await enter();
          const second = await enter();
          const res = await lookup(second.body.userId);
          expect(res.status).toBe(200);
          expect(res.body).toEqual({
            userId: second.body.userId,
            status: 'WAITING',
            position: first.body.position + 1,
            activeUntil: null,
            workflowId: null,
          });
        } finally {
          await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ paused: false }).expect(200);
        }
      });

      it('when the user is admitted, then their entry shows ACTIVE with activeUntil and the workflow the admission started', async () => {
        const entered = await enter();
        const { userId, token } = entered.body as { userId: string; token: string };
        await tick();
        const view = await current(token);
        const res = await lookup(userId);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          userId,
          status: 'ACTIVE',
          position: 0,
          activeUntil: view.body.activeUntil,
          workflowId: queueEntryWorkflowId(userId),
        });
        expect((await entryWorkflow(userId).describe()).status.name).toBe('RUNNING');
      });

      it('when the user has no live entry, then 404 ENTRY_NOT_FOUND; without the admin key, 401', async () => {
        const unknown = await lookup(randomUUID());
        expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ENTRY_NOT_FOUND']);
        const entered = await enter();
        const { tokenId } = await stack.deps.tokens.verify(entered.body.token);
        await activities.finishEntry({ userId: entered.body.userId, tokenId, status: 'EXPIRED' });
        const ended = await lookup(entered.body.userId);
        expect([ended.status, ended.body.error.code]).toEqual([404, 'ENTRY_NOT_FOUND']);
        expect((await lookup(entered.body.userId, {})).status).toBe(401);
        expect((await lookup('not-a-uuid')).status).toBe(400);
      });
    });
  });
});
