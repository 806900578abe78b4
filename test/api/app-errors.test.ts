import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { testConfig } from '../../scripts/lib/config';

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
});
