import { describe, expect, it } from 'vitest';
import { createLogger, logFormat, throttledErrorLog, type Logger } from './logger.js';

describe('createLogger', () => {
  it('logs at info when LOG_LEVEL is not a level (the config check then reports it), instead of throwing', () => {
    expect(createLogger('t', 'verbose').level).toBe('info');
    expect(createLogger('t', 'warn').level).toBe('warn');
  });

  it('names the level in a JSON line, as log collectors read it', () => {
    const lines: string[] = [];
    const log = createLogger('svc', 'info', { write: (line: string) => void lines.push(line) });
    log.warn({ queue: 'q' }, 'careful');
    log.debug('not written');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([expect.objectContaining({ level: 'warn', service: 'svc', queue: 'q', msg: 'careful' })]);
  });

  it("logs a refused AUTH or HELLO (ioredis's error.command, also in previousErrors) without its arguments: they hold the password", () => {
    const lines: string[] = [];
    const log = createLogger('svc', 'info', { write: (line: string) => void lines.push(line) });
    const hello = { name: 'hello', args: ['3', 'AUTH', 'maas', 'pw-secret'] };
    const refused = () => Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), { command: { ...hello } });
    const err = Object.assign(refused(), { previousErrors: [refused(), Object.assign(new Error('x'), { command: { name: 'auth', args: ['pw-secret'] } })] });
    const other = Object.assign(new Error('ERR wrong kind'), { command: { name: 'hget', args: ['k', 'f'] } });
    log.error({ err }, 'heartbeat failed');
    log.error({ err: other }, 'other');
    expect(lines[0]).not.toContain('pw-secret');
    const logged = JSON.parse(lines[0]!) as { err: { message: string; command: unknown; previousErrors: { command: unknown }[] } };
    expect(logged.err.message).toMatch(/^WRONGPASS/);
    expect(logged.err.command).toEqual({ name: 'hello', args: '[redacted]' });
    expect(logged.err.previousErrors.map((e) => e.command)).toEqual([{ name: 'hello', args: '[redacted]' }, { name: 'auth', args: '[redacted]' }]);
    expect(err.command.args).toEqual(hello.args); // the error itself is left as it was
    expect((JSON.parse(lines[1]!) as { err: { command: unknown } }).err.command).toEqual({ name: 'hget', args: ['k', 'f'] });
  });

  it('finds a Redis command in errors within errors (a cluster\'s lastNodeError, an AggregateError), and never throws', () => {
    const lines: string[] = [];
    const log = createLogger('svc', 'info', { write: (line: string) => void lines.push(line) });
    const refused = () => Object.assign(new Error('WRONGPASS'), { command: { name: 'hello', args: ['3', 'AUTH', 'maas', 'pw-secret'] } });
    log.error({ err: Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: refused() }) }, 'cluster');
    log.error({ err: new AggregateError([refused(), refused()], 'all failed') }, 'aggregate');
    const hostile = Object.assign(new Error('odd'), { command: { name: 'evalsha', args: ['sha', { valueOf: () => { throw new Error('no'); } }] } });
    log.error({ err: hostile }, 'odd');
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toContain('pw-secret');
    expect((JSON.parse(lines[2]!) as { err: { message: string } }).err.message).toBe('odd');
  });

  it("logs a failed script's keys, not its data; other commands' arguments cut short, bytes as their size", () => {
    const lines: string[] = [];
    const log = createLogger('svc', 'info', { write: (line: string) => void lines.push(line) });
    const data = JSON.stringify({ inputs: [{ name: 'features', data: [39.1, 18.7] }], metadata: { patient: 'Ada' } });
    const failed = (name: string, args: unknown[]) => Object.assign(new Error('Connection is closed.'), { command: { name, args } });
    log.error({ err: failed('evalsha', ['a1b2', '2', 'maas:{q}:wait', 'maas:{q}:meta', data, '17']) }, 'add failed');
    log.error({ err: failed('set', ['maas:{q}:j1:payload', Buffer.alloc(4096), 'EX', '60']) }, 'set failed');
    log.error({ err: failed('hset', ['k', 'x'.repeat(500), ...Array.from({ length: 20 }, (_, i) => `f${i}`)]) }, 'hset failed');
    expect(lines.join('\n')).not.toContain('Ada');
    const commands = lines.map((l) => (JSON.parse(l) as { err: { command: unknown } }).err.command);
    expect(commands[0]).toEqual({ name: 'evalsha', args: ['a1b2', '2', 'maas:{q}:wait', 'maas:{q}:meta', '[2 more]'] });
    expect(commands[1]).toEqual({ name: 'set', args: ['maas:{q}:j1:payload', '<4096 bytes>', 'EX', '60'] });
    expect(commands[2]).toEqual({ name: 'hset', args: ['k', `${'x'.repeat(80)}… (500 characters)`, 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', '[14 more]'] });
  });
});

describe('logFormat', () => {
  it('is pretty on a terminal, JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
    expect(logFormat('xml', false)).toBe('json');
  });
});

describe('throttledErrorLog', () => {
  it('logs the first of a message, counts repeats within the period, logs the next after it with the count', () => {
    const lines: [string, Record<string, unknown>, string][] = [];
    const log = {
      warn: (o: Record<string, unknown>, m: string) => lines.push(['warn', o, m]),
      error: (o: Record<string, unknown>, m: string) => lines.push(['error', o, m]),
    } as unknown as Logger;
    let t = 0;
    const report = throttledErrorLog(log, 'worker error', 10_000, () => t);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
    for (; t < 5000; t += 100) report(refused); // 50 in 5 s
    const bug = new Error('something else');
    report(bug);
    t = 10_000;
    report(refused);
    expect(lines).toEqual([
      ['warn', { err: 'connect ECONNREFUSED 127.0.0.1:6390' }, 'worker error'], // an outage: a warning, no stack
      ['error', { err: bug }, 'worker error'],
      ['warn', { err: 'connect ECONNREFUSED 127.0.0.1:6390', repeats: 49 }, 'worker error'],
    ]);
  });

  it('a lost lock is a warning without a stack, naming its job (a frozen worker woke to 33 error lines with stacks: audit F)', () => {
    const lines: [string, Record<string, unknown>, string][] = [];
    const log = { warn: (o: Record<string, unknown>, m: string) => lines.push(['warn', o, m]), error: (o: Record<string, unknown>, m: string) => lines.push(['error', o, m]) } as unknown as Logger;
    const report = throttledErrorLog(log, 'worker error', 10_000, () => 0);
    for (const id of ['job_a', 'job_b']) report(new Error(`Missing lock for job ${id}. moveToFinished`));
    report(new Error('could not renew lock for job job_d'));
    expect(lines.map(([level, o]) => [level, o])).toEqual([
      ['warn', { err: 'Missing lock for job job_a. moveToFinished' }],
      ['warn', { err: 'Missing lock for job job_b. moveToFinished' }],
      ['warn', { err: 'could not renew lock for job job_d' }],
    ]);
    expect(lines[0]![2]).toMatch(/^worker error: a job this worker held was no longer its own: taken back .* or already ended by the same command, sent again after a reconnect/);
  });
});
