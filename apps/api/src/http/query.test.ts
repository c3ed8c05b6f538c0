import { describe, expect, it } from 'vitest';
import { bracketName } from './query.js';

describe('bracketName', () => {
  it('names the first query name with a bracket, literal or percent-encoded', () => {
    expect(bracketName('?model=mlp&webhook[]=http://a', () => ['model', 'webhook[]'])).toBe('webhook[]');
    expect(bracketName('?wait%5B%5D=1', () => ['wait[]'])).toBe('wait[]');
    expect(bracketName('?wait[x]=1', () => ['wait[x]'])).toBe('wait[x]');
  });
  it('reads no names when the query has no bracket, and passes a bracket in a value', () => {
    let read = false;
    expect(bracketName('?model=mlp&wait=5', () => ((read = true), []))).toBeUndefined();
    expect(read).toBe(false);
    expect(bracketName('?webhook=http://a/x?y=[1]', () => ['webhook'])).toBeUndefined();
  });
});
