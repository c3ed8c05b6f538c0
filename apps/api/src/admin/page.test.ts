import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { statusPage } from './page.js';

const scriptOf = (html: string) => /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('statusPage', () => {
  it('links and fetches from the root without PUBLIC_PATH', () => {
    const { html } = statusPage('');
    expect(html).toContain('<a href="/admin/queues">');
    expect(scriptOf(html)).toContain('fetch("/admin/status.json", { cache: "no-store" })');
  });

  it('puts PUBLIC_PATH before its link and its fetch, and allows the script it then holds by its hash', () => {
    const plain = statusPage('');
    const prefixed = statusPage('/ml');
    expect(prefixed.html).toContain('<a href="/ml/admin/queues">');
    expect(scriptOf(prefixed.html)).toContain('fetch("/ml/admin/status.json", { cache: "no-store" })');
    for (const page of [plain, prefixed]) expect(page.scriptHash).toBe(sha256(scriptOf(page.html)));
    expect(prefixed.scriptHash).not.toBe(plain.scriptHash);
  });
});
