/**
 * PURE: a base URL as users write it, taken apart the way curl would use it.
 *
 * `http://user:KEY@host:8080/prefix?tenant=x#top`:
 * - credentials are not part of any URL fetch is given (fetch refuses them, and every error
 *   message shows the URL): they become an `Authorization: Basic` header, which the API reads
 *   as the key (its password; any user name), as for tritonclient's BasicAuth;
 * - a query string (a proxy's token) is sent with every request, the call's own parameters
 *   after it (a call's parameter of the same name wins);
 * - a fragment means nothing to a server and is dropped;
 * - trailing slashes would double up with every path; a path prefix (behind a proxy) is kept.
 */

export interface BaseUrl {
  /** scheme, host and path prefix, without credentials, query, fragment or trailing slash */
  readonly root: string;
  /** the base URL's own query parameters, sent with every request */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** `Basic …` from the URL's credentials, when it had any */
  readonly basicAuth: string | undefined;
}

/** Throws TypeError for what is not an absolute http(s) URL (the message never shows a password). */
export function parseBaseUrl(raw: string): BaseUrl {
  if (!URL.canParse(raw)) throw new TypeError(`baseUrl is not an absolute URL: ${JSON.stringify(redactUrl(raw))}`);
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be http or https, not ${url.protocol}`);
  const basicAuth = url.username || url.password ? `Basic ${base64Utf8(`${decoded(url.username)}:${decoded(url.password)}`)}` : undefined;
  const query = [...url.searchParams.entries()];
  return { root: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, query, basicAuth };
}

/** A URL's user name or password as typed: percent-decoded (a `%` not followed by two hex digits is a TypeError, never shown). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new TypeError('baseUrl has credentials that are not valid percent-encoding (write % as %25)');
  }
}

/** `raw` without its credentials, for messages: `http://user:KEY@host/p` reads `http://host/p` (the rest as written). */
export function redactUrl(raw: string): string {
  return raw.replace(/^([^:/?#]+:\/\/)[^/?#]*@/, '$1');
}

/** The URL of `path` below `base`, with the base's query parameters and then the call's (the call's win on a name both have). */
export function requestUrl(base: BaseUrl, path: string, query?: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  const own = new Set(Object.entries(query ?? {}).filter(([, v]) => v !== undefined).map(([k]) => k));
  for (const [k, v] of base.query) if (!own.has(k)) params.append(k, v);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return `${base.root}${path}${qs ? `?${qs}` : ''}`;
}

/** `text`'s UTF-8 bytes in base64, without Node's Buffer (browsers have none). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
