/**
 * A connection to the gRPC port that never begins HTTP/2 (no client preface: a raw TCP socket)
 * is closed after `ms`. grpc-js closes idle connections (`grpc.max_connection_idle_ms`) only once
 * they speak HTTP/2, and Node's HTTP/2 server has no such timeout of its own, so an
 * unauthenticated client's silent sockets held their descriptors without end (1,000 of them:
 * 32 → 1,232 open files, and a process out of descriptors fails its HTTP port too).
 *
 * grpc-js keeps its HTTP/2 servers in a member its types call private (`http2Servers`): read
 * here, and when a grpc-js release lacks it the guard is off, which `attachPrefaceDeadline` says.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** Closes `server`'s connections whose client preface has not come within `ms`; false when grpc-js no longer exposes its HTTP/2 servers. */
export function attachPrefaceDeadline(server: Server, ms: number): boolean {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2 of servers.keys()) {
    http2.on('session', (session: ServerHttp2Session) => {
      const timer = setTimeout(() => session.destroy(), ms);
      timer.unref();
      session.once('remoteSettings', () => clearTimeout(timer)); // the client's preface (its first SETTINGS)
      session.once('close', () => clearTimeout(timer));
    });
  }
  return servers.size > 0;
}
