import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { Response } from 'express';
import type { AppDeps } from './deps';
import { HttpError } from './errors';

/** Where `npm run build:web` puts the pages (scripts/build-web.ts). */
const DIST = path.resolve(__dirname, '../../web/dist');

const escapeAttr = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The web pages: the buyer's at `/`, the operator's at `/admin`, their bundles under `/assets`.
 * Bundles have content-hashed names, so they are cached for good; the HTML is revalidated on
 * every load so a new build is picked up at once. Only these paths are handled: every other
 * request (the API, /docs, /healthz, /readyz, /metrics) passes through untouched.
 *
 * The operator page links into the Temporal Web UI at `TEMPORAL_UI_URL` (default
 * http://localhost:8233), filled into its `<meta name="temporal-ui">`.
 */
export function webRouter(deps: Pick<AppDeps, 'config'>): Router {
  const router = Router();
  const temporalUi = process.env.TEMPORAL_UI_URL || 'http://localhost:8233';
  const pages = new Map<string, string>();

  /** Reads a built page once; a missing build is a 503 that says how to make it. */
  const page = (file: string): string => {
    let html = pages.get(file);
    if (html === undefined) {
      try {
        html = readFileSync(path.join(DIST, file), 'utf8')
          .replace('%TEMPORAL_UI_URL%', escapeAttr(temporalUi))
          .replace('%TEMPORAL_NAMESPACE%', escapeAttr(deps.config.temporalNamespace));
      } catch {
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'The web pages are not built: run npm run build:web');
      }
      pages.set(file, html);
    }
    return html;
  };
  const sendPage = (res: Response, file: string): void => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(page(file));
  };

  // Middleware rather than routes: the pages are not API operations (test/docs compares the
  // app's routes with docs/openapi.yaml).
  const files: Record<string, string> = { '/': 'index.html', '/admin': 'admin.html', '/admin/': 'admin.html' };
  router.use((req, res, next) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? files[req.path] : undefined;
    if (file) sendPage(res, file);
    else next();
  });
  router.use(
    '/assets',
    express.static(path.join(DIST, 'assets'), {
      index: false,
      immutable: true,
      maxAge: '365d',
      fallthrough: true,
    }),
  );
  return router;
}
