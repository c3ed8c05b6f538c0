/**
 * Middleware put together without a layer of express's router each.
 *
 * Why: every `app.use` is a layer that each request walks past (a path match, a try, a check of
 * the return value, `next`'s bookkeeping), and a router mounted without a path has each of its
 * routes' patterns tried on every request. In a bare express app here that walk cost about
 * 1 µs a layer (BENCHMARKS.md round 21). The app's checks run in order inside one layer (`series`), and a
 * router only sees the requests under its path (`underPath`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * One handler running `steps` in order, each as a layer of its own would: the next step when one
 * calls `next()`, the error handlers when one calls `next(err)`, throws or returns a promise
 * that rejects. A step that answers and does not call `next` ends the series.
 */
export function series(...steps: RequestHandler[]): RequestHandler {
  return madeOf(steps, (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = steps[i++];
      if (!handler) return next();
      run(handler, req, res, step);
    };
    step();
  });
}

function run(handler: RequestHandler, req: Request, res: Response, next: NextFunction): void {
  let returned: unknown;
  try {
    returned = handler(req, res, next);
  } catch (err) {
    return next(err);
  }
  if (returned instanceof Promise) returned.catch((err: unknown) => next(err ?? new Error('rejected without a reason')));
}

/**
 * `handler` for requests whose path is `prefix` or under it (`/admin`, `/admin/…`, letters in
 * any case, as express matches routes; the path as express reads it, so also in a request
 * target of absolute form, `http://host/admin`), the URL left as it is (so routes keep their
 * full paths, and the metrics their route labels); others go past it.
 */
export function underPath(prefix: string, handler: RequestHandler): RequestHandler {
  const under = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:/|$)`, 'i');
  return madeOf([handler], (req, res, next) => {
    if (!under.test(req.path)) return next();
    run(handler, req, res, next);
  });
}

const parts = new WeakMap<RequestHandler, RequestHandler[]>();
const madeOf = (of: RequestHandler[], handler: RequestHandler) => (parts.set(handler, of), handler);

/** The handlers `series` or `underPath` made `handler` of: for what lists an app's routes (its OpenAPI test). */
export const partsOf = (handler: unknown): RequestHandler[] | undefined => parts.get(handler as RequestHandler);
