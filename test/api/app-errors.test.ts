import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { testConfig } from '../../scripts/lib/config';
import { isUnavailable } from '../../src/api/errors';

describe('request handling common to every route', () => {
  let stack: InProcessStack;
  beforeAll(async () => {
    stack = await startInProcessStack(testConfig(), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when a body is over 16 KiB, then 413 PAYLOAD_TOO_LARGE in the error envelope', async () => {
    const res = await request(stack.app)
      .post('/v1/queue/tokens')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ userId: 'x'.repeat(17 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
  });

  it('when the body is not JSON, then 400 VALIDATION_FAILED', async () => {
    const res = await request(stack.app)
      .post('/v1/queue/tokens')
      .set('Content-Type', 'application/json')
      .send('{"userId":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('when Redis or a Redis Cluster node is down, then the error counts as unavailable (503), not as a bug (500)', () => {
    const down = [
      Object.assign(new Error('CLUSTERDOWN The cluster is down'), { name: 'ReplyError' }),
      Object.assign(new Error('TRYAGAIN Multiple keys request during rehashing of slot'), { name: 'ReplyError' }),
      Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError' }),
      new Error('Connection is closed.'),
    ];
    expect(down.map(isUnavailable)).toEqual([true, true, true, true]);
    expect(isUnavailable(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(isUnavailable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
  });

  it('when the route does not exist, then 404 NOT_FOUND with a request id', async () => {
    const res = await request(stack.app).get('/v1/nothing-here').set('X-Request-Id', 'abc-123');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.headers['x-request-id']).toBe('abc-123');
  });

  it('when /metrics is scraped after a request, then it reports request latency by route', async () => {
    await request(stack.app).get('/healthz');
    const res = await request(stack.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
  });

  describe('405 METHOD_NOT_ALLOWED', () => {
    it.each([
      ['PUT', '/v1/queue/tokens', 'POST'],
      ['DELETE', '/v1/concerts', 'GET, HEAD'],
      ['POST', `/v1/reservations/${randomUUID()}`, 'DELETE, GET, HEAD'],
      ['GET', '/v1/reservations', 'POST'],
      ['PUT', '/v1/admin/queue', 'GET, HEAD, PATCH'],
      ['POST', '/v1/me', 'GET, HEAD'],
      ['DELETE', '/healthz', 'GET, HEAD'],
    ])('when %s %s is called, then 405 with Allow: %s', async (method, path, allow) => {
      const res = await request(stack.app)[method.toLowerCase() as 'put'](path);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.body).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: expect.any(String) } });
    });

    it('when an unknown path is called with any method, then 404 NOT_FOUND without Allow', async () => {
      for (const method of ['get', 'post', 'put'] as const) {
        const res = await request(stack.app)[method]('/v1/queue/nothing');
        expect([res.status, res.body.error?.code, res.headers.allow]).toEqual([404, 'NOT_FOUND', undefined]);
      }
    });
  });

  describe('X-Request-Id', () => {
    const requestId = async (value?: string) => {
      const req = request(stack.app).get('/healthz');
      if (value !== undefined) void req.set('X-Request-Id', value);
      return (await req).headers['x-request-id'] as string;
    };
    const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    it('when the client sends 1 to 128 visible ASCII characters, then they are echoed', async () => {
      expect(await requestId('a')).toBe('a');
      const edge = '!~'.repeat(64);
      expect(await requestId(edge)).toBe(edge);
    });

    it.each([
      ['none', undefined],
      ['129 characters', 'x'.repeat(129)],
      ['a space', 'abc def'],
      ['a tab', 'abc\tdef'],
      ['an empty value', ''],
    ])('when the client sends %s, then a fresh UUID is used', async (_what, value) => {
      const id = await requestId(value);
      expect(id).toMatch(uuidPattern);
    });

    it('when two requests send no id, then each gets its own', async () => {
      expect(await requestId()).not.toBe(await requestId());
    });
  });
});
