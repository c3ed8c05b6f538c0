/**
 * Query strings are read as plain `name=value` pairs (the app's `simple` parser; a repeated
 * name is a list, which each route's schema refuses where it wants one value). A name with
 * brackets (`webhook[]=…`, `wait[x]=1`: the array and object syntax of the `qs` library, which
 * Rails- and PHP-style clients write) names no parameter, so it would be ignored, and the
 * request would run without what it asked for (a batch without its webhook). It is a 400 instead.
 */
import type { RequestHandler } from 'express';
import { ValidationError } from '@maas/shared';

const BRACKET = /\[|%5b/i;

/** PURE: the first query name holding a bracket, or undefined. `search` is the URL from its `?`. */
export function bracketName(search: string, names: () => string[]): string | undefined {
  if (!BRACKET.test(search)) return undefined;
  return names().find((k) => k.includes('['));
}

export const refuseBracketQuery: RequestHandler = (req, _res, next) => {
  const at = req.url.indexOf('?');
  const name = at < 0 ? undefined : bracketName(req.url.slice(at), () => Object.keys(req.query));
  if (!name) return next();
  const plain = name.slice(0, name.indexOf('['));
  next(new ValidationError([{ path: `query.${name}`, message: `query parameters are name=value pairs; brackets are not read (send ${plain}=…, not ${name}=…)` }]));
};
