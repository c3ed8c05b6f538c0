/**
 * Whether a request carries a body at all. type-is (`req.is`) matches no type when there is
 * none, so a route that checked the type first would answer a bodiless POST with a 415 naming
 * the very type it sent; the routes that need a body ask this first and answer a 400 that says
 * what is missing.
 */
import type { IncomingMessage } from 'node:http';
import { ValidationError } from '@maas/shared';

/** True when the request carries a body: chunked, or a Content-Length above zero. */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/** The 400 for a POST that needs a body and has none. */
export const emptyBody = (what: string): ValidationError =>
  new ValidationError([{ path: 'body', message: `the request has no body: send ${what}` }]);
