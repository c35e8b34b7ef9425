/**
 * List refresh against a real HTTP server on loopback, started here: a
 * conditional request answered 304, a 500, an answer that never completes, a
 * body cut short of its Content-Length, an HTML page, a list that shrank to
 * 1 % and one over the size cap. After each failure the good copy is still
 * in use and still the cached copy a restart loads (with the server gone:
 * offline). Then a real update replaces both.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { ReputationList, type ListSource } from '../../../lib/net/reputation/list';

const entries = (n: number, third = 0): string => Array.from({ length: n }, (_, i) => `198.51.${third + (i >> 8)}.${i & 255}`).join('\n');
const GOOD = `# test list v1\n${entries(1000)}\n`;
const NEWER = `# test list v2\n${entries(900, 10)}\n`;

/** What the server answers next, and the requests it saw. */
let mode: 'good' | 'newer' | '500' | 'hang' | 'truncated' | 'html' | 'shrunk' | 'huge' = 'good';
const seen: { ifNoneMatch?: string }[] = [];
const sockets = new Set<Socket>();
let server: http.Server;
let url = '';
let dir = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ips-rep-'));
  server = http.createServer((req, res) => {
    seen.push({ ifNoneMatch: req.headers['if-none-match'] });
    const etag = mode === 'newer' ? '"v2"' : '"v1"';
    if ((mode === 'good' || mode === 'newer') && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    switch (mode) {
      case 'good': return void res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(GOOD);
      case 'newer': return void res.writeHead(200, { etag }).end(NEWER);
      case '500': return void res.writeHead(500).end('oops');
      case 'hang': return void res.writeHead(200, { 'content-length': '100000' }).write('198.51.100.1\n'); // never ends
      case 'truncated':
        res.writeHead(200, { 'content-length': String(GOOD.length) });
        res.write(GOOD.slice(0, 2000));
        setImmediate(() => res.socket?.destroy());
        return;
      case 'html': return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>\n<head><title>Maintenance</title></head>\n<body>back soon</body>\n</html>\n');
      case 'shrunk': return void res.writeHead(200, { etag: '"v3"' }).end(`# ten left\n${entries(10)}\n`);
      case 'huge': return void res.writeHead(200).end(`${entries(1000)}\n`.repeat(50));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list.txt`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

const limits = { timeoutMs: 1500, maxBytes: 200_000 };
const rules = { maxBadPercent: 10, minKeepPercent: 20 };

describe('list refresh over HTTP', () => {
  let source: ListSource;
  let list: ReputationList;

  it('downloads, caches, and asks again with If-None-Match: a 304 keeps the copy', async () => {
    source = { name: 'test', url, format: 'auto', category: 'c2', severity: 'high', refreshS: 0 };
    list = new ReputationList(source, dir);
    assert.equal(await list.loadCache(), false, 'nothing cached yet');
    const first = await list.refresh(limits, rules);
    assert.equal(first.result, 'updated', first.reason);
    assert.equal(list.set.size, 1000);
    assert.ok(list.set.has('198.51.0.7'));
    const second = await list.refresh(limits, rules);
    assert.equal(second.result, 'unchanged');
    assert.equal(seen.at(-1)?.ifNoneMatch, '"v1"');
    assert.equal(list.set.size, 1000);
  });

  const failures: Array<[typeof mode, RegExp]> = [
    ['500', /HTTP 500/],
    ['hang', /no complete answer within 1.5 s/],
    ['truncated', /truncated/],
    ['html', /no entries in the download \(4 unreadable lines, e.g. '<html>'\)/],
    ['shrunk', /shrank from 1000 to 10 entries \(1\.0 %, under the 20 % floor\)/],
    ['huge', /over the 200000-byte cap|passed the 200000-byte cap/],
  ];
  for (const [what, why] of failures) {
    it(`a ${what} answer never replaces the good copy, in memory or on disk, and says why`, async () => {
      mode = what;
      const outcome = await list.refresh(limits, rules);
      assert.match(outcome.result, /failed|refused/);
      assert.match(outcome.reason, why);
      assert.match(outcome.reason, /keeping the good copy \(1000 entries\)/);
      assert.equal(list.set.size, 1000);
      assert.ok(list.set.has('198.51.3.231'));
      // A restart now (the server no longer needed) loads the good copy.
      const restarted = new ReputationList(source, dir);
      assert.equal(await restarted.loadCache(), true);
      assert.equal(restarted.set.size, 1000);
    });
  }

  it('a mostly unreadable download is refused by the unreadable-lines threshold', async () => {
    mode = 'good';
    const outcome = await list.refresh(limits, { maxBadPercent: 10, minKeepPercent: 20 });
    assert.equal(outcome.result, 'unchanged');
    // 20 % of the lines of a copy with junk: refused with the count.
    fs.writeFileSync(path.join(dir, 'junk.txt'), `${entries(800)}\n${'garbage line\n'.repeat(200)}`);
    const fileList = new ReputationList({ ...source, name: 'junk', url: path.join(dir, 'junk.txt') }, dir);
    const refused = await fileList.refresh(limits, rules);
    assert.equal(refused.result, 'refused');
    assert.match(refused.reason, /200 of 1000 lines unreadable \(over 10 %\), e.g. 'garbage line'; no good copy yet/);
    assert.equal(fileList.set.size, 0);
  });

  it('a real update replaces the copy and the cache; the server going away leaves the cache working', async () => {
    mode = 'newer';
    const outcome = await list.refresh(limits, rules);
    assert.equal(outcome.result, 'updated', outcome.reason);
    assert.equal(list.set.size, 900);
    assert.equal(list.set.has('198.51.0.7'), false);
    assert.ok(list.set.has('198.51.10.7'));
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    const offline = new ReputationList(source, dir);
    assert.equal(await offline.loadCache(), true);
    assert.equal(offline.set.size, 900);
    const refresh = await offline.refresh(limits, rules);
    assert.equal(refresh.result, 'failed');
    assert.match(refresh.reason, /ECONNREFUSED.*keeping the good copy \(900 entries\)/);
    assert.equal(offline.set.size, 900);
    server.listen(0); // so after() can close it again
  });
});
