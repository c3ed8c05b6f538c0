import { describe, expect, it } from 'vitest';
import { urlOrigin, withoutValues } from './log-values.js';

describe('withoutValues', () => {
  it("masks the numbers a run's message quotes, not ids or file names", () => {
    expect(withoutValues("Non-zero status code returned while running Gather node. Name:'/Gather' Status Message: indices element out of data bounds, idx=42 must be within the inclusive range [-10,9]"))
      .toBe("Non-zero status code returned while running Gather node. Name:'/Gather' Status Message: indices element out of data bounds, idx=# must be within the inclusive range [#,#]");
    expect(withoutValues('job job_4ueNl4mR3isWztt1AiE2q failed: value 3.5e-7 at gather.cc:92')).toBe('job job_4ueNl4mR3isWztt1AiE2q failed: value # at gather.cc:#');
    expect(withoutValues('got -1.25, +7 and .5')).toBe('got #, # and #');
    expect(withoutValues('job job_ab-12 failed: idx=-5')).toBe('job job_ab-12 failed: idx=#');
  });
});

describe('urlOrigin', () => {
  it("names a URL's origin only: never its path, query, fragment or credentials", () => {
    expect(urlOrigin('https://hooks.example.com:8443/in/abc?token=s3cret#x')).toBe('https://hooks.example.com:8443');
    expect(urlOrigin('http://user:pw@10.0.0.1/p?q=1')).toBe('http://10.0.0.1');
    expect(urlOrigin('https://h.example.com:443/x')).toBe('https://h.example.com');
  });
  it('is undefined for what is not an absolute URL', () => {
    expect(urlOrigin('not a url ?token=s3cret')).toBeUndefined();
    expect(urlOrigin('/relative/path')).toBeUndefined();
    expect(urlOrigin(42)).toBeUndefined();
    expect(urlOrigin(undefined)).toBeUndefined();
  });
});
