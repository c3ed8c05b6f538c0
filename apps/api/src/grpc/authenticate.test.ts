import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '@maas/shared';
import { credentialCheck, isOpenCall, methodOf } from './authenticate.js';

describe('credentialCheck', () => {
  const keys = new Map([['key-a', 'a'], ['key-b', 'b']]);
  const admin = 'admin-key-0123456789';

  it('knows a tenant\'s key and the admin key (what each may do is the handlers\' business)', () => {
    const check = credentialCheck(keys, admin);
    expect(check('Bearer key-a')).toBeUndefined();
    expect(check(`Bearer ${admin}`)).toBeUndefined();
  });

  it('refuses no key, an unknown key, and another scheme, as UNAUTHENTICATED errors', () => {
    const check = credentialCheck(keys, admin);
    for (const auth of [undefined, '', 'Bearer nope', 'key-a', 'Token key-a', 'several authorization values']) {
      expect(check(auth)).toBeInstanceOf(UnauthorizedError);
    }
  });

  it('without API_KEYS every call is the open mode\'s tenant', () => {
    expect(credentialCheck(undefined, undefined)(undefined)).toBeUndefined();
    expect(credentialCheck(new Map(), admin)('Bearer anything')).toBeUndefined();
  });
});

describe('methodOf', () => {
  it('is the last part of a gRPC path', () => {
    expect(methodOf('/inference.GRPCInferenceService/ServerLive')).toBe('ServerLive');
    expect(methodOf('ModelInfer')).toBe('ModelInfer');
  });
});

describe('isOpenCall', () => {
  it('is ServerLive, ServerReady and the standard health service: what probes call without a key', () => {
    expect(isOpenCall('/inference.GRPCInferenceService/ServerLive')).toBe(true);
    expect(isOpenCall('/inference.GRPCInferenceService/ServerReady')).toBe(true);
    expect(isOpenCall('/grpc.health.v1.Health/Check')).toBe(true);
    expect(isOpenCall('/grpc.health.v1.Health/Watch')).toBe(true);
    expect(isOpenCall('/inference.GRPCInferenceService/ModelInfer')).toBe(false);
    expect(isOpenCall('/inference.GRPCInferenceService/ModelReady')).toBe(false);
  });
});
