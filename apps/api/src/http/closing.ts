/**
 * Once the API is stopping, every answer closes its connection (`Connection: close`), the
 * answers of requests in flight at the stop included: a proxy in front then stops reusing
 * pooled connections the API is about to close (a proxy audit: after SIGTERM answers still
 * said keep-alive, and requests sent on them met a closed socket, a 502). Set on express's
 * response prototype, so it costs a response one check and no allocation.
 */
import { ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { StopSignal } from '../services/stop-signal.js';

export function closeConnectionsOnStop(app: Express, stopping: StopSignal): void {
  const writeHead = ServerResponse.prototype.writeHead;
  // Node writes implicit headers (a `write` or `end` without `writeHead`) through `this.writeHead` too.
  Object.defineProperty(app.response, 'writeHead', {
    configurable: true,
    writable: true,
    value: function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      if (stopping.aborted) this.shouldKeepAlive = false;
      return writeHead.apply(this, args);
    },
  });
}
