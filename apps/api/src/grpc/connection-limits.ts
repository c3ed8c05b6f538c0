/**
 * What bounds the gRPC port's connections, as the HTTP port's are bounded (main.ts):
 * - one that never begins HTTP/2 (no client preface: a raw TCP socket) is closed after
 *   `prefaceMs`. grpc-js closes idle connections (`grpc.max_connection_idle_ms`) only once they
 *   speak HTTP/2, and Node's HTTP/2 server has no such timeout of its own, so an
 *   unauthenticated client's silent sockets held their descriptors without end (1,000 of them:
 *   32 → 1,232 open files, and a process out of descriptors fails its HTTP port too);
 * - past `maxConnections` open at once (MAX_CONNECTIONS; 0: no cap) a new one is closed as it
 *   opens (Node's `maxConnections`), and `onDrop` is told.
 *
 * grpc-js keeps its HTTP/2 servers in a member its types call private (`http2Servers`): read
 * here, and when a grpc-js release lacks it the limits are off, which `limitConnections` says.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

export interface ConnectionLimits {
  prefaceMs: number;
  maxConnections: number;
  onDrop: () => void;
}

/** Applies `limits` to `server`'s listening HTTP/2 servers; false when grpc-js no longer exposes them. */
export function limitConnections(server: Server, { prefaceMs, maxConnections, onDrop }: ConnectionLimits): boolean {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2 of servers.keys()) {
    if (maxConnections > 0) {
      http2.maxConnections = maxConnections;
      http2.on('drop', onDrop);
    }
    http2.on('session', (session: ServerHttp2Session) => {
      const timer = setTimeout(() => session.destroy(), prefaceMs);
      timer.unref();
      session.once('remoteSettings', () => clearTimeout(timer)); // the client's preface (its first SETTINGS)
      session.once('close', () => clearTimeout(timer));
    });
  }
  return servers.size > 0;
}
