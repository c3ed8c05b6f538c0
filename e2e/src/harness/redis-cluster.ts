/**
 * A three-master Redis Cluster on free ports, for the suite that checks the service runs on
 * a cluster (every key hash-tagged, no command across slots). Built with CLUSTER
 * ADDSLOTSRANGE and MEET, so it needs nothing but redis-server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '@maas/shared';

export interface RedisClusterHandle {
  /** REDIS_URL for the service: one node, `?cluster=true` */
  url: string;
  nodes: RedisServer[];
  stop(): Promise<void>;
}

const SLOTS = 16384;

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-cluster-'));
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    nodes.push(await startRedisServer({
      port,
      extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'],
    }));
  }
  const clients = nodes.map((n) => new Redis(n.url));
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
  return {
    url: `${nodes[0]!.url}?cluster=true`,
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
