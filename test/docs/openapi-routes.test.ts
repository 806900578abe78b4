import express, { Router } from 'express';
import request from 'supertest';
import { testConfig } from '../../scripts/lib/config';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { loadSpec, validateResponse } from '../helpers/openapi';
import type { ServedRoute } from '../helpers/routes';
import { listServedRoutes } from '../helpers/routes';

/** swagger-ui and the raw document are the docs themselves, not operations of the API. */
const isDocsRoute = (route: ServedRoute): boolean => route.path === '/docs' || route.path.startsWith('/docs/');

const key = (route: ServedRoute): string => `${route.method} ${route.path}`;

/** Routes served but not in the spec, and spec operations not served. */
function compareRoutes(
  served: ServedRoute[],
  documented: ServedRoute[],
): { undocumented: string[]; unserved: string[] } {
  const servedKeys = new Set(served.filter((route) => !isDocsRoute(route)).map(key));
  const documentedKeys = new Set(documented.map(key));
  return {
    undocumented: [...servedKeys].filter((k) => !documentedKeys.has(k)).sort(),
    unserved: [...documentedKeys].filter((k) => !servedKeys.has(k)).sort(),
  };
}

const spec = loadSpec();
const documented: ServedRoute[] = spec.operations().map(({ method, path }) => ({ method, path }));

/** A concrete URL for a spec path, its parameters filled from the spec's parameter examples. */
function exampleUrl(pointerToOperation: string, template: string): string {
  const operation = spec.resolve(pointerToOperation).value;
  const parameters = (Array.isArray(operation.parameters) ? operation.parameters : []).map(
    (_, i) => spec.resolve(`${pointerToOperation}/parameters/${i}`).value,
  );
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const param = parameters.find((p) => p.in === 'path' && p.name === name);
    const example = param?.example;
    if (typeof example !== 'string' && typeof example !== 'number') {
      throw new Error(`${template}: path parameter ${name} has no example`);
    }
    return encodeURIComponent(String(example));
  });
}

describe('routes of the Express app and paths of docs/openapi.yaml', () => {
  let stack: InProcessStack;
  beforeAll(async () => {
    stack = await startInProcessStack(testConfig(), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when the app routes are listed, then the listing includes the routes the app registers itself', () => {
    const served = listServedRoutes(stack.app).map(key);
    expect(served).toEqual(
      expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /docs/openapi.yaml']),
    );
  });

  it('when the app routes are listed, then every route (except /docs) is an operation of docs/openapi.yaml', () => {
    expect(compareRoutes(listServedRoutes(stack.app), documented).undocumented).toEqual([]);
  });

  it('when the spec operations are listed, then the app registers a route for every one', () => {
    expect(compareRoutes(listServedRoutes(stack.app), documented).unserved).toEqual([]);
  });

  it('when each spec operation is requested without credentials, then a route answers it and the answer is documented', async () => {
    const unrouted: string[] = [];
    const mismatches: string[] = [];
    for (const op of spec.operations()) {
      const url = exampleUrl(op.pointer, op.path);
      // No token, no admin key and an empty body: every operation answers without creating anything.
      let req = request(stack.app)[op.method.toLowerCase() as 'get'](url);
      if (['POST', 'PUT', 'PATCH'].includes(op.method)) req = req.send({});
      const res = await req;
      const body = res.body as { error?: { code?: string; message?: string } };
      if (res.status === 404 && body.error?.code === 'NOT_FOUND' && body.error.message?.startsWith('No route')) {
        unrouted.push(`${op.method} ${op.path}`);
        continue;
      }
      try {
        validateResponse(res);
      } catch (err) {
        mismatches.push(`${op.method} ${url}: ${(err as Error).message}`);
      }
    }
    expect(unrouted).toEqual([]);
    expect(mismatches).toEqual([]);
  });
});

describe('compareRoutes', () => {
  it('when a route is added to the app without a spec entry, then it is reported as undocumented', () => {
    const app = express();
    const users = Router();
    users.get('/:userId/balance', (_req, res) => {
      res.end();
    });
    users.delete('/:userId/balance', (_req, res) => {
      res.end();
    });
    app.use('/v1/users', users);
    app.get('/docs/openapi.yaml', (_req, res) => {
      res.end();
    });
    const served = listServedRoutes(app);
    expect(served.map(key)).toEqual([
      'GET /v1/users/{userId}/balance',
      'DELETE /v1/users/{userId}/balance',
      'GET /docs/openapi.yaml',
    ]);
    const { undocumented, unserved } = compareRoutes(served, documented);
    expect(undocumented).toEqual(['DELETE /v1/users/{userId}/balance']);
    expect(unserved).toContain('POST /v1/users/{userId}/balance/charge');
    expect(unserved).not.toContain('GET /v1/users/{userId}/balance');
  });
});
