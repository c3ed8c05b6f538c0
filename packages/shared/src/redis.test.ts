import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ARGS_A_COMMAND, bullmqConnectionOptions, connectRedis, isCommandTimeout, isRedisUnavailable, REDIS_COMMAND_TIMEOUT_MS, refusesWrites, RECONNECT_MAX_MS, reconnectDelay, redisOptions, redisUnavailableReason, redisUrlProblem, evictionPolicyProblem, sendInSlices, whileRefused, withoutCredentials } from './redis.js';
import { freePort, startRedisServer } from './redis-server.js';

const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('redisUnavailableReason', () => {
  it('reads a lost or refused connection as unreachable', () => {
    expect(redisUnavailableReason(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe('unreachable');
    expect(redisUnavailableReason(Object.assign(new Error('getaddrinfo ENOTFOUND redis'), { code: 'ENOTFOUND' }))).toBe('unreachable'); // a stopped container's name, gone from Docker's DNS
    expect(redisUnavailableReason(Object.assign(new Error('getaddrinfo EAI_AGAIN redis'), { code: 'EAI_AGAIN' }))).toBe('unreachable');
    expect(redisUnavailableReason(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('unreachable');
    expect(redisUnavailableReason(new Error('Connection is closed.'))).toBe('unreachable');
    // a cluster node restarted and rejoining: MOVED back and forth until ioredis gives up (e2e redis-cluster.tls)
    expect(redisUnavailableReason(new Error('Too many Cluster redirections. Last error: ReplyError: MOVED 6972 127.0.0.1:33285'))).toBe('unreachable');
  });

  it("reads a command unanswered within the API's commandTimeout as silent: not a refused write (what timed out may still be done)", async () => {
    expect(redisUnavailableReason(new Error('Command timed out'))).toBe('silent');
    expect(refusesWrites(new Error('Command timed out'))).toBe(false);
    expect(redisOptions('api').commandTimeout).toBe(REDIS_COMMAND_TIMEOUT_MS);
    expect(redisOptions('worker').commandTimeout).toBeUndefined(); // a worker waits for Redis (BullMQ's blocking fetch)
    // ioredis's own error, from a real redis-server that stops answering.
    const server = await startRedisServer();
    const redis = new Redis(server.url, { ...redisOptions('api'), commandTimeout: 200 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      server.process.kill('SIGSTOP');
      const err = await redis.get('k').catch((e: unknown) => e);
      expect(isCommandTimeout(err)).toBe(true);
      expect(redisUnavailableReason(err)).toBe('silent');
    } finally {
      server.process.kill('SIGCONT');
      redis.disconnect();
      await server.stop();
    }
  });

  it('reads OOM, READONLY and MISCONF replies, bare or from inside a Lua script', () => {
    expect(redisUnavailableReason(reply("OOM command not allowed when used memory > 'maxmemory'."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("ERR Error running script (call to f_1): @user_script:12: -OOM command not allowed when used memory > 'maxmemory'."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("OOM command not allowed when used memory > 'maxmemory'. script: 1c2d, on @user_script:57."))).toBe('out-of-memory');
    expect(redisUnavailableReason(reply("READONLY You can't write against a read only replica."))).toBe('read-only');
    expect(redisUnavailableReason(reply("READONLY You can't write against a read only replica. script: ab, on @user_script:3."))).toBe('read-only');
    expect(redisUnavailableReason(reply('MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'))).toBe('refusing-writes');
  });

  it('reads a MULTI that Redis refused (EXECABORT) by its commands\' errors: out of memory, read-only', async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url);
    try {
      await redis.config('SET', 'maxmemory', '1');
      const oom = await redis.multi().hset('h', 'a', '1').hset('h', 'b', '2').exec().then(() => undefined, (e: Error) => e);
      expect(oom?.message).toMatch(/^EXECABORT/);
      expect(redisUnavailableReason(oom)).toBe('out-of-memory');
      await redis.config('SET', 'maxmemory', '0');
      await redis.replicaof('127.0.0.1', String(await freePort()));
      const readOnly = await redis.multi().zrem('z', 'x').hdel('h', 'a').exec().then(() => undefined, (e: Error) => e);
      expect(redisUnavailableReason(readOnly)).toBe('read-only');
      await redis.replicaof('NO', 'ONE');
      const bug = await redis.multi().hset('h', 'a', '1').call('NOSUCHCOMMAND').exec().then(() => undefined, (e: Error) => e);
      expect(bug?.message).toMatch(/^EXECABORT/);
      expect(redisUnavailableReason(bug)).toBeUndefined();
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it('leaves bugs and bad input alone', () => {
    expect(redisUnavailableReason(reply('ERR wrong number of arguments'))).toBeUndefined();
    expect(redisUnavailableReason(new TypeError('x is undefined'))).toBeUndefined();
    expect(redisUnavailableReason(new Error('the BOOM command is not a thing'))).toBeUndefined();
    expect(redisUnavailableReason('OOM')).toBeUndefined();
    expect(isRedisUnavailable(reply('READONLY x'))).toBe(true);
  });
});

describe('sendInSlices', () => {
  it(`sends ARGS_A_COMMAND items at a time, in order, each after the last answered`, async () => {
    const items = Array.from({ length: 2 * ARGS_A_COMMAND + 5 }, (_, i) => i);
    const sent: number[][] = [];
    let inFlight = 0;
    await sendInSlices(items, async (slice) => {
      expect(inFlight).toBe(0);
      inFlight++;
      await new Promise((r) => setTimeout(r, 1));
      sent.push(slice);
      inFlight--;
    });
    expect(sent.map((s) => s.length)).toEqual([ARGS_A_COMMAND, ARGS_A_COMMAND, 5]);
    expect(sent.flat()).toEqual(items);
    let calls = 0;
    await sendInSlices([], async () => calls++);
    expect(calls).toBe(0);
  });
});

describe('connectRedis', () => {
  it('names the Redis it could not reach, without its credentials, and why', async () => {
    const port = await freePort();
    const err = await connectRedis(`redis://user:s3cret@127.0.0.1:${port}/0`, 'api', 'api').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0 \\(REDIS_URL; connection api\\)`));
    expect(err?.message).not.toMatch(/s3cret/);
    // why, as its cause (logged after the message): not connect()'s own "Connection is closed"
    expect((err?.cause as Error | undefined)?.message).toMatch(/ECONNREFUSED/);
    expect(withoutCredentials('not a url')).toBe('(an unparsable REDIS_URL)');
  });

  it('says why for a cluster too: its node\'s error, not the Cluster client\'s "Failed to refresh slots cache."', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await connectRedis(`redis://127.0.0.1:${port}?cluster=true`, 'api', 'api').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\?cluster=true/);
    expect((err?.cause as Error | undefined)?.message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(3000);
    const server = await startRedisServer();
    try {
      const plain = await connectRedis(`${server.url}?cluster=true`, 'api', 'api').then(() => undefined, (e: Error) => e);
      expect((plain?.cause as Error | undefined)?.message).toMatch(/cluster support disabled/);
    } finally {
      await server.stop();
    }
  });
});

describe('connectRedis against a server that accepts connections and answers nothing (a frozen Redis)', () => {
  it('fails start-up within seconds, saying so, instead of waiting without end', { timeout: 30_000 }, async () => {
    const silent = createServer((socket) => socket.on('data', () => {})); // reads every command, replies to none
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      for (const role of ['api', 'worker'] as const) {
        const t0 = Date.now();
        const err = await connectRedis(`redis://127.0.0.1:${port}`, role, role).then(() => undefined, (e: Error) => e);
        expect(err?.message).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
        expect((err?.cause as Error | undefined)?.message).toMatch(/accepts connections but answers nothing/);
        expect(Date.now() - t0).toBeLessThan(10_000); // a connect check at 5 s, a PING's 2 s
      }
    } finally {
      silent.close();
    }
  });

  it('a Redis that answers connects as before', async () => {
    const server = await startRedisServer();
    try {
      const client = await connectRedis(server.url, 'api', 'api');
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
    } finally {
      await server.stop();
    }
  });
});

describe('redisUrlProblem', () => {
  it('takes redis:// and rediss:// URLs with a host, an optional port and database number, and ?cluster=true', () => {
    for (const u of ['redis://127.0.0.1:6379', 'redis://h', 'redis://h:1/0', 'redis://h/15', 'rediss://user:p%40ss@h:6380/2', 'redis://h:7000?cluster=true', 'redis://h/0?cluster=true', 'redis://[::1]:6379']) {
      expect(redisUrlProblem(u), u).toBeUndefined();
    }
  });

  it('names what is wrong: not a URL, another scheme, no host, a database that is not a number, a database on a cluster', () => {
    expect(redisUrlProblem('127.0.0.1:6379')).toMatch(/must be redis:\/\/host/);
    expect(redisUrlProblem('http://h')).toMatch(/must be redis:\/\/ or rediss/);
    expect(redisUrlProblem('redis://')).toMatch(/names no host/);
    expect(redisUrlProblem('redis:127.0.0.1:7301')).toMatch(/names no host/);
    expect(redisUrlProblem('redis://h/abc')).toMatch(/database "abc"/);
    expect(redisUrlProblem('redis://h/1?cluster=true')).toMatch(/Cluster has database 0 only/);
    // A password with an @ or a : not percent-encoded: say how to write it.
    expect(redisUrlProblem('redis://:p@ss:w/rd+=1@127.0.0.1:6379')).toMatch(/not a URL: a user name or password must have @ : \/ # \? % percent-encoded, as %40/);
    expect(redisUrlProblem(`redis://:${encodeURIComponent('p@ss:w/rd+=1')}@127.0.0.1:6379`)).toBeUndefined();
  });
});

describe('connectRedis with a database the server does not have', () => {
  it('fails start-up with the server\'s refusal instead of going on in database 0', async () => {
    const server = await startRedisServer();
    try {
      const err = await connectRedis(`${server.url}/99`, 'api', 'api').then((c) => (c.disconnect(), undefined), (e: Error) => e);
      expect(err?.message).toMatch(/cannot reach Redis at .*\/99/);
      expect(String((err?.cause as Error | undefined)?.message)).toMatch(/DB index is out of range/);
      const ok = await connectRedis(`${server.url}/3`, 'worker', 'w');
      await ok.set('k', 'v');
      expect(await ok.call('CLIENT', 'INFO')).toMatch(/ db=3 /);
      ok.disconnect();
    } finally {
      await server.stop();
    }
  });
});

describe('reconnectDelay', () => {
  it('doubles from 50 ms up to a second, plus up to 100 ms of jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20, 1000].map((n) => reconnectDelay(n, 0))).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    expect(reconnectDelay(1, 0.999)).toBe(149);
    expect(reconnectDelay(30, 0.5)).toBe(RECONNECT_MAX_MS + 50);
  });

  it('is what every role and BullMQ connection retries with', () => {
    for (const options of [redisOptions('api'), redisOptions('worker'), bullmqConnectionOptions('w')]) {
      const d = options.retryStrategy!(40);
      expect(d).toBeGreaterThanOrEqual(RECONNECT_MAX_MS);
      expect(d).toBeLessThan(RECONNECT_MAX_MS + 100);
    }
  });
});

describe('whileRefused', () => {
  const oom = () => new Error("OOM command not allowed when used memory > 'maxmemory'. script: efd0e32d, on @user_script:12.");
  const noSleep = async () => {};

  it('sends a write again while Redis refuses writes, then answers as the write does', async () => {
    let calls = 0;
    const slept: number[] = [];
    const answer = await whileRefused(async () => {
      if (++calls < 5) throw calls % 2 ? oom() : new Error('READONLY You can\'t write against a read only replica.');
      return 'recorded';
    }, 30_000, async (ms) => void slept.push(ms));
    expect(answer).toBe('recorded');
    expect(slept).toEqual([100, 200, 400, 800]);
  });

  it("throws any other error at once, an unreachable Redis's too (ioredis holds those commands itself)", async () => {
    for (const err of [new Error('ERR wrong number of arguments'), Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })]) {
      let calls = 0;
      await expect(whileRefused(async () => {
        calls++;
        throw err;
      }, 30_000, noSleep)).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('gives up with the refusal once the next wait would pass withinMs', async () => {
    const started = Date.now();
    let calls = 0;
    await expect(whileRefused(async () => {
      calls++;
      throw oom();
    }, 650)).rejects.toThrow(/^OOM command not allowed/);
    // 100 + 200 ms slept, a third wait of 400 would pass 650
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('evictionPolicyProblem', () => {
  it("names a policy that may evict keys, and nothing under noeviction (read from INFO, as a managed Redis allows)", async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url);
    try {
      await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
      expect(await evictionPolicyProblem(redis)).toMatch(/^Redis's maxmemory-policy is allkeys-lru: it may evict jobs.*set maxmemory-policy noeviction/);
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      expect(await evictionPolicyProblem(redis)).toBeUndefined();
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
