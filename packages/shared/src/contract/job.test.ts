import { describe, expect, it } from 'vitest';
import { Metadata } from './job.js';

describe('Metadata', () => {
  it('keeps the object as sent, keys of any name but __proto__ at its top (which a record would drop): refused', () => {
    const sent = JSON.parse('{"ok":1,"constructor":2,"nested":{"__proto__":{"a":1}}}') as Record<string, unknown>;
    expect(JSON.stringify(Metadata.parse(sent))).toBe(JSON.stringify(sent));
    const refused = Metadata.safeParse(JSON.parse('{"__proto__":{"a":1},"ok":1}'));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe('a key named __proto__ cannot be kept (rename it)');
  });
  it('is limited to 8 kB of JSON', () => {
    expect(Metadata.safeParse({ x: 'a'.repeat(9000) }).success).toBe(false);
  });
});
