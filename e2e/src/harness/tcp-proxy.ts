/**
 * A TCP proxy in the test's process between a service and Redis, to break its link in ways a
 * network does: `hold()` keeps Redis's replies from the client while its commands still go (a
 * half-open link, a proxy that stalls) until `release()`; `cutReply(match)` resets the first
 * connection whose client has sent something `match` accepts, at the next reply Redis sends it,
 * and drops that reply (a reset mid-reply: the command ran, its answer never arrived).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** How much of what each client sent is kept for `cutReply`'s match. */
const SENT_KEPT = 65_536;

export class RedisLinkProxy {
  private holding = false;
  private readonly held: [Socket, Buffer][] = [];
  private readonly sockets = new Set<Socket>();
  private cut: { match: (sent: string) => boolean; done: () => void } | undefined;
  private server!: Server;
  port = 0;

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      let sent = '';
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d: Buffer) => {
        sent = (sent + d.toString('latin1')).slice(-SENT_KEPT);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        const cut = this.cut;
        if (cut && cut.match(sent)) {
          this.cut = undefined;
          client.resetAndDestroy();
          upstream.destroy();
          cut.done();
        } else if (this.holding) this.held.push([client, d]);
        else client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** `url` with its port turned to this proxy's. */
  through(url: string): string {
    const u = new URL(url);
    u.port = String(this.port);
    return u.href;
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const [client, d] of this.held.splice(0)) client.write(d);
  }

  /** Arms a cut (see the top); resolves once it is made. */
  cutReply(match: (sent: string) => boolean): Promise<void> {
    return new Promise((done) => (this.cut = { match, done }));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
