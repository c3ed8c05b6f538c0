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
import { SHIPPED_MODELS } from './model-repo.js';
import { startAndExit } from './process.js';

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
   * user was refused), of the server (a cluster's: of its node on `port`, default its first).
   * Caller disconnects it.
   */
  adminClient(port?: number): Redis;
  /** removes the certificates and ACL file (after the server stopped) */
  remove(): Promise<void>;
}

/** A self-signed CA in `dir`, named `name` (`<name>.pem`, `<name>.key`). */
async function makeCa(dir: string, name: string): Promise<void> {
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=maas test ${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)]);
}

/** What a managed-style Redis presents and lets in: its CAs, its certificate, its users. */
export interface ManagedSetup {
  /** the service's user's password (plain; the URL percent-encodes it) */
  password: string;
  caFile: string;
  otherCaFile: string;
  /** the CA, for clients of the test process itself */
  tls: ConnectionOptions;
  /** redis-server arguments: TLS only on `port`, the certificate, the ACL file */
  serverArgs(port: number): string[];
  /** `rediss://maas:<password, percent-encoded>@host:port` */
  url(host: string, port: number): string;
  /** a client as the operator (every command) of the server on `port` */
  adminClient(port: number): Redis;
}

/**
 * The CAs, a server certificate naming `names` (subjectAltName entries: `IP:127.0.0.1`,
 * `DNS:localhost`) and the ACL file (`aclRules`: more rules for the service's user) in `dir`.
 */
export async function makeManagedSetup(dir: string, names = ['IP:127.0.0.1', 'DNS:localhost'], aclRules: string[] = []): Promise<ManagedSetup> {
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=maas test server', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr')]);
  await writeFile(join(dir, 'server.ext'), `subjectAltName=${names.join(',')}\n`);
  await run('openssl', ['x509', '-req', '-days', '2', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
    '-CAcreateserial', '-extfile', join(dir, 'server.ext'), '-out', join(dir, 'server.pem')]);
  // with characters a URL must percent-encode, as generated keys have (`/`, `+`, `=`)
  const password = `p@ss/w:r+d=${Math.random().toString(36).slice(2)}`;
  await writeFile(join(dir, 'users.acl'), [
    'user default off',
    `user operator on >${password}-op ~* &* +@all`,
    `user ${MANAGED_USER} on >${password} ~* &* +@all ${MANAGED_DENIED_COMMANDS.map((c) => `-${c}`).join(' ')} ${aclRules.join(' ')}`.trimEnd(),
    '',
  ].join('\n'));
  const ca = await readFile(join(dir, 'ca.pem'));
  return {
    password, caFile: join(dir, 'ca.pem'), otherCaFile: join(dir, 'other-ca.pem'), tls: { ca },
    // `--port 0` after startRedisServer's `--port`: the last one counts, so no plain-TCP port.
    serverArgs: (port) => [
      '--port', '0', '--tls-port', String(port),
      '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.pem'),
      '--tls-auth-clients', 'no', '--aclfile', join(dir, 'users.acl'),
    ],
    url: (host, port) => `rediss://${MANAGED_USER}:${encodeURIComponent(password)}@${host}:${port}`,
    adminClient: (port) => new Redis({ host: '127.0.0.1', port, tls: { ca, servername: 'localhost' }, username: 'operator', password: `${password}-op`, maxRetriesPerRequest: 1 }),
  };
}

export async function startManagedRedis(): Promise<ManagedRedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-managed-redis-'));
  try {
    const setup = await makeManagedSetup(dir);
    // A free port can be taken before the server binds it: a few tries, each on a fresh one.
    const start = async (port: number) => ({ port, server: await startRedisServer({ port, extraArgs: setup.serverArgs(port) }) });
    let started: Awaited<ReturnType<typeof start>> | undefined;
    for (let attempt = 1; !started; attempt++) {
      try {
        started = await start(await freePort());
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    const { port, server } = started;
    const url = setup.url('127.0.0.1', port);
    return {
      url, user: MANAGED_USER, password: setup.password, caFile: setup.caFile, otherCaFile: setup.otherCaFile, tls: setup.tls,
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
      adminClient: () => setup.adminClient(port),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The entries of ACL LOG (what was refused, newest first) as objects, read by an operator's client. */
export async function aclLog(admin: Redis): Promise<Record<string, unknown>[]> {
  const refused = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
  return refused.map((e) => Object.fromEntries(Array.from({ length: e.length / 2 }, (_, i) => [e[2 * i], e[2 * i + 1]])));
}

/**
 * Starts a service (API or worker) on `m` with `over` in its environment (undefined: unset),
 * which should refuse to run: its exit code, time to exit and log (`startAndExit`).
 */
export function startAndExitOn(m: ManagedRedisHandle, name: string, entry: string, over: Record<string, string | undefined>): ReturnType<typeof startAndExit> {
  return startAndExit(name, entry, {
    MODEL_REPOSITORY: SHIPPED_MODELS, REDIS_URL: m.url, NODE_EXTRA_CA_CERTS: m.caFile, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1',
    WORKER_MODELS: 'penguins', ...over,
  });
}
