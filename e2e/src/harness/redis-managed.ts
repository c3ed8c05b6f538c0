/**
 * A redis-server set up the way a managed Redis service meets its users (AWS ElastiCache, Azure
 * Cache, Redis Cloud, Upstash): TLS only, on a certificate of a private CA that Node does not
 * trust by default; the `default` user off, a named user with a password, and the commands
 * such services refuse (CONFIG, DEBUG, MONITOR, SAVE, SHUTDOWN, REPLICAOF, ACL, ...) denied
 * to that user; an `operator` user with every command, for the tests' own look (ACL LOG). The
 * CAs and the server's certificate are made with openssl in a temporary folder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '@maas/shared';

const run = promisify(execFile);

/** The commands the service's user may not run, as managed services deny them. */
export const MANAGED_DENIED_COMMANDS = [
  'config', 'debug', 'monitor', 'save', 'bgsave', 'bgrewriteaof', 'shutdown', 'replicaof', 'slaveof', 'acl', 'sync', 'psync', 'module', 'failover', 'migrate',
] as const;

export const MANAGED_USER = 'maas';

export interface ManagedRedisHandle {
  /** `rediss://maas:<password, percent-encoded>@127.0.0.1:<tls port>` */
  url: string;
  user: string;
  password: string;
  /** the private CA's certificate (PEM file): what NODE_EXTRA_CA_CERTS names */
  caFile: string;
  /** the CA, for clients of the test process itself (NODE_EXTRA_CA_CERTS is read at start) */
  tls: ConnectionOptions;
  /** a second CA, which signed nothing the server presents */
  otherCaFile: string;
  /** the server (its `url` the one above; restartable after a stop, on the same port and certificates) */
  server: RedisServer;
  /**
   * A client as the provider's own operator, with every command (ACL LOG: what the service's
   * user was refused). Caller disconnects it.
   */
  adminClient(): Redis;
  /** removes the certificates and ACL file (after the server stopped) */
  remove(): Promise<void>;
}

/** A self-signed CA in `dir`, named `name` (`<name>.pem`, `<name>.key`). */
async function makeCa(dir: string, name: string): Promise<void> {
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=maas test ${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)]);
}

export async function startManagedRedis(): Promise<ManagedRedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-managed-redis-'));
  try {
    await makeCa(dir, 'ca');
    await makeCa(dir, 'other-ca');
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr')]);
    await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await run('openssl', ['x509', '-req', '-days', '2', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
      '-CAcreateserial', '-extfile', join(dir, 'server.ext'), '-out', join(dir, 'server.pem')]);
    // with characters a URL must percent-encode, as generated keys have (`/`, `+`, `=`)
    const password = `p@ss/w:r+d=${Math.random().toString(36).slice(2)}`;
    await writeFile(join(dir, 'users.acl'), [
      'user default off',
      `user operator on >${password}-op ~* &* +@all`,
      `user ${MANAGED_USER} on >${password} ~* &* +@all ${MANAGED_DENIED_COMMANDS.map((c) => `-${c}`).join(' ')}`,
      '',
    ].join('\n'));
    // `--port 0` after startRedisServer's `--port`: the last one counts, so no plain-TCP port.
    // A free port can be taken before the server binds it: a few tries, each on a fresh one.
    const start = async (port: number) => ({
      port,
      server: await startRedisServer({
        port,
        extraArgs: [
          '--port', '0', '--tls-port', String(port),
          '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.pem'),
          '--tls-auth-clients', 'no', '--aclfile', join(dir, 'users.acl'),
        ],
      }),
    });
    let started: Awaited<ReturnType<typeof start>> | undefined;
    for (let attempt = 1; !started; attempt++) {
      try {
        started = await start(await freePort());
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    const { port, server } = started;
    const url = `rediss://${MANAGED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    const ca = await readFile(join(dir, 'ca.pem'));
    return {
      url, user: MANAGED_USER, password, caFile: join(dir, 'ca.pem'), otherCaFile: join(dir, 'other-ca.pem'), tls: { ca },
      server: {
        url,
        port,
        get process() {
          return server.process;
        },
        stop: () => server.stop(),
        kill: () => server.kill(),
        restart: () => server.restart(),
      },
      adminClient: () => new Redis({ host: '127.0.0.1', port, tls: { ca }, username: 'operator', password: `${password}-op`, maxRetriesPerRequest: 1 }),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
