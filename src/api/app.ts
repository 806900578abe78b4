import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Express } from 'express';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { parse as parseYaml } from 'yaml';
import { QueueEventHub } from '../queue/events';
import type { AppDeps } from './deps';
import { errorHandler, methodNotAllowedHandler, notFoundHandler } from './errors';
import { healthRouter } from './health';
import { createMetrics } from './metrics';
import { stampReceipt } from './received';
import { adminConcertsRouter } from './routes/admin-concerts';
import { adminQueueRouter } from './routes/admin-queue';
import { balanceRouter } from './routes/balance';
import { concertsRouter } from './routes/concerts';
import { devIdentityRouter, meRouter } from './routes/me';
import { paymentsRouter } from './routes/payments';
import { queueRouter } from './routes/queue';
import { reservationsRouter } from './routes/reservations';
import { webRouter } from './web';

export type { AppDeps } from './deps';

/** API.md: a client's X-Request-Id is echoed only when it is 1–128 visible ASCII characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

const OPENAPI_PATH = path.resolve(__dirname, '../../docs/openapi.yaml');

/** Builds the Express app (without listening): routes of API.md, health, metrics and docs. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.set('etag', false);

  const metrics = createMetrics(() => deps.settlementNotices.pendingCount);
  app.use((req, res, next) => {
    stampReceipt(req);
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    (req as { id?: string }).id = id;
    next();
  });
  // A log line per request only when asked for (LOG_LEVEL debug or trace): at the default level
  // it would cost every request a child logger for a line nobody keeps. Errors are logged with
  // their request id by the error handler either way.
  if (deps.log.isLevelEnabled('debug')) {
    app.use(
      pinoHttp({
        logger: deps.log,
        genReqId: (req) => (req as { id?: string }).id ?? randomUUID(),
        autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
        customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'debug'),
      }),
    );
  }
  app.use(metrics.middleware);
  app.use(express.json({ limit: '16kb' }));

  // The API first: Express tries every layer in order, so the hot routes should not walk past
  // the health, docs and page handlers on every request.
  const hub = new QueueEventHub(deps, { positionEveryMs: deps.config.queueStreamPositionEveryMs });
  app.use('/v1/queue', queueRouter(deps, hub));
  app.use('/v1/concerts', concertsRouter(deps));
  app.use('/v1/reservations', reservationsRouter(deps));
  app.use('/v1/users', balanceRouter(deps));
  app.use('/v1', paymentsRouter(deps));
  app.use('/v1/admin', adminQueueRouter(deps));
  app.use('/v1/admin', adminConcertsRouter(deps));
  app.use('/v1/me', meRouter(deps));
  if (!deps.config.production && deps.config.authJwtSecret) {
    app.use('/v1/dev', devIdentityRouter(deps, deps.config.authJwtSecret));
  }

  app.use(healthRouter(deps));
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  if (existsSync(OPENAPI_PATH)) {
    const spec = readFileSync(OPENAPI_PATH, 'utf8');
    app.get('/docs/openapi.yaml', (_req, res) => {
      res.type('application/yaml').send(spec);
    });
    app.use('/docs', swaggerUi.serve, swaggerUi.setup(parseYaml(spec) as swaggerUi.JsonObject));
  }

  app.use(webRouter(deps));

  app.use(methodNotAllowedHandler(app));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.log));
  return app;
}
