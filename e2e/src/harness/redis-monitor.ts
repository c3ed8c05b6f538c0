/**
 * Redis's MONITOR on a connection of its own, read straight off the socket.
 *
 * Not ioredis's `monitor()`: after its `disconnect()` the lines still buffered in the socket reach
 * a connection that is no longer in monitor mode, and ioredis throws "Command queue state error"
 * as an uncaught exception (seen in CI). Here `stop()` destroys the socket: no line is read after.
 */
import { connect } from 'node:net';

export interface MonitoredCommand {
  /** Redis's clock when it ran the command, `seconds.micros`. */
  time: string;
  /** `lua` for a command a script ran, else the client's `ip:port`. */
  source: string;
  /** The command's name and arguments, unescaped (binary bytes as latin1 characters). */
  args: string[];
}

/** Starts MONITOR on Redis at `port`; resolves once Redis has said OK. */
export function monitorRedis(port: number, onCommand: (c: MonitoredCommand) => void): Promise<{ stop(): void }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let pending = '';
    let started = false;
    const stop = () => void socket.destroy();
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('error', (err) => (started ? undefined : reject(err)));
    socket.on('close', () => (started ? undefined : reject(new Error('the connection closed before MONITOR answered'))));
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!started) {
          if (line !== '+OK') {
            socket.destroy();
            return reject(new Error(`MONITOR answered ${line}`));
          }
          started = true;
          resolve({ stop });
          continue;
        }
        const seen = parseMonitorLine(line);
        if (seen) onCommand(seen);
      }
    });
  });
}

/** One MONITOR line: `+1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v\x00"` (or `[0 [::1]:5555]`, `[0 lua]`). */
export function parseMonitorLine(line: string): MonitoredCommand | undefined {
  const head = /^\+(\S+) \[\d+ (.+?)\] (?=")/.exec(line);
  if (!head) return undefined;
  const args: string[] = [];
  let i = head[0].length;
  while (i < line.length) {
    if (line[i] !== '"') {
      i++;
      continue;
    }
    let arg = '';
    for (i++; i < line.length && line[i] !== '"'; i++) {
      if (line[i] !== '\\') {
        arg += line[i];
        continue;
      }
      const e = line[++i];
      if (e === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
        i += 2;
      } else arg += ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[e!] ?? e;
    }
    args.push(arg);
    i++;
  }
  return { time: head[1]!, source: head[2]!, args };
}
