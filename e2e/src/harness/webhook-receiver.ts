/**
 * A real HTTP webhook receiver for tests: records every request (raw body, headers, arrival
 * time) and answers as the test says — a status (with headers), or never (`'hang'`). It can
 * start on a port chosen beforehand, so a test can give out a URL while nothing listens there.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { eventually } from './eventually.js';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  /** the raw body, as received */
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

const flat = (h: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v ?? '']));

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** decides each answer; `n` = how many requests with this webhook-id came before */
  answer: (r: Received, n: number) => Answer = () => ({ status: 200 });
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly host: string) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = flat(req.headers);
        const r: Received = {
          id: headers['webhook-id'] ?? '', timestamp: headers['webhook-timestamp'] ?? '', signature: headers['webhook-signature'] ?? '',
          headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(),
        };
        const n = this.byId(r.id).length;
        this.received.push(r);
        const a = this.answer(r, n);
        if (a !== 'hang') res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Listens on `host` (default loopback; another address for senders in other network namespaces). */
  static async start(port = 0, host = '127.0.0.1'): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(host);
    await new Promise<void>((resolve, reject) => {
      r.server.once('error', reject);
      r.server.listen(port, host, () => resolve());
    });
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://${this.host}:${this.port}/hook`;
  }

  /** Requests carrying this webhook-id, in arrival order. */
  byId(id: string): Received[] {
    return this.received.filter((r) => r.id === id);
  }

  /** Resolves when `done(received)` holds; rejects after `ms`. */
  until(done: (received: Received[]) => boolean, ms = 20_000, what = 'webhooks'): Promise<Received[]> {
    return eventually(async () => this.received, done, {
      ms, every: 25, what,
      context: () => `got ${this.received.length}: ${this.received.map((r) => r.id).join(', ')}`,
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
