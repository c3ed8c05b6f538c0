import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { logRedisReturn } from './redis-outage.js';
import type { Logger } from './logger.js';

function recorder(): { log: Logger; lines: [Record<string, unknown>, string][] } {
  const lines: [Record<string, unknown>, string][] = [];
  return { log: { info: (o: Record<string, unknown>, m: string) => lines.push([o, m]) } as unknown as Logger, lines };
}

describe('logRedisReturn', () => {
  it('logs once when a lost connection is ready again, with how long it was down and the errors met', () => {
    let t = 1_000;
    const client = new EventEmitter();
    const { log, lines } = recorder();
    logRedisReturn(client, log, 'api', () => t);
    client.emit('ready'); // the first connect is no return
    expect(lines).toHaveLength(0);
    client.emit('reconnecting');
    t = 1_500;
    client.emit('error', new Error('connect ECONNREFUSED'));
    client.emit('reconnecting');
    client.emit('error', new Error('connect ECONNREFUSED'));
    t = 4_250;
    client.emit('ready');
    client.emit('ready');
    expect(lines).toEqual([[{ connection: 'api', down_ms: 3_250, errors: 2 }, 'Redis reachable again']]);
  });

  it('counts each outage apart', () => {
    let t = 0;
    const client = new EventEmitter();
    const { log, lines } = recorder();
    logRedisReturn(client, log, 'w:control', () => t);
    client.emit('error', new Error('READONLY')); // a refused command while connected is no outage
    client.emit('reconnecting');
    t = 100;
    client.emit('ready');
    client.emit('reconnecting');
    t = 300;
    client.emit('ready');
    expect(lines.map(([o]) => [o['down_ms'], o['errors']])).toEqual([[100, 0], [200, 0]]);
  });
});
