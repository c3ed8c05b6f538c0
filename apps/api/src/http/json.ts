/** Requests with a body must say it is JSON (415 otherwise, rather than a confusing 400). */
import type { RequestHandler } from 'express';
import { AppError } from '@maas/shared';

export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json') && !req.is('application/*+json')) {
    return next(new AppError('unsupported-media-type', `send the body as application/json (got ${req.get('Content-Type') ?? 'no Content-Type'})`));
  }
  next();
};
