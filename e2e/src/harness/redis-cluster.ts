/**
 * A three-master Redis Cluster on free ports, for the suites that check the service runs on
 * a cluster (every key hash-tagged, no command across slots). Built with CLUSTER
 * ADDSLOTSRANGE and MEET, so it needs nothing but redis-server. `managed`: every node as
 * redis-managed.ts sets one up (TLS only, the cluster bus too; the default user off; the admin
 * commands and CLUSTER's but its reading subcommands denied), its certificate naming only
 * `localhost` while the nodes announce 127.0.0.1, as a managed cluster's certificates name its
 * endpoint's host and not the node addresses it announces (ElastiCache, Azure).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '@maas/shared';
import { makeManagedSetup, MANAGED_USER, type ManagedRedisHandle } from './redis-managed.js';

export interface RedisClusterHandle {
  /** REDIS_URL for the service: one node, `?cluster=true` */
  url: string;
  nodes: RedisServer[];
  /** a managed-style cluster's user, CA and operator client (the operator's on the first node) */
  managed?: ManagedRedisHandle;
  stop(): Promise<void>;
}

const SLOTS = 16384;

/** What a managed cluster lets its users run of CLUSTER: reading the layout, not changing it. */
export const MANAGED_CLUSTER_ACL = ['-cluster', '+cluster|slots', '+cluster|shards', '+cluster|nodes', '+cluster|info', '+cluster|myid', '+cluster|keyslot'];

/** `dataDir`: each node keeps an append-only file in a folder of its own under it (a node restarted comes back with its data). */
export async function startRedisCluster(masters = 3, opts: { managed?: boolean; dataDir?: string } = {}): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const setup = opts.managed ? await makeManagedSetup(dir, ['DNS:localhost'], MANAGED_CLUSTER_ACL) : undefined;
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      nodes.push(await startRedisServer({
        port,
        ...(opts.dataDir ? { dir: join(opts.dataDir, `node-${port}`) } : {}),
        extraArgs: [
          '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000',
          // (the bus on TLS too; `-::1`: `localhost` may be ::1 first)
          ...(setup ? [...setup.serverArgs(port), '--tls-cluster', 'yes', '--tls-replication', 'yes', '--bind', '127.0.0.1', '-::1'] : []),
        ],
      }));
    }
    const clients = nodes.map((n) => (setup ? setup.adminClient(n.port) : new Redis(n.url)));
    try {
      const per = Math.ceil(SLOTS / masters);
      for (let i = 0; i < masters; i++) {
        await clients[i]!.call('CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(SLOTS, (i + 1) * per) - 1));
      }
      for (let i = 1; i < masters; i++) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(nodes[i]!.port));
      const deadline = Date.now() + 20_000;
      for (;;) {
        const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
        if (infos.every((info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}`).test(info))) break;
        if (Date.now() > deadline) throw new Error(`cluster not ready:\n${infos.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      for (const c of clients) c.disconnect();
    }
    if (!setup) return { url: `${nodes[0]!.url}?cluster=true`, nodes, stop };
    const url = `${setup.url('localhost', nodes[0]!.port)}?cluster=true`;
    return {
      url,
      nodes,
      managed: {
        url, user: MANAGED_USER, password: setup.password, caFile: setup.caFile, otherCaFile: setup.otherCaFile, tls: setup.tls,
        server: nodes[0]!, // (its url is plain redis://: the URL is `url`)
        adminClient: (port = nodes[0]!.port) => setup.adminClient(port),
        remove: async () => {}, // stop() removes the folder
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
