/** The harness's MONITOR reader: lines parsed, and no line read after stop (ioredis threw there). */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { monitorRedis, parseMonitorLine } from '../src/harness/index.js';

describe('MONITOR lines', () => {
  it('parse the time, the source and escaped arguments', () => {
    expect(parseMonitorLine('+1796449731.878654 [0 lua] "SET" "maas:{q}:stalled-check" "1796" "PX" "1500"')).toEqual({
      time: '1796449731.878654',
      source: 'lua',
      args: ['SET', 'maas:{q}:stalled-check', '1796', 'PX', '1500'],
    });
    expect(parseMonitorLine('+1.5 [3 127.0.0.1:6000] "hset" "k" "a \\"b\\" \\\\ \\r\\n" "\\x00\\xff" ""')).toEqual({
      time: '1.5',
      source: '127.0.0.1:6000',
      args: ['hset', 'k', 'a "b" \\ \r\n', '\x00\xff', ''],
    });
    expect(parseMonitorLine('+2.0 [0 [::1]:6001] "get" "a]b"')).toEqual({ time: '2.0', source: '[::1]:6001', args: ['get', 'a]b'] });
    expect(parseMonitorLine('-ERR nope')).toBeUndefined();
  });

  it('stop ends the reading: lines already on their way are not delivered', async () => {
    let peer: Socket | undefined;
    const server = createServer((s) => {
      peer = s;
      s.once('data', () => s.write('+OK\r\n+1.0 [0 lua] "GET" "a"\r\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const seen: string[][] = [];
    try {
      const monitor = await monitorRedis((server.address() as AddressInfo).port, (c) => seen.push(c.args));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([['GET', 'a']]);
      monitor.stop();
      peer!.write('+2.0 [0 lua] "GET" "b"\r\n');
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([['GET', 'a']]);
    } finally {
      peer?.destroy();
      server.close();
    }
  });
});
