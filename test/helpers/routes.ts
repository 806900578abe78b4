import { METHODS } from 'node:http';
import type { Express } from 'express';

/** One operation an Express app serves, written the OpenAPI way. */
export interface ServedRoute {
  /** Upper case, e.g. `GET`. */
  method: string;
  /** OpenAPI path template, e.g. `/v1/users/{userId}/balance`. */
  path: string;
}

/** What `router.listRoutes()` (router ≥ 2.3, Express 5's router) returns per registered path. */
interface ListedRoute {
  path: string | RegExp;
  methods: string[] | undefined;
  router: unknown;
}

interface ListingRouter {
  listRoutes(): ListedRoute[];
}

function asListingRouter(value: unknown, where: string): ListingRouter {
  if (typeof (value as Partial<ListingRouter> | null)?.listRoutes !== 'function') {
    throw new Error(`${where} has no listRoutes(): Express 5 with router >= 2.3 is needed to list routes`);
  }
  return value as ListingRouter;
}

/** Joins a mount path and a route path: `('/v1/users', '/:userId')` → `/v1/users/:userId`, `('/', '/healthz')` → `/healthz`. */
function join(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

/** Express (path-to-regexp 8) `:param` → OpenAPI `{param}`; other syntax is left as written, so it shows up as a mismatch. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_$][\w$]*)/g, '{$1}');
}

/**
 * Every method + path an Express 5 app routes, found by walking its router with the router's own
 * `listRoutes()` and recursing into mounted routers (a mount path is kept on that listing, not on
 * the layer). Plain middleware (e.g. swagger-ui's static files) is not a route and is not listed.
 * The automatic `HEAD` of `GET` routes and `.all()` handlers (e.g. a 405 responder) are left out:
 * they are not operations a spec documents. RegExp paths appear as their source text.
 */
export function listServedRoutes(app: Express): ServedRoute[] {
  const found = new Map<string, ServedRoute>();
  const walk = (router: ListingRouter, prefix: string): void => {
    for (const entry of router.listRoutes()) {
      const path = typeof entry.path === 'string' ? join(prefix, entry.path) : `${prefix}${String(entry.path)}`;
      if (entry.router) {
        walk(asListingRouter(entry.router, `the router mounted at ${path}`), path);
        continue;
      }
      const methods = entry.methods ?? [];
      // `app.all()` registers every method one by one; `router.all()` registers `*`.
      if (METHODS.every((method) => methods.includes(method))) continue;
      for (const method of methods) {
        if (method === 'HEAD' || method === '*') continue;
        const route = { method, path: toOpenApiPath(path) };
        found.set(`${route.method} ${route.path}`, route);
      }
    }
  };
  walk(asListingRouter(app.router, 'the app router'), '/');
  return [...found.values()];
}
