/**
 * createApp(deps): the express app, with no I/O of its own (main.ts listens).
 * Order: request log → metrics → CORS (when CORS_ORIGINS is set) → compressed answers (when asked and
 * COMPRESS_RESPONSES) → health (no auth) → /admin (admin key) → load/unload and model
 * reads by the admin key (past a 404 or 405 for what no route serves) → in one layer (http/compose.ts `series`): tenant auth, rate limit,
 * query names, OPTIONS (http/options.ts), JSON charset, body size (and the 100), compressed bodies, JSON body (exact integers, depth) →
 * routes (the busiest first; a router under a path sees only its requests: `underPath`) → 404 →
 * problems.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import { megabytes, PayloadTooLargeError } from '@maas/shared';
import type { Deps } from './deps.js';
import { adminAuth, adminReadsModels, repositoryControlAuth } from './http/admin-auth.js';
import { refuseCrossSite } from './http/cross-site.js';
import { authenticate, oneCredential } from './http/auth.js';
import {
  isBinaryFramed, parseJsonBytes, readExactIntegers, readsAsJson, readsTensorJson, refuseCharset, refuseDeepJson, tensorJsonMayRead, verifyJsonBody,
} from './http/infer-body.js';
import { drainBody } from './http/body-encoding.js';
import { compressedBody } from './http/compressed-body.js';
import { compressAnswers } from './http/compress.js';
import { sendContinue, waitsFor100 } from './http/continue.js';
import { series, underPath } from './http/compose.js';
import { accessLog, echoRequestId, installRequestLog } from './http/request-log.js';
import { closeConnectionsOnStop } from './http/closing.js';
import { allowedMethodsOf } from './http/allowed-methods.js';
import { answerOptions } from './http/options.js';
import { crossOrigin } from './http/cors.js';
import { refuseBracketQuery } from './http/query.js';
import { answeringProblems, notFoundHandler, refuseUnserved } from './http/problem.js';
import { ROUTES } from './openapi/routes.js';
import { rateLimit } from './http/rate-limit.js';
import { countRefusals, httpMetrics } from './metrics.js';
import { adminRouter } from './routes/admin.js';
import { batchesRouter, isBatchUpload } from './routes/batches.js';
import { jobsRouter } from './routes/jobs.js';
import { healthRouter, inferRouter, kserveRouter } from './routes/kserve.js';
import { metricsRouter } from './routes/metrics.js';
import { modelsRouter } from './routes/models.js';
import { openApiRouter } from './routes/openapi.js';
import { REPOSITORY_LOAD, REPOSITORY_UNLOAD, tritonRouter } from './routes/triton.js';
import { webhooksRouter } from './routes/webhooks.js';

export function createApp(deps: Deps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Once stopping, answers close their connections (http/closing.ts).
  closeConnectionsOnStop(app, deps.shutdown);
  // req.id and req.log (made when asked); errors are logged by the problem handler.
  installRequestLog(app, deps.log);
  if (deps.log.isLevelEnabled('debug')) app.use(accessLog());
  app.use(echoRequestId());
  app.use(httpMetrics(deps.metrics));
  // One Allow list for OPTIONS and a 405 alike: the route table's (http/options.ts).
  const allowed = allowedMethodsOf(ROUTES);
  // Browsers' cross-origin requests, preflights before any key is asked for (http/cors.ts).
  if (deps.config.CORS_ORIGINS) app.use(crossOrigin(deps.config.CORS_ORIGINS, allowed));
  // br / gzip / deflate answers for clients that send Accept-Encoding (http/compress.ts).
  if (deps.config.COMPRESS_RESPONSES) app.use(compressAnswers());
  app.use(underPath('/v2/health', series(answerOptions(allowed), healthRouter(deps))));
  // Two credentials are refused before any key is checked (http/auth.ts).
  if (deps.config.ADMIN_KEY || deps.config.API_KEYS?.size) app.use(oneCredential());
  // /admin has its own key (ADMIN_KEY), never a tenant's, so it comes before tenant auth.
  // A path under /admin that nothing serves is a 404 (405) here: past this it would meet the
  // tenant routes' checks, and the admin key a 403 that says it runs no job.
  app.use(underPath('/admin', series(adminAuth(deps.config.ADMIN_KEY, (deps.config.API_KEYS?.size ?? 0) > 0), answerOptions(allowed), adminRouter(deps), notFoundHandler(allowed))));
  // Loading and unloading a model change it for every tenant: never from another site's page
  // (a browser's own Basic credentials, or none where none are needed: http/cross-site.ts);
  // ADMIN_KEY's, never a tenant key's (open, as Triton's, while neither key is set).
  app.post([REPOSITORY_LOAD, REPOSITORY_UNLOAD], refuseCrossSite('loading or unloading a model'));
  if (deps.config.ADMIN_KEY || deps.config.API_KEYS?.size) {
    app.post([REPOSITORY_LOAD, REPOSITORY_UNLOAD], repositoryControlAuth(deps.config.ADMIN_KEY, deps.config.API_KEYS));
  }
  // A path nothing serves (404), or a method its path is not served with (405), is answered so
  // before a key or a body is looked at.
  app.use(refuseUnserved(allowed));
  if (deps.config.ADMIN_KEY) app.use(adminReadsModels(deps.config.ADMIN_KEY)); // and read models with it
  // Large JSON inference bodies are read by their routes instead (http/infer-body.ts, readsTensorJson);
  // a batch upload is never JSON: its route answers a JSON type with 415 before reading a byte.
  const readsWhole = (req: IncomingMessage) => !isBatchUpload(req) && (readsAsJson(req) || isBinaryFramed(req));
  const maxBody = megabytes(deps.config.MAX_BODY_MB);
  // What every other request goes through, in one layer (http/compose.ts).
  app.use(series(
    authenticate(deps.config.API_KEYS),
    rateLimit(deps.rateLimit),
    refuseBracketQuery,
    answerOptions(allowed),
    refuseCharset,
    declaredSizeAndContinue(readsWhole, isBatchUpload, maxBody),
    // Compressed bodies read whole: received, then decompressed a few at a time (a gzip bomb is small).
    compressedBody(readsWhole, maxBody, (req, bytes) =>
      (isBinaryFramed(req) ? bytes : parseJsonBytes(bytes, tensorJsonMayRead(req, bytes.length)))),
    express.json({
      limit: maxBody,
      type: (req) => readsAsJson(req) && !readsTensorJson(req) && !isBatchUpload(req),
      verify: verifyJsonBody,
    }),
    (req, res, next) => {
      if (req.body !== undefined) readExactIntegers(req);
      refuseDeepJson(req, res, next);
    },
  ));
  // The busiest routes first; a router sees only the paths it serves.
  app.use(underPath('/v1/jobs', jobsRouter(deps)));
  app.use(inferRouter(deps));
  app.use(tritonRouter(deps)); // before kserve: GET /v2/models/stats is not the metadata of a model named "stats"
  app.use(kserveRouter(deps));
  app.use(underPath('/v1/batches', batchesRouter(deps)));
  app.use(modelsRouter(deps));
  app.use(webhooksRouter(deps));
  app.use(metricsRouter(deps));
  app.use(openApiRouter(deps.config.PUBLIC_PATH, { tenants: deps.config.API_KEYS !== undefined, admin: deps.config.ADMIN_KEY !== undefined }));
  app.use(notFoundHandler(allowed));
  app.use(answeringProblems(countRefusals(deps.metrics)));
  return app;
}

/**
 * A body read whole that says it is over the limit is a 413 without being read: at once for a
 * client that waits for a 100, else once the client has sent it (discarded, so that it reads the
 * answer instead of a reset) or after drainBody's few seconds (the parsers would wait for all of
 * it until the idle timeout, which a client that lies about its length never sends). The server
 * leaves `Expect: 100-continue` to the app (http/server.ts): a body refused here (or by
 * authentication) is never asked for. A body its route streams (`continuesLater`: batch uploads)
 * is asked for by that route once it reads it (http/continue.ts), after its own checks.
 */
function declaredSizeAndContinue(readsWhole: (req: IncomingMessage) => boolean, continuesLater: (req: IncomingMessage) => boolean, maxBody: number): RequestHandler {
  return (req, res, next) => {
    const waits = waitsFor100(req);
    if (Number(req.headers['content-length']) > maxBody && readsWhole(req)) {
      const tooLarge = new PayloadTooLargeError(`request body exceeds ${maxBody} bytes (MAX_BODY_MB)`);
      return waits ? next(tooLarge) : void drainBody(req).then(() => next(tooLarge));
    }
    if (waits && !continuesLater(req)) sendContinue(res);
    next();
  };
}
