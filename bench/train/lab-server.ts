/**
 * The server side of the training lab, run inside its network namespace by
 * lab.ts (`node lab-server.js HOST PORT`): web pages with a stylesheet and an
 * API call (page loads), downloads of any size (`/download?bytes=N`), a login
 * form that refuses every password but one (`POST /login`, the brute-force
 * target) and a naive item page (`/item?id=`, the sqlmap target). It echoes
 * nothing back and executes nothing.
 */
import http from 'node:http';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const ITEMS = ['red shoes', 'blue hat', 'green scarf', 'black coat'];

function download(res: http.ServerResponse, bytes: number): void {
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(bytes));
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function serve(host: string, port: number): void {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://lab');
      if (url.pathname === '/download') return download(res, Math.min(Number(url.searchParams.get('bytes')) || 0, 200_000_000));
      if (url.pathname === '/login' && req.method === 'POST') {
        const ok = Buffer.concat(chunks).toString().includes('password=letmein');
        res.statusCode = ok ? 200 : 401;
        return res.end(ok ? '<html><body>welcome</body></html>' : '<html><body>wrong user or password</body></html>');
      }
      if (url.pathname === '/item') {
        // As a naive shop pasting id into SQL would answer: the number picks the item and every "AND a=b" must hold (a true/false signal for sqlmap).
        const id = url.searchParams.get('id') ?? '';
        const m = /^(\d+)(?:$|[\s)'"])/.exec(id); // '1abc' is no item: no integer casting
        const holds = [...id.matchAll(/AND\s+\(?(\d+)=(\d+)/gi)].every((c) => c[1] === c[2]);
        const item = m && holds ? ITEMS[Number(m[1]) - 1] : undefined;
        return res.end(item ? `<html><body><h1>Item</h1><p>${item}</p></body></html>` : '<html><body>no such item</body></html>');
      }
      if (url.pathname.startsWith('/api/')) {
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify({ ok: true, items: ITEMS }));
      }
      if (url.pathname.endsWith('.css')) return res.end('body { font-family: sans-serif; }\n'.repeat(40));
      res.setHeader('Content-Type', 'text/html');
      res.end(`<html><head><link rel="stylesheet" href="/static/site.css"></head><body>${'<p>lab page</p>'.repeat(20 + (url.pathname.length % 50))}</body></html>`);
    });
  });
  server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) serve(process.argv[2], Number(process.argv[3]));
