/**
 * NetnsLab: several "hosts" on one machine, each in its own network namespace, for tests that
 * cut one host off the network. Needs root and iproute2 (`ip netns`); `NetnsLab.unavailable()`
 * says why a test must skip.
 *
 * Layout: a switch namespace holds a bridge; each host namespace has one interface (`eth0`)
 * whose veth peer is a port of that bridge; the test's own namespace joins through one more
 * veth (`gateway` address), so the test reaches every host and every host reaches the test
 * (e.g. a webhook receiver). The bridge lives in its own namespace so that the machine's
 * firewall (Docker's FORWARD drop, br_netfilter) never sees the hosts' traffic.
 *
 * `cut(host)` takes the host's bridge port down: its packets are dropped silently, with no
 * reset, as when a cable is pulled; the host's processes keep running and their connections
 * stay open. `restore(host)` brings the port up, and TCP retransmits what was pending.
 *
 * Names carry the pid of the process that made them (`mnt<pid>-…`), so concurrent runs never
 * collide, and `removeLeftovers()` deletes what an interrupted run (whose process is gone)
 * left behind, killing the processes still inside. `destroy()` does the same for this lab.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ServiceProcess } from './process.js';

const exec = promisify(execFile);
const PREFIX = 'mnt';
const NAME = /^mnt(\d+)-/;

async function ip(...args: string[]): Promise<string> {
  return (await exec('ip', args)).stdout;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Network namespace names, as `ip netns list` gives them ("name (id: 3)" → "name"). */
async function namespaces(): Promise<string[]> {
  return (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

/** Kills the processes inside namespace `ns`, then deletes it (with the veths in it). */
async function removeNamespace(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await ip('netns', 'del', ns).catch(() => {});
}

export class NetnsLab {
  private readonly ports = new Map<string, string>();
  private readonly addresses = new Map<string, string>();

  private constructor(
    /** `mnt<pid>`: every name of this lab starts with it */
    readonly tag: string,
    /** the first three octets of the lab's /24 */
    private readonly net: string,
  ) {}

  /** Why multi-host tests cannot run here (not root, no iproute2, namespaces refused), or null. */
  static async unavailable(): Promise<string | null> {
    if (process.platform !== 'linux') return 'network namespaces need Linux';
    if (process.getuid?.() !== 0) return 'network namespaces need root';
    const probe = `${PREFIX}${process.pid}-probe`;
    try {
      await ip('netns', 'add', probe);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      return e.code === 'ENOENT' ? 'the ip command is missing (apt-get install -y iproute2)' : `ip netns add failed: ${e.stderr?.trim() || e.message}`;
    }
    await ip('netns', 'del', probe);
    return null;
  }

  /** Deletes the namespaces (and so their veths and bridge) of labs whose process is gone. */
  static async removeLeftovers(): Promise<string[]> {
    const stale = (await namespaces()).filter((ns) => {
      const m = NAME.exec(ns);
      return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
    });
    for (const ns of stale) await removeNamespace(ns);
    return stale;
  }

  /** One namespace per host, all on one bridge, addresses 10.231.x.10 and up; the test is .1. */
  static async create(hosts: string[]): Promise<NetnsLab> {
    const tag = `${PREFIX}${process.pid}`;
    const lab = new NetnsLab(tag, await freeSubnet());
    try {
      await lab.build(hosts);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private get switchNs(): string {
    return `${this.tag}-sw`;
  }

  /** The namespace of `host`. */
  ns(host: string): string {
    return `${this.tag}-${host}`;
  }

  /** The address of `host` on the lab's network. */
  address(host: string): string {
    const a = this.addresses.get(host);
    if (!a) throw new Error(`no host ${host} in this lab`);
    return a;
  }

  /** The test's own address on the lab's network (reachable from every host). */
  get gateway(): string {
    return `${this.net}.1`;
  }

  private async build(hosts: string[]): Promise<void> {
    const sw = this.switchNs;
    await ip('netns', 'add', sw);
    await ip('-n', sw, 'link', 'set', 'lo', 'up');
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    for (const [i, host] of hosts.entries()) {
      const ns = this.ns(host);
      const port = `port${i}`;
      await ip('netns', 'add', ns);
      await ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw);
      await ip('-n', sw, 'link', 'set', port, 'master', 'br0', 'up');
      const addr = `${this.net}.${10 + i}`;
      await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      this.ports.set(host, port);
      this.addresses.set(host, addr);
    }
    // The test's end stays in its namespace; it goes when the switch namespace is deleted.
    const uplink = `${this.tag}-t`;
    await ip('link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', sw);
    await ip('-n', sw, 'link', 'set', 'uplink', 'master', 'br0', 'up');
    await ip('addr', 'add', `${this.gateway}/24`, 'dev', uplink);
    await ip('link', 'set', uplink, 'up');
  }

  /** Starts `command` inside `host`'s namespace (`ip netns exec` execs it: same pid). */
  spawn(host: string, name: string, command: string, args: string[], env: Record<string, string> = {}): ServiceProcess {
    this.address(host);
    return ServiceProcess.run(name, 'ip', ['netns', 'exec', this.ns(host), command, ...args], env);
  }

  /** Pulls `host`'s cable: its packets are dropped both ways, nothing is reset. */
  async cut(host: string): Promise<void> {
    await ip('-n', this.switchNs, 'link', 'set', this.port(host), 'down');
  }

  /** Plugs `host` back in. */
  async restore(host: string): Promise<void> {
    await ip('-n', this.switchNs, 'link', 'set', this.port(host), 'up');
  }

  private port(host: string): string {
    const p = this.ports.get(host);
    if (!p) throw new Error(`no host ${host} in this lab`);
    return p;
  }

  /** Kills whatever still runs in the lab's namespaces and deletes them all. Safe to call twice. */
  async destroy(): Promise<void> {
    const mine = (await namespaces()).filter((ns) => ns.startsWith(`${this.tag}-`));
    for (const ns of mine) await removeNamespace(ns);
  }
}

/** A 10.231.x.0/24 that no route of this namespace uses yet (x from the pid, so runs differ). */
async function freeSubnet(): Promise<string> {
  const routes = await ip('-4', 'route', 'show', 'table', 'all');
  for (let k = 0; k < 250; k++) {
    const net = `10.231.${((process.pid + k) % 250) + 1}`;
    if (!routes.includes(`${net}.`)) return net;
  }
  throw new Error('no free 10.231.x.0/24 subnet');
}
