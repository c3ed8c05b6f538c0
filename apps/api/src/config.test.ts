import { describe, expect, it } from 'vitest';
import { ConfigError } from '@maas/shared';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', MODEL_REPOSITORY: './models', MAX_BODY_MB: 64, WEBHOOK_ALLOW_PRIVATE: false });
    expect(c.API_KEYS).toBeUndefined();
  });

  it('parses API_KEYS into key → tenant; empty counts as unset', () => {
    expect(loadConfig({ API_KEYS: 'alpha:k1, beta:k2' }).API_KEYS).toEqual(new Map([['k1', 'alpha'], ['k2', 'beta']]));
    expect(loadConfig({ API_KEYS: '  ' }).API_KEYS).toBeUndefined();
    expect(loadConfig({ API_KEYS: 'a:key:with:colons' }).API_KEYS?.get('key:with:colons')).toBe('a');
  });

  it('refuses an API_KEYS of commas alone (set, naming no one: it was the open mode, unwarned) and a key with white space in it (no Bearer token carries one)', () => {
    for (const v of [',', ',,,', ' , ']) expect(() => loadConfig({ API_KEYS: v }), v).toThrow(/API_KEYS: holds no tenant:key entry/);
    expect(() => loadConfig({ API_KEYS: ',', CORS_ORIGINS: '*' })).toThrow(/holds no tenant:key entry/);
    expect(() => loadConfig({ API_KEYS: 'a:k-aaaa,b:key with space' })).toThrow(/entry 2's key holds white space/);
    expect(() => loadConfig({ API_KEYS: 'a:k-aaaa,b:key with space' })).not.toThrow(/key with space/);
  });

  it('trims ADMIN_KEY (a secret file\'s newline), so it is still never a tenant key; white space inside is refused', () => {
    expect(loadConfig({ ADMIN_KEY: '  admin-key-0123456789\n' }).ADMIN_KEY).toBe('admin-key-0123456789');
    expect(() => loadConfig({ API_KEYS: 'a:0123456789abcdef', ADMIN_KEY: '0123456789abcdef ' })).toThrow(/ADMIN_KEY: is also a tenant key/);
    expect(() => loadConfig({ ADMIN_KEY: 'admin key 0123456789' })).toThrow(/ADMIN_KEY: holds white space/);
  });

  it('GRPC_PORT equal to PORT is refused at start (it failed to bind with a stack trace)', () => {
    expect(() => loadConfig({ PORT: '7303', GRPC_PORT: '7303' })).toThrow(/GRPC_PORT: is PORT \(7303\)/);
    expect(loadConfig({ PORT: '0', GRPC_PORT: '0' })).toMatchObject({ PORT: 0, GRPC_PORT: 0 }); // each a port the system picks
  });

  it('an empty PORT is the default port, not 0 (a port the system picks)', () => {
    expect(loadConfig({ PORT: '', GRPC_PORT: ' ' })).toMatchObject({ PORT: 8080, GRPC_PORT: 8081 });
  });

  it('checks LOG_LEVEL and LOG_FORMAT with the rest', () => {
    expect(loadConfig({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' })).toMatchObject({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' });
    let error: unknown;
    try {
      loadConfig({ LOG_LEVEL: 'verbose', LOG_FORMAT: 'bogus', PORT: 'x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    for (const name of ['LOG_LEVEL', 'LOG_FORMAT', 'PORT']) expect((error as ConfigError).message).toContain(name);
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ API_KEYS: 'nokey', PORT: 'eighty', REDIS_URL: 'http://x', WEBHOOK_ALLOW_PRIVATE: 'perhaps' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).problems.join('\n');
      for (const v of ['API_KEYS', 'PORT', 'REDIS_URL', 'WEBHOOK_ALLOW_PRIVATE']) expect(text).toContain(v);
    }
  });

  it('sets deliberate server timeouts and upload limits, the idle one beyond every wait', () => {
    expect(loadConfig({})).toMatchObject({ REQUEST_TIMEOUT_S: 3600, IDLE_TIMEOUT_S: 120, BATCH_MAX_MB: 4096, UPLOAD_LEASE_S: 30, KEEP_ALIVE_TIMEOUT_S: 65 });
    // Waits end before a proxy's 60 s read timeout would cut them.
    expect(loadConfig({})).toMatchObject({ MAX_WAIT_S: 55, INFER_TIMEOUT_S: 55 });
    expect(() => loadConfig({ IDLE_TIMEOUT_S: '55' })).toThrow(/IDLE_TIMEOUT_S.*must exceed MAX_WAIT_S \(55\)/);
    expect(loadConfig({ IDLE_TIMEOUT_S: '3', MAX_WAIT_S: '1', INFER_TIMEOUT_S: '2' }).IDLE_TIMEOUT_S).toBe(3);
  });

  it('refuses the CHANGE-ME placeholders of deploy/k8s/secrets.yaml; an API_KEYS entry that is not tenant:key is named by its place, not its text', () => {
    expect(() => loadConfig({ API_KEYS: 'a:CHANGE-ME-a-key' })).toThrow(/key of a is a CHANGE-ME placeholder/);
    expect(() => loadConfig({ API_KEYS: 'a:k-aaaaaaaaaaaa', ADMIN_KEY: 'CHANGE-ME-admin-key-at-least-16-chars' })).toThrow(/ADMIN_KEY.*CHANGE-ME placeholder/);
    let message = '';
    try {
      loadConfig({ API_KEYS: 'a:k-aaaaaaaaaaaa,b supersecretkeyvalue123' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/entry 2 is not tenant:key/);
    expect(message).not.toMatch(/supersec/);
  });

  it('refuses CORS_ORIGINS=* in open mode (any page could use the API through its visitors), not a list of origins', () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS: is \* while API_KEYS is unset/);
    expect(loadConfig({ CORS_ORIGINS: '*', API_KEYS: 'a:k1' }).CORS_ORIGINS).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'http://localhost:5173' }).CORS_ORIGINS).toEqual(['http://localhost:5173']);
  });

  it('refuses one key for two tenants', () => {
    expect(() => loadConfig({ API_KEYS: 'a:same,b:same' })).toThrow(/two tenants/);
  });

  it('refuses the reserved tenant names (the open mode\'s, ADMIN_KEY\'s), naming the entry by its place', () => {
    expect(() => loadConfig({ API_KEYS: 'a:key-a,default:key-d' })).toThrow(/entry 2 names tenant "default", which is reserved/);
    expect(() => loadConfig({ API_KEYS: 'admin-key:key-x' })).toThrow(/entry 1 names tenant "admin-key"/);
    expect(() => loadConfig({ API_KEYS: 'admin-key:key-x' })).not.toThrow(/key-x/);
  });

  it('reads quotas, the admin key and the secret overlap, and refuses what would silently misfire', () => {
    const c = loadConfig({
      API_KEYS: 'acme:k1,beta:k2', QUOTA_QUEUED_ROWS: '500', PRIORITY_FLOOR: '10', TENANT_QUOTAS: '{"acme":{"min_priority":1}}',
      ADMIN_KEY: 'admin-key-0123456789', WEBHOOK_SECRET_OVERLAP: '30m',
    });
    expect(c).toMatchObject({ QUOTA_QUEUED_ROWS: 500, PRIORITY_FLOOR: 10, TENANT_QUOTAS: { acme: { min_priority: 1 } }, WEBHOOK_SECRET_OVERLAP: 1_800_000 });
    expect(loadConfig({})).toMatchObject({ QUOTA_QUEUED_ROWS: 0, PRIORITY_FLOOR: 1, TENANT_QUOTAS: {}, WEBHOOK_SECRET_OVERLAP: 86_400_000 });
    expect(() => loadConfig({ API_KEYS: 'acme:k1', TENANT_QUOTAS: '{"acne":{"rps":1}}' })).toThrow(/no key in API_KEYS/);
    // Without API_KEYS the one tenant is `default`: another name is a typo.
    expect(() => loadConfig({ TENANT_QUOTAS: '{"ghost":{}}' })).toThrow(/names tenant "ghost", but without API_KEYS every request is tenant "default"/);
    expect(loadConfig({ TENANT_QUOTAS: '{"default":{"rps":5}}' }).TENANT_QUOTAS).toEqual({ default: { rps: 5 } });
    expect(() => loadConfig({ API_KEYS: 'acme:same-key-0123456789', ADMIN_KEY: 'same-key-0123456789' })).toThrow(/tenant key/);
    expect(() => loadConfig({ ADMIN_KEY: 'short' })).toThrow(/16 characters/);
    expect(() => loadConfig({ WEBHOOK_SECRET_OVERLAP: 'a day' })).toThrow(/WEBHOOK_SECRET_OVERLAP/);
  });

  it('reads PUBLIC_PATH as a path prefix (a trailing slash dropped), none by default, and refuses what is no plain path', () => {
    expect(loadConfig({}).PUBLIC_PATH).toBe('');
    for (const [v, want] of [['/ml', '/ml'], ['/ml/', '/ml'], [' /a/b-1/ ', '/a/b-1'], ['/', ''], ['/%7Eme', '/%7Eme']]) expect(loadConfig({ PUBLIC_PATH: v }).PUBLIC_PATH, v).toBe(want);
    const refused = [
      ['ml', /must start with \//], ['/ml?x=1', /query or fragment/], ['/ml#top', /query or fragment/],
      ['//evil.example', /empty segment/], ['/ml//x', /empty segment/], ['/ml//', /empty segment/],
      ['/ml/..', /\. or \.\. segment/], ['/../admin', /\. or \.\. segment/], ['/./ml', /\. or \.\. segment/], ['/ml/%2e%2e', /\. or \.\. segment/], ['/ml/.%2E', /\. or \.\. segment/], ['/ml%2fx', /escaped slash/],
      ['/m l', /only letters, digits/], ['/ml"><script>', /only letters, digits/], ['/a&b', /only letters, digits/], ['/%zz', /only letters, digits/],
    ] as const;
    for (const [v, why] of refused) expect(() => loadConfig({ PUBLIC_PATH: v }), v).toThrow(new RegExp(`PUBLIC_PATH: .*${why.source}`));
  });
});
