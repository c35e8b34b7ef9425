import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HttpDirection, inflateBounded, type HttpBuffers, type HttpUnit } from '../../../../lib/detect/http/parser';
import { normaliseUri } from '../../../../lib/detect/http/uri';

const SETTINGS = { bodyBytes: 1024, inflateBytes: 4096 };

/** A field new in a unit, as text. */
function text(u: HttpUnit | null | undefined, name: keyof HttpBuffers): string | undefined {
  const v = u?.fields[name];
  return v === undefined ? undefined : Buffer.from(v).toString('latin1');
}

/** A field of a unit's context (completed with earlier bytes), as text. */
function ctx(u: HttpUnit | null | undefined, name: keyof HttpBuffers): string | undefined {
  const v = u?.context?.[name];
  return v === undefined ? undefined : Buffer.from(v).toString('latin1');
}

/** Push `chunks` in turn; returns every unit produced, and after each chunk how many. */
function feed(dir: HttpDirection, chunks: (string | Buffer)[], per: number[] = []): HttpUnit[] {
  const out: HttpUnit[] = [];
  for (const c of chunks) {
    const units = dir.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    per.push(units.length);
    out.push(...units);
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
    assert.equal(u.fields['http.request_body'], undefined);
    assert.equal(u.context, null);
  });

  it('reads a Content-Length body split across packets, then the next request on the connection', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const per: number[] = [];
    const units = feed(d, ['POST /login HTTP/1.1\r\nContent-Length: 12\r\n\r\nuser=', 'ann&x', '=1GET /next HTTP/1.1\r\n\r\n'], per);
    // A unit per message a push completed fields of: the body (with its request's header fields as context), then the next request.
    assert.deepEqual(per, [1, 0, 2]);
    assert.equal(text(units[0], 'http.uri'), '/login');
    assert.equal(text(units[1], 'http.request_body'), 'user=ann&x=1');
    assert.equal(text(units[1], 'http.uri'), undefined, 'the URI was new with the first unit');
    assert.equal(ctx(units[1], 'http.uri'), '/login');
    assert.equal(ctx(units[1], 'http.method'), 'POST');
    assert.match(ctx(units[1], 'http.header') ?? '', /^Content-Length: 12/);
    assert.equal(text(units[2], 'http.uri'), '/next');
    assert.equal(units[2].context, null);
  });

  it('gives the header fields and the body in one unit when one push completes both; pipelined requests in separate units', () => {
    const d = new HttpDirection(true, SETTINGS, () => undefined, []);
    const units = feed(d, ['POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\ny=2GET /c HTTP/1.1\r\n\r\n']);
    assert.deepEqual(units.map((u) => [text(u, 'http.uri'), text(u, 'http.request_body'), u.context]), [['/a', 'x=1', null], ['/b', 'y=2', null], ['/c', undefined, null]]);
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
    // The body is given when the cap is reached (here with its headers), not again at its end.
    assert.equal(units.length, 2);
    assert.equal(text(units[0], 'http.uri'), '/u');
    assert.equal(text(units[0], 'http.request_body'), '01234567');
    assert.equal(text(units[1], 'http.uri'), '/after');
    assert.equal(text(units[1], 'http.request_body'), undefined);
  });

  it('gives a body at the cap with its headers as context when the rest of the message never comes (past the stream depth)', () => {
    const d = new HttpDirection(true, { ...SETTINGS, bodyBytes: 8 }, () => undefined, []);
    const units = feed(d, ['POST /upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n', '0123', '4567', '89ab']);
    assert.equal(units.length, 2);
    assert.equal(text(units[1], 'http.request_body'), '01234567');
    assert.equal(ctx(units[1], 'http.uri'), '/upload');
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
    // A message's header fields are kept (charged) until its body ends.
    feed(d, ['POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\n']);
    assert.ok(held > 40, `header fields kept: ${held}`);
    feed(d, ['ab']);
    feed(d, ['cd']);
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
    const end = res.end();
    assert.equal(text(end[0], 'http.response_body'), 'some text');
    assert.equal(ctx(end[0], 'http.stat_code'), '200');
  });
});
