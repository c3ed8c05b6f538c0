import { describe, expect, it } from 'vitest';
import { isRedisUnavailable, redisUnavailableReason } from './redis.js';

const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('redisUnavailableReason', () => {
  it('reads a lost or refused connection as unreachable', () => {
    expect(redisUnavailableReason(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe('unreachable');
    expect(redisUnavailableReason(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('unreachable');
    expect(redisUnavailableReason(new Error('Connection is closed.'))).toBe('unreachable');
  });

  it('reads OOM, READONLY and MISCONF replies, bare or from inside a Lua script', () => {
    expect(redisUnavailableReason(reply("OOM command not allowed when used memory > 'maxmemory'."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("ERR Error running script (call to f_1): @user_script:12: -OOM command not allowed when used memory > 'maxmemory'."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("OOM command not allowed when used memory > 'maxmemory'. script: 1c2d, on @user_script:57."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("READONLY You can't write against a read only replica."))).toBe('read-only');
    expect(redisUnavailableReason(reply("READONLY You can't write against a read only replica. script: ab, on @user_script:3."))).toBe('read-only');
    expect(redisUnavailableReason(reply('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'))).toBe('refusing-writes');
  });

  it('leaves bugs and bad input alone', () => {
    expect(redisUnavailableReason(reply('ERR wrong number of arguments'))).toBeUndefined();
    expect(redisUnavailableReason(new TypeError('x is undefined'))).toBeUndefined();
    expect(redisUnavailableReason(new Error('the BOOM command is not a thing'))).toBeUndefined();
    expect(redisUnavailableReason('OOM')).toBeUndefined();
    expect(isRedisUnavailable(reply('READONLY x'))).toBe(true);
  });
});
