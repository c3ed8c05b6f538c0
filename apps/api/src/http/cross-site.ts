/**
 * Requests a browser makes on another site's behalf (cross-site request forgery). A page on
 * any site can make a browser POST a form to this API, and the browser adds on its own the
 * Basic credentials it holds for it (an operator who opened /admin typed ADMIN_KEY into its
 * prompt), or none where none are needed (no keys set). Routes that change what every tenant
 * is served (loading and unloading models) refuse such a request: one the browser says came
 * from another origin (`Sec-Fetch-Site`, or `Origin` naming another host than `Host`), unless
 * it carries a Bearer key (script on that page had to know the key to send it). Clients that
 * are not browsers (tritonclient, curl, the SDK) send neither header and are never refused.
 */
import type { RequestHandler } from 'express';
import { ForbiddenError } from '@maas/shared';

export interface RequestOrigin {
  secFetchSite: string | undefined;
  origin: string | undefined;
  host: string | undefined;
  authorization: string | undefined;
}

/** PURE: the refusal of a cross-site request without a Bearer key; undefined for any other. */
export function crossSiteRefusal(r: RequestOrigin, what: string): ForbiddenError | undefined {
  if (/^Bearer\s/i.test(r.authorization ?? '')) return undefined;
  const site = r.secFetchSite?.toLowerCase();
  const crossBySite = site !== undefined && site !== 'same-origin' && site !== 'none';
  // Origin only where Sec-Fetch-Site is not sent (an older browser): a same-origin page with
  // `Referrer-Policy: no-referrer` sends `Origin: null` beside `Sec-Fetch-Site: same-origin`.
  const crossByOrigin = site === undefined && r.origin !== undefined && (r.origin === 'null' || originHost(r.origin) !== r.host?.toLowerCase());
  if (!crossBySite && !crossByOrigin) return undefined;
  return new ForbiddenError(`${what} from another site's page is refused (Sec-Fetch-Site or Origin says it came from one): a browser sends Basic credentials (or none) by itself; send the key as \`Authorization: Bearer\``);
}

const originHost = (origin: string): string | undefined => (URL.canParse(origin) ? new URL(origin).host.toLowerCase() : undefined);

/** Route middleware: `crossSiteRefusal` of each request. */
export function refuseCrossSite(what: string): RequestHandler {
  return (req, _res, next) => next(crossSiteRefusal({
    secFetchSite: req.get('Sec-Fetch-Site'), origin: req.get('Origin'), host: req.get('Host'), authorization: req.get('Authorization'),
  }, what));
}
