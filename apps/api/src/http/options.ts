/**
 * `OPTIONS` on a served path: 204 with `Allow`, the very list a 405 on that path names
 * (allowed-methods.ts, from the route table), rather than each router's own answer (express
 * lists the methods of that router's routes, without OPTIONS). A path nothing serves goes on
 * to the 404.
 */
import type { RequestHandler } from 'express';
import type { AllowedMethods } from './allowed-methods.js';

export const answerOptions = (allowed: AllowedMethods): RequestHandler => (req, res, next) => {
  if (req.method !== 'OPTIONS') return next();
  const methods = allowed(req.path);
  if (!methods) return next();
  res.setHeader('Allow', methods.join(', '));
  res.status(204).end();
};
