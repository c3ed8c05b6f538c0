import { describe, expect, it } from 'vitest';
import { crossSiteRefusal, type RequestOrigin } from './cross-site.js';

const req = (r: Partial<RequestOrigin>): RequestOrigin => ({ secFetchSite: undefined, origin: undefined, host: 'api.example:8080', authorization: undefined, ...r });
const refused = (r: Partial<RequestOrigin>) => crossSiteRefusal(req(r), 'unloading a model') !== undefined;

describe('a request a browser made on another site\'s behalf', () => {
  it('is refused when Sec-Fetch-Site says another site or origin made it, with Basic credentials or none', () => {
    for (const site of ['cross-site', 'same-site', 'CROSS-SITE']) {
      expect(refused({ secFetchSite: site, authorization: 'Basic eDprZXk=' })).toBe(true);
      expect(refused({ secFetchSite: site })).toBe(true);
    }
  });
  it('is refused when only Origin says so (an older browser), or when Origin is "null" (a sandboxed page)', () => {
    expect(refused({ origin: 'https://evil.example', authorization: 'Basic eDprZXk=' })).toBe(true);
    expect(refused({ origin: 'http://api.example:9999' })).toBe(true);
    expect(refused({ origin: 'null' })).toBe(true);
  });
  it('is let through with a Bearer key: script had to know the key to send it', () => {
    expect(refused({ secFetchSite: 'cross-site', authorization: 'Bearer k' })).toBe(false);
    expect(refused({ origin: 'https://evil.example', authorization: 'bearer k' })).toBe(false);
  });
  it('lets through what is not cross-site: same origin, typed by the user, and clients that are not browsers', () => {
    expect(refused({ secFetchSite: 'same-origin', origin: 'http://api.example:8080', authorization: 'Basic eDprZXk=' })).toBe(false);
    expect(refused({ secFetchSite: 'none' })).toBe(false);
    expect(refused({ secFetchSite: 'same-origin', origin: 'null' })).toBe(false); // Referrer-Policy: no-referrer
    expect(refused({ origin: 'http://API.example:8080' })).toBe(false);
    expect(refused({ authorization: 'Basic eDprZXk=' })).toBe(false); // tritonclient, curl
    expect(refused({})).toBe(false);
  });
  it('says why and what to send instead', () => {
    expect(crossSiteRefusal(req({ secFetchSite: 'cross-site' }), 'unloading a model')?.message).toMatch(/^unloading a model from another site's page is refused .*Authorization: Bearer/);
  });
});
