import { describe, expect, it } from 'vitest';
import { addressProblem, resolveTarget, TargetRefusedError, webhookUrlProblem, type Lookup } from './ssrf.js';

describe('addressProblem', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['10.1.2.3', 'private'], ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'], ['0.0.0.0', '"this network"'], ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'], ['198.18.0.1', 'benchmarking'], ['192.0.2.7', 'documentation'],
    ['::1', 'unspecified, loopback or IPv4-compatible'], ['::', 'unspecified, loopback or IPv4-compatible'],
    ['fe80::1', 'link-local'], ['fd12:3456::1', 'unique-local'], ['fc00::1', 'unique-local'], ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'], ['3fff::1', 'documentation'], ['2001:2::1', 'benchmarking'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'], ['::ffff:0:127.0.0.1', 'IPv4-translated (SIIT, RFC 2765)'], ['::ffff:0:8.8.8.8', 'IPv4-translated (SIIT, RFC 2765)'],
  ])('%s is %s', (ip, why) => {
    expect(addressProblem(ip)).toBe(why);
  });

  it('looks inside NAT64 and 6to4 addresses', () => {
    expect(addressProblem('64:ff9b::7f00:1')).toBe('loopback (embedded IPv4 127.0.0.1)');
    expect(addressProblem('64:ff9b::10.0.0.1')).toBe('private (embedded IPv4 10.0.0.1)');
    expect(addressProblem('2002:c0a8:101::1')).toBe('private (embedded IPv4 192.168.1.1)');
    expect(addressProblem('64:ff9b::808:808')).toBeNull();
    expect(addressProblem('2002:808:808::1')).toBeNull();
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8'])(
    '%s is public',
    (ip) => expect(addressProblem(ip)).toBeNull(),
  );

  it('is not fooled by non-addresses', () => {
    expect(addressProblem('localhost')).toBe('not an IP address');
  });
});

describe('webhookUrlProblem', () => {
  const strict = { allowPrivate: false };
  const lax = { allowPrivate: true };
  it('allows public http(s) URLs', () => {
    expect(webhookUrlProblem('https://example.com/hooks?x=1', strict)).toBeNull();
    expect(webhookUrlProblem('http://8.8.8.8:8080/h', strict)).toBeNull();
    expect(webhookUrlProblem('http://[2606:4700:4700::1111]/h', strict)).toBeNull();
  });
  it('refuses spaces and control characters, which the URL parser would drop (the URL stored would not be the one called)', () => {
    for (const url of [' http://example.com/h', 'http://example.com/h ', 'http://exam\tple.com/h', 'http://example.com/a\nb', 'http://example.com/a b', 'http://example.com/\u007f']) {
      expect(webhookUrlProblem(url, lax), JSON.stringify(url)).toMatch(/spaces or control characters/);
    }
    expect(webhookUrlProblem('http://example.com/a%20b', lax)).toBeNull();
  });
  it('refuses other schemes, relative URLs and credentials, whatever the policy', () => {
    for (const p of [strict, lax]) {
      expect(webhookUrlProblem('ftp://example.com/x', p)).toMatch(/http or https/);
      expect(webhookUrlProblem('file:///etc/passwd', p)).toMatch(/http or https/);
      expect(webhookUrlProblem('/relative', p)).toMatch(/absolute/);
      expect(webhookUrlProblem('http://user:pw@example.com/', p)).toMatch(/credentials/);
      expect(webhookUrlProblem('http://user@example.com/', p)).toMatch(/credentials/);
      expect(webhookUrlProblem('https://example.com:0/hook', p)).toMatch(/port must be 1 to 65535/);
      expect(webhookUrlProblem('https://example.com:65535/hook', p)).toBeNull();
    }
  });
  it('refuses private literals and localhost unless private targets are allowed', () => {
    for (const u of ['http://127.0.0.1:9/', 'http://[::1]/', 'http://10.0.0.8/', 'http://169.254.169.254/latest/meta-data',
      'http://localhost:3000/', 'http://LOCALHOST./', 'http://api.localhost/', 'http://0x7f.1/', 'http://2130706433/',
      'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/']) {
      expect(webhookUrlProblem(u, strict), u).toMatch(/refused.*WEBHOOK_ALLOW_PRIVATE/);
      expect(webhookUrlProblem(u, lax), u).toBeNull();
    }
  });
});

describe('resolveTarget', () => {
  const fake = (answers: Record<string, string[]>): Lookup => async (host) =>
    (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('connects to a literal as is, and to the first allowed address of a name', async () => {
    expect(await resolveTarget(new URL('http://8.8.8.8/'), { allowPrivate: false }, fake({}))).toEqual({ address: '8.8.8.8', family: 4 });
    expect(await resolveTarget(new URL('http://[2606:4700::1]/'), { allowPrivate: false }, fake({}))).toEqual({ address: '2606:4700::1', family: 6 });
    const lookup = fake({ 'hooks.example': ['10.0.0.1', '93.184.216.34'] });
    expect(await resolveTarget(new URL('https://hooks.example/x'), { allowPrivate: false }, lookup)).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('refuses a name that resolves only to private addresses (the attempt records why)', async () => {
    const lookup = fake({ 'evil.example': ['127.0.0.1', '::1'] });
    const err = await resolveTarget(new URL('http://evil.example/'), { allowPrivate: false }, lookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetRefusedError);
    expect((err as Error).message).toBe('refused: evil.example resolves only to non-public addresses (loopback; unspecified, loopback or IPv4-compatible)'); // their kinds, not the addresses (the tenant reads it)
    expect((err as Error).message).not.toMatch(/127\.0\.0\.1|::1/);
    expect(await resolveTarget(new URL('http://evil.example/'), { allowPrivate: true }, lookup)).toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('refuses literals and URLs the policy refuses before any lookup', async () => {
    const never: Lookup = () => Promise.reject(new Error('no lookup expected'));
    await expect(resolveTarget(new URL('http://192.168.0.1/'), { allowPrivate: false }, never)).rejects.toThrow(TargetRefusedError);
    await expect(resolveTarget(new URL('http://localhost/'), { allowPrivate: false }, never)).rejects.toThrow(/localhost/);
    await expect(resolveTarget(new URL('ftp://x.example/'), { allowPrivate: true }, never)).rejects.toThrow(/http or https/);
  });

  it('says so when a name has no address', async () => {
    await expect(resolveTarget(new URL('http://void.example/'), { allowPrivate: false }, fake({}))).rejects.toThrow(/has no address/);
  });
});
