/**
 * A web page's origin for browser tests: a small static server on a free loopback port, whose
 * origin (`http://127.0.0.1:<port>`) is another than the API's. `/` answers `page` (HTML);
 * `files` answers other paths (a script a page imports).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  origin: string;
  server: Server;
}

export async function pageServer(page = '<!doctype html><title>front end</title>', files: Record<string, { type: string; body: string }> = {}): Promise<PageServer> {
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file) res.writeHead(200, { 'content-type': file.type }).end(file.body);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
