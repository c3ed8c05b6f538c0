import { describe, expect, it } from 'vitest';
import { logFormat } from './logger.js';

describe('logFormat', () => {
  it('is pretty on a terminal, JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
    expect(logFormat('xml', false)).toBe('json');
  });
});
