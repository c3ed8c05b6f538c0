import { describe, expect, it } from 'vitest';
import { withoutValues } from './log-values.js';

describe('withoutValues', () => {
  it("masks the numbers a run's message quotes, not ids or file names", () => {
    expect(withoutValues("Non-zero status code returned while running Gather node. Name:'/Gather' Status Message: indices element out of data bounds, idx=42 must be within the inclusive range [-10,9]"))
      .toBe("Non-zero status code returned while running Gather node. Name:'/Gather' Status Message: indices element out of data bounds, idx=# must be within the inclusive range [#,#]");
    expect(withoutValues('job job_4ueNl4mR3isWztt1AiE2q failed: value 3.5e-7 at gather.cc:92')).toBe('job job_4ueNl4mR3isWztt1AiE2q failed: value # at gather.cc:#');
    expect(withoutValues('got -1.25, +7 and .5')).toBe('got #, # and #');
    expect(withoutValues('job job_ab-12 failed: idx=-5')).toBe('job job_ab-12 failed: idx=#');
  });
});
