import { describe, expect, it } from 'vitest';
import { secretFingerprint, secretMismatch } from './configured-secret.js';

describe('configured webhook secret', () => {
  it('fingerprints the current secret, never showing it', () => {
    const fp = secretFingerprint(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_old']);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fp).toBe(secretFingerprint(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']));
    expect(fp).not.toBe(secretFingerprint(['whsec_other']));
    expect(secretFingerprint(undefined)).toBe('none');
    expect(secretFingerprint([])).toBe('none');
  });

  it('warns when the roles differ, and says which was given what', () => {
    const a = secretFingerprint(['whsec_a']);
    const b = secretFingerprint(['whsec_b']);
    expect(secretMismatch('api', a, null)).toBeUndefined(); // no worker has said yet
    expect(secretMismatch('api', a, a)).toBeUndefined();
    expect(secretMismatch('worker', 'none', 'none')).toBeUndefined();
    expect(secretMismatch('worker', 'none', a)).toMatch(/^this worker was given no WEBHOOK_SECRET and the API a WEBHOOK_SECRET: .*GET \/v1\/webhooks\/secret/);
    expect(secretMismatch('api', a, 'none')).toMatch(/^this API was given a WEBHOOK_SECRET and the workers no WEBHOOK_SECRET/);
    expect(secretMismatch('api', a, b)).toMatch(/^this API was given a WEBHOOK_SECRET and the workers another one/);
    expect(secretMismatch('api', a, b)).not.toContain('whsec_');
  });
});
