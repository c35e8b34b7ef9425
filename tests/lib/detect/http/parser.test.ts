import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HttpDirection, inflateBounded, type HttpBuffers } from '../../../../lib/detect/http/parser';
import { normaliseUri } from '../../../../lib/detect/http/uri';

const SETTINGS = { bodyBytes: 1024, inflateBytes: 4096 };

function text(b: HttpBuffers | null, name: keyof HttpBuffers): string | undefined {
  const v = b?.[name];
  return v === undefined ? undefined : Buffer.from(v).toString('latin1');
}

/** Push `chunks` in turn; returns every unit of fields produced. */
function feed(dir: HttpDirection, chunks: (string | Buffer)[]): HttpBuffers[] {
  const out: HttpBuffers[] = [];
  for (const c of chunks) {
    const f = dir.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    if (f) out.push(f);
  }
  return out;
}

describe('normaliseUri', () => {
  for (const [raw, want] of [
    ['/a/./b//c/../d', '/a/b/d'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/files/%2e%2e/%2e%2e/etc/passwd?x=1', '/etc/passwd?x=1'],
    ['/s?q=red+shoes&x=%3Cb%3E', '/s?q=red shoes&x=<b>'],
    ['/a%3Fb?c', '/a?b?c'],
    ['/dir/', '/dir/'],
    ['*', '*'],
  ]) {
    it(`${raw} → ${want}`, () => assert.equal(normaliseUri(Buffer.from(raw, 'latin1')).toString('latin1'), want));
  }
});

describe('HttpDirection (requests)', () => {
  it('gives method, URI raw and normalised, headers, cookie, user agent and host when the header block ends', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const units = feed(d, ['GET /a/../b?q=%27x HTT', 'P/1.1\r\nHost: shop.lan\r\nuser-AGENT: curl/8\r\nCOOKIE: s=1; t=2\r\n', '\r\n']);
    assert.equal(units.length, 1, 'one unit, when the block ends');
    const u = units[0];
    assert.equal(text(u, 'http.method'), 'GET');
    assert.equal(text(u, 'http.uri.raw'), '/a/../b?q=%27x');
    assert.equal(text(u, 'http.uri'), "/b?q='x");
    assert.equal(text(u, 'http.host'), 'shop.lan');
    assert.equal(text(u, 'http.user_agent'), 'curl/8');
    assert.equal(text(u, 'http.cookie'), 's=1; t=2');
    assert.match(text(u, 'http.header') ?? '', /^Host: shop\.lan\r\nuser-AGENT/);
    assert.equal(u['http.request_body'], undefined);
  });

  it('reads a Content-Length body split across packets, then the next request on the connection', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const units = feed(d, ['POST /login HTTP/1.1\r\nContent-Length: 12\r\n\r\nuser=', 'ann&x', '=1GET /next HTTP/1.1\r\n\r\n']);
    // A unit holds the fields a push completed: the body and the next request's header fields together.
    assert.equal(units.length, 2);
    assert.equal(text(units[0], 'http.uri'), '/login');
    assert.equal(text(units[1], 'http.request_body'), 'user=ann&x=1');
    assert.equal(text(units[1], 'http.uri'), '/next');
  });

  it('de-chunks a chunked body (chunk headers and data split anywhere)', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const units = feed(d, ['POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'lo\r\n', '6;ext=1\r\n world\r', '\n0\r\n', 'X-Trailer: 1\r\n\r\n']);
    assert.equal(text(units.at(-1) ?? null, 'http.request_body'), 'hello world');
  });

  it('decodes a gzip body; caps the decoded size of a compression bomb', () => {
    const body = zlib.gzipSync(Buffer.from("name=x' OR '1'='1"));
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const units = feed(d, [`POST /g HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`, body]);
    assert.equal(text(units.at(-1) ?? null, 'http.request_body'), "name=x' OR '1'='1");
    const bomb = zlib.gzipSync(Buffer.alloc(10_000_000, 0x61));
    const out = inflateBounded(bomb, 'gzip', 4096);
    assert.ok(out !== null && out.length <= 4096 && out.length > 2048, `decoded ${out?.length}`);
    assert.equal(inflateBounded(Buffer.from('not compressed'), 'deflate', 4096), null);
  });

  it('keeps at most bodyBytes of a body, and still finds the next request after it', () => {
    const d = new HttpDirection(true, { ...SETTINGS, bodyBytes: 8 }, () => undefined, []);
    const units = feed(d, ['PUT /u HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789', '0123456789GET /after HTTP/1.1\r\n\r\n']);
    assert.equal(text(units[1], 'http.request_body'), '01234567');
    assert.equal(text(units[1], 'http.uri'), '/after');
  });

  it('leaves a direction that does not start like HTTP alone', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    assert.deepEqual(feed(d, ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'GET / HTTP/1.1\r\n\r\n']), []);
    assert.equal(d.active, false);
  });

  it('charges kept bytes and credits them back', () => {
    let held = 0;
    const d = new HttpDirection(true, SETTINGS, (n) => (held += n), []);
    feed(d, ['GET /long HTTP/1.1\r\nX-A: 1']);
    assert.ok(held > 0);
    feed(d, ['\r\n\r\n']);
    assert.equal(held, 0);
  });
});

describe('HttpDirection (responses)', () => {
  it('gives the status code and a body; a HEAD response and a 304 have no body', () => {
    const heads: boolean[] = [];
    const req = new HttpDirection(true, SETTINGS, () => undefined, heads);
    const res = new HttpDirection(false, SETTINGS, () => undefined, heads);
    feed(req, ['HEAD /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n']);
    const units = feed(res, ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello']);
    assert.deepEqual(units.map((u) => text(u, 'http.stat_code')), ['200', '200']);
    assert.equal(text(units[1], 'http.response_body'), 'hello');
  });

  it('ends a body without length at the end of the connection', () => {
    const res = new HttpDirection(false, SETTINGS, () => undefined, []);
    feed(res, ['HTTP/1.0 200 OK\r\n\r\nsome ', 'text']);
    assert.equal(text(res.end(), 'http.response_body'), 'some text');
  });
});
