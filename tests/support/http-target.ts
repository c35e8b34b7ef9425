/**
 * A small HTTP server for traffic tests, run inside a network namespace:
 * `startHttpTarget(ns, host, port)` spawns this file's main there. It answers
 * every request with a short page (the item page varies with `id`, so tools
 * like sqlmap see a dynamic parameter; /files/ gives a 2 MB download) and
 * reads request bodies fully.
 * It is a target only: it echoes nothing back and executes nothing.
 */
import http from 'node:http';
import readline from 'node:readline';
import type { Netns } from './netns';

const ITEMS = ['red shoes', 'blue hat', 'green scarf', 'black coat'];

/**
 * The item for an `id` as a naive shop pasting it into SQL would find it: the
 * leading number picks the item, and any "AND a=b" comparisons after it must
 * all hold. This gives boolean-based injection tools a true/false signal to
 * work with, so they go on to send their full set of payloads.
 */
function lookup(id: string): string | null {
  // A number, then nothing or SQL-ish text (so "1abc" is no item, unlike integer casting).
  const m = /^(\d+)(?:$|[\s)'"])/.exec(id);
  if (!m) return null;
  const n = Number(m[1]);
  if (n < 1 || n > ITEMS.length) return null;
  for (const c of id.slice(m[1].length).matchAll(/\bAND\s+\(?(\d+)=(\d+)/gi)) {
    if (c[1] !== c[2]) return null;
  }
  return ITEMS[n - 1];
}

function serve(host: string, port: number): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://target');
      let body: string;
      if (url.pathname === '/item') {
        const id = url.searchParams.get('id') ?? '';
        const item = lookup(id);
        body = item ? `<html><body><h1>Item ${id}</h1><p>${item}</p></body></html>` : '<html><body><p>no such item</p></body></html>';
      } else if (url.pathname.startsWith('/files/')) {
        // A download: bytes that look like a compressed file (deterministic, 2 MB unless ?size= says otherwise).
        const size = Math.min(Number(url.searchParams.get('size') ?? 2_000_000) || 0, 50_000_000);
        const data = Buffer.alloc(size);
        let x = 12345;
        for (let i = 0; i < size; i++) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          data[i] = x >>> 16;
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(data);
        return;
      } else if (url.pathname.startsWith('/api/')) {
        res.setHeader('Content-Type', 'application/json');
        body = JSON.stringify({ ok: true, items: ITEMS.length });
      } else {
        body = `<html><head><link rel="stylesheet" href="/static/site.css"></head><body><p>page ${url.pathname.length}</p></body></html>`;
      }
      if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/html');
      res.end(body);
    });
  });
  server.listen(port, host, () => {
    process.stdout.write(`listening ${host}:${port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Start the server inside `ns` on host:port; resolves once it listens. Killed by the Lab's cleanup. */
export function startHttpTarget(ns: Netns, host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const child = ns.spawn(process.execPath, [__filename, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`HTTP target did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`HTTP target exited (${code}): ${stderr}`));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('listening ')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

if (require.main === module) {
  const [host, port] = process.argv.slice(2);
  const n = Number(port);
  if (!host || !Number.isInteger(n) || n < 1 || n > 65535) {
    process.stderr.write('usage: http-target <host> <port>\n');
    process.exit(2);
  }
  serve(host, n);
}
