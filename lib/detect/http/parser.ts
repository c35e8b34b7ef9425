/**
 * HTTP/1.x requests and responses parsed from one reassembled direction of
 * a TCP connection, incrementally, into the buffers of `inspection.ts`.
 *
 * A direction is taken for HTTP when its first bytes are a request line
 * (`METHOD SP`) or a status line (`HTTP/1.`); otherwise it is left alone for
 * good (no cost after the first packet). Per message (one HTTP
 * transaction's request, or its response), two units at most: the header
 * fields when the header block ends (method, URI raw and normalised, the
 * header block, Cookie, User-Agent, Host, status code), and the body when it
 * ends (Content-Length or chunked; a response without either ends with the
 * connection) or reaches the `bodyBytes` cap. A unit holds the fields of one
 * message that became complete with the bytes pushed, so each field is
 * inspected exactly once; when only the body completes, the unit also
 * carries the message's header fields as `context`, so a rule needing the
 * URI and the body matches once, when the later of them is complete,
 * however the message was segmented. Messages completed by the same push
 * (pipelined requests) are separate units.
 *
 * Bounded: a header block is kept up to 16 KiB (beyond, the fields of the
 * first 16 KiB are given and the direction is no longer parsed), a body up
 * to `bodyBytes` (the rest is skipped, not kept), the header fields of a
 * message until its body ends, a gzip or deflate body is
 * decoded to at most `inflateBytes` (a compression bomb stops there). Every
 * kept byte is reported through `charge` so the reassembler's memory cap
 * covers it.
 */
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import type { BufferName } from '../payload/inspection';
import { normaliseUri } from './uri';
import { ownCopy } from '../stream/reassembly';

export interface HttpSettings {
  /** Body bytes kept per message (the rest is skipped). */
  bodyBytes: number;
  /** Most bytes a gzip/deflate body decodes to. */
  inflateBytes: number;
}

/** Longest header block parsed. */
export const MAX_HEADER_BYTES = 16 * 1024;

export type HttpBuffers = Partial<Record<BufferName, Uint8Array>>;

/** What a push completed of one message: its new fields, and its fields completed by earlier pushes (null when none). */
export interface HttpUnit {
  fields: HttpBuffers;
  context: HttpBuffers | null;
}

const NO_UNITS: readonly HttpUnit[] = Object.freeze([]);

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HEADER_END = Buffer.from('\r\n\r\n');
const BARE_HEADER_END = Buffer.from('\n\n');
const HTTP1 = Buffer.from('HTTP/1.');

type State = 'start' | 'headers' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'until-close' | 'off';

/** Request line start: 1-16 upper-case letters and a space. */
function isRequestStart(b: Buffer): boolean | null {
  let i = 0;
  while (i < b.length && i < 17 && b[i] >= 0x41 && b[i] <= 0x5a) i++;
  if (i === b.length) return null; // too short to tell yet
  return i >= 1 && i <= 16 && b[i] === SP;
}

function isResponseStart(b: Buffer): boolean | null {
  const n = Math.min(b.length, HTTP1.length);
  if (b.subarray(0, n).compare(HTTP1, 0, n) !== 0) return false;
  return n === HTTP1.length ? true : null;
}

/** A gzip or deflate body decoded to at most `cap` bytes; null when it is not valid compressed data. */
export function inflateBounded(body: Buffer, encoding: 'gzip' | 'deflate', cap: number): Buffer | null {
  const opts = { maxOutputLength: cap, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const run = (input: Buffer, raw: boolean): Buffer => (encoding === 'gzip' ? zlib.gunzipSync(input, opts) : raw ? zlib.inflateRawSync(input, opts) : zlib.inflateSync(input, opts));
  const fits = (input: Buffer, raw: boolean): Buffer | null => {
    try {
      return run(input, raw);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return null;
      throw err;
    }
  };
  // "deflate" is zlib-wrapped by the standard, raw by some servers: try both.
  for (const raw of encoding === 'gzip' ? [false] : [false, true]) {
    try {
      const whole = fits(body, raw);
      if (whole !== null) return whole;
      // Over the cap: the longest prefix of the input whose output fits (binary search, ~17 steps for 64 KiB).
      let lo = 0;
      let hi = body.length;
      let best: Buffer = Buffer.alloc(0);
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        const out = fits(body.subarray(0, mid), raw);
        if (out === null) hi = mid;
        else {
          lo = mid;
          best = out;
        }
      }
      return best;
    } catch {
      // Not valid data of this kind.
    }
  }
  return null;
}

/** The headers the parser reads, lower case, as bytes; HeaderIndex gives their places. */
const WANTED = ['cookie', 'user-agent', 'host', 'set-cookie', 'content-encoding', 'transfer-encoding', 'content-length'].map((n) => Buffer.from(n, 'latin1'));
const COOKIE = 0;
const USER_AGENT = 1;
const HOST = 2;
const SET_COOKIE = 3;
const CONTENT_ENCODING = 4;
const TRANSFER_ENCODING = 5;
const CONTENT_LENGTH = 6;

/** Bytes String.prototype.trim removes within latin1: tab, LF, VT, FF, CR, space, no-break space. */
function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0;
}

/** Whether block[start, end) equals `name` (lower case ASCII) ignoring ASCII case. */
function nameIs(block: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    const c = block[start + k];
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== name[k]) return false;
  }
  return true;
}

/**
 * The value ranges of the WANTED headers in a header block (the lines
 * after the request or status line), in one pass: for each, the first
 * line whose name (trimmed, any case) is it, and its value trimmed, as
 * [start, end) pairs in `out` (-1 when absent). It was one scan of the
 * block's text per header, slicing, trimming and lower-casing every line's
 * name each time: 7 scans and about 100 strings a request.
 */
function findHeaders(block: Buffer, out: Int32Array): void {
  out.fill(-1);
  let from = 0;
  const n = block.length;
  while (from < n) {
    let eol = block.indexOf(LF, from);
    if (eol < 0) eol = n;
    // The first colon after the line's start, on this line.
    let colon = from;
    while (colon < eol && block[colon] !== 0x3a) colon++;
    if (colon > from && colon < eol) {
      let ns = from;
      let ne = colon;
      while (ns < ne && isTrimmed(block[ns])) ns++;
      while (ne > ns && isTrimmed(block[ne - 1])) ne--;
      for (let h = 0; h < WANTED.length; h++) {
        if (out[2 * h] >= 0 || !nameIs(block, ns, ne, WANTED[h])) continue;
        let vs = colon + 1;
        let ve = eol;
        while (vs < ve && isTrimmed(block[vs])) vs++;
        while (ve > vs && isTrimmed(block[ve - 1])) ve--;
        out[2 * h] = vs;
        out[2 * h + 1] = ve;
        break;
      }
    }
    from = eol + 1;
  }
}

/** One direction of an HTTP connection. */
export class HttpDirection {
  private state: State = 'start';
  /** Header bytes gathered so far, or body bytes kept. */
  private buf: Buffer[] = [];
  private bufLen = 0;
  /** Body bytes still to come (Content-Length or the current chunk). */
  private remaining = 0;
  private encoding: 'gzip' | 'deflate' | null = null;
  /** The chunk-size or trailer line being read. */
  private line = '';
  /** The units of the current push, and the one of the current message in it (both empty between calls: `handOver`). */
  private units: HttpUnit[] = [];
  private cur: HttpUnit | null = null;
  /** The header fields of the current message while its body is still to come (owned copies, charged). */
  private context: HttpBuffers | null = null;
  private contextBytes = 0;
  /** The body of the current message was given (its cap was reached): the rest is skipped. */
  private bodyGiven = false;
  /** Value ranges of the wanted headers of the current message (see findHeaders), reused. */
  private readonly found = new Int32Array(2 * WANTED.length);

  /**
   * @param request true for the client's direction
   * @param heads shared by both directions: per request in flight, whether it was a HEAD (its response has no body)
   */
  constructor(
    private readonly request: boolean,
    private readonly settings: HttpSettings,
    private readonly charge: (bytes: number) => void,
    readonly heads: boolean[],
  ) {}

  /** Whether this direction is still parsed. */
  get active(): boolean {
    return this.state !== 'off';
  }

  /**
   * New in-order bytes of this direction. Returns a unit per message whose
   * fields they completed, in order, or an empty array. The fields are views
   * of `data`; the parser keeps no reference to them (see `handOver`).
   */
  push(data: Buffer): readonly HttpUnit[] {
    let at = 0;
    while (at < data.length && this.state !== 'off') at = this.step(data, at);
    return this.handOver();
  }

  /**
   * This call's units, given up: a direction that receives nothing more (a
   * request answered, a connection left idle) must not keep views of the
   * caller's bytes, which from a capture file pin a whole read chunk each
   * (with 9,000 connections on the mixed bench capture: every chunk of the
   * file, 114 MB of a 102 MB file, until the connections were evicted).
   */
  private handOver(): readonly HttpUnit[] {
    this.cur = null;
    if (this.units.length === 0) return NO_UNITS;
    const out = this.units;
    this.units = [];
    return out;
  }

  /** Bytes were lost before the next delivery: resynchronise on the next message start. */
  gap(): void {
    this.dropBuffer();
    this.dropContext();
    this.state = this.state === 'off' ? 'off' : 'start';
  }

  /** The connection ended: a body read until close is complete. Returns its unit as `push` does. */
  end(): readonly HttpUnit[] {
    if (this.state === 'until-close' || ((this.state === 'length' || this.state.startsWith('chunk')) && this.bufLen > 0)) this.finishBody();
    this.dropBuffer();
    this.dropContext();
    this.state = 'off';
    return this.handOver();
  }

  /** A field of the current message: into its unit of this push, made on the first field (with the message's earlier fields as context). */
  private emit(name: BufferName, value: Uint8Array): void {
    let unit = this.cur;
    if (unit === null) {
      unit = { fields: {}, context: this.context };
      this.cur = unit;
      this.units.push(unit);
    }
    unit.fields[name] = value;
  }

  /** The message ended (or was lost): its header fields are no longer needed. */
  private dropContext(): void {
    if (this.contextBytes > 0) this.charge(-this.contextBytes);
    this.context = null;
    this.contextBytes = 0;
    this.bodyGiven = false;
  }

  private keep(bytes: Buffer): void {
    this.buf.push(ownCopy(bytes));
    this.bufLen += bytes.length;
    this.charge(bytes.length);
  }

  private dropBuffer(): void {
    if (this.bufLen > 0) this.charge(-this.bufLen);
    this.buf = [];
    this.bufLen = 0;
  }

  private joined(): Buffer {
    return this.buf.length === 1 ? this.buf[0] : Buffer.concat(this.buf);
  }

  /** Consume from `at`; returns the next offset. */
  private step(data: Buffer, at: number): number {
    switch (this.state) {
      case 'start': {
        // Blank lines between messages are allowed.
        while (at < data.length && (data[at] === CR || data[at] === LF)) at++;
        if (at === data.length) return at;
        // Too short to tell (null) counts as a start: the header block then decides.
        const head = data.subarray(at, at + 17);
        const ok = this.request ? isRequestStart(head) : isResponseStart(head);
        if (ok === false) {
          this.state = 'off';
          return data.length;
        }
        this.state = 'headers';
        return at;
      }
      case 'headers':
        return this.readHeaders(data, at);
      case 'length': {
        const take = Math.min(this.remaining, data.length - at);
        this.keepBody(data.subarray(at, at + take));
        this.remaining -= take;
        if (this.remaining === 0) this.endMessage(true);
        return at + take;
      }
      case 'until-close':
        this.keepBody(data.subarray(at));
        return data.length;
      case 'chunk-size':
      case 'trailers': {
        const eol = data.indexOf(LF, at);
        const end = eol < 0 ? data.length : eol;
        if (this.line.length < 256) this.line += data.toString('latin1', at, Math.min(end, at + 256));
        if (eol < 0) return data.length;
        const line = this.line.trim();
        this.line = '';
        if (this.state === 'trailers') {
          if (line === '') this.endMessage(true);
          return eol + 1;
        }
        const size = parseInt(line.split(';')[0], 16);
        if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]/.test(line)) {
          // Not chunked after all: inspect what was gathered and stop parsing.
          this.finishBody();
          this.dropBuffer();
          this.dropContext();
          this.state = 'off';
          return data.length;
        }
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        return eol + 1;
      }
      case 'chunk-data': {
        const take = Math.min(this.remaining, data.length - at);
        this.keepBody(data.subarray(at, at + take));
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'chunk-crlf';
        return at + take;
      }
      case 'chunk-crlf': {
        // The CRLF after a chunk's data.
        const eol = data.indexOf(LF, at);
        if (eol < 0) return data.length;
        this.state = 'chunk-size';
        return eol + 1;
      }
      default:
        return data.length;
    }
  }

  private readHeaders(data: Buffer, at: number): number {
    // Search the gathered bytes and the new ones together, from a little before the join.
    const prev = this.bufLen;
    const room = MAX_HEADER_BYTES - prev;
    const part = data.subarray(at, at + Math.max(0, room));
    const all = prev > 0 ? Buffer.concat([this.joined(), part]) : part;
    const from = Math.max(0, prev - 3);
    let end = all.indexOf(HEADER_END, from);
    let endLen = 4;
    if (end < 0) {
      end = all.indexOf(BARE_HEADER_END, from);
      endLen = 2;
    }
    if (end < 0) {
      if (all.length >= MAX_HEADER_BYTES) {
        // Too long: give the fields of what we have, and parse this direction no further.
        this.dropBuffer();
        this.headerFields(all);
        this.dropContext();
        this.state = 'off';
        return data.length;
      }
      this.keep(part);
      return at + part.length;
    }
    const used = end + endLen - prev;
    this.dropBuffer();
    this.headerFields(all.subarray(0, end));
    return at + used;
  }

  private headerFields(block: Buffer): void {
    // A new message: its own unit.
    this.cur = null;
    this.dropContext();
    let eol = block.indexOf(LF, 0);
    if (eol < 0) eol = block.length;
    const first = block.toString('latin1', 0, eol).replace(/\r$/, '');
    const headers = block.subarray(Math.min(block.length, eol + 1));
    this.emit('http.header.raw', headers);
    this.emit('http.header', headers);
    const at = this.found;
    findHeaders(headers, at);
    const bytes = (h: number): Buffer | null => (at[2 * h] < 0 ? null : headers.subarray(at[2 * h], at[2 * h + 1]));
    const text = (h: number): string | null => (at[2 * h] < 0 ? null : headers.toString('latin1', at[2 * h], at[2 * h + 1]));
    let bodyless = false;
    if (this.request) {
      const sp1 = first.indexOf(' ');
      const sp2 = first.lastIndexOf(' ');
      const method = first.slice(0, sp1);
      const uri = sp2 > sp1 ? first.slice(sp1 + 1, sp2) : first.slice(sp1 + 1);
      const uriRaw = Buffer.from(uri, 'latin1');
      this.emit('http.method', Buffer.from(method, 'latin1'));
      this.emit('http.uri.raw', uriRaw);
      this.emit('http.uri', normaliseUri(uriRaw));
      const cookie = bytes(COOKIE);
      if (cookie !== null) this.emit('http.cookie', cookie);
      const ua = bytes(USER_AGENT);
      if (ua !== null) this.emit('http.user_agent', ua);
      const host = bytes(HOST);
      if (host !== null) this.emit('http.host', host);
      if (this.heads.length < 64) this.heads.push(method === 'HEAD');
    } else {
      const code = first.split(' ')[1] ?? '';
      this.emit('http.stat_code', Buffer.from(code, 'latin1'));
      const status = Number(code);
      const head = this.heads.shift() === true;
      bodyless = head || (status >= 100 && status < 200) || status === 204 || status === 304;
      const cookie = bytes(SET_COOKIE);
      if (cookie !== null) this.emit('http.cookie', cookie);
    }
    const enc = (text(CONTENT_ENCODING) ?? '').toLowerCase();
    this.encoding = enc === 'gzip' || enc === 'x-gzip' ? 'gzip' : enc === 'deflate' ? 'deflate' : null;
    const te = (text(TRANSFER_ENCODING) ?? '').toLowerCase();
    const cl = text(CONTENT_LENGTH);
    if (bodyless) this.state = 'start';
    else if (te.includes('chunked')) {
      this.state = 'chunk-size';
      this.line = '';
    } else if (cl !== null && /^\d{1,15}$/.test(cl)) {
      this.remaining = Number(cl);
      this.state = this.remaining > 0 ? 'length' : 'start';
    } else this.state = this.request ? 'start' : 'until-close';
    // The fields just emitted (emit set `cur`), kept while the body is to come.
    const unit = this.cur as HttpUnit | null;
    if (this.state !== 'start' && unit !== null) this.keepContext(unit.fields);
  }

  /**
   * Keep a message's header fields for the unit of its body, which may come
   * with later bytes: copies owning their memory (the block may be a view of
   * a packet's buffer), charged to the memory cap.
   */
  private keepContext(fields: HttpBuffers): void {
    const context: HttpBuffers = {};
    let bytes = 0;
    let header: Buffer | null = null;
    for (const [name, value] of Object.entries(fields) as [BufferName, Uint8Array][]) {
      // http.header and http.header.raw are the same bytes: one copy.
      const copy = name === 'http.header' || name === 'http.header.raw' ? (header ??= ownCopy(value)) : ownCopy(value);
      if (copy !== header || name === 'http.header') bytes += copy.length;
      context[name] = copy;
    }
    this.context = context;
    this.contextBytes = bytes + 64;
    this.charge(this.contextBytes);
  }

  /** Keep body bytes up to the cap (then the body is given at once); the rest only advances the parser. */
  private keepBody(bytes: Buffer): void {
    if (this.bodyGiven) return;
    const room = this.settings.bodyBytes - this.bufLen;
    if (room > 0 && bytes.length > 0) this.keep(bytes.length > room ? bytes.subarray(0, room) : bytes);
    if (this.bufLen >= this.settings.bodyBytes && this.bufLen > 0) {
      this.finishBody();
      this.dropBuffer();
      this.bodyGiven = true;
    }
  }

  private endMessage(withBody: boolean): void {
    if (withBody) this.finishBody();
    this.dropBuffer();
    this.dropContext();
    this.cur = null;
    this.state = 'start';
  }

  private finishBody(): void {
    if (this.bufLen === 0 || this.bodyGiven) return;
    let body = this.joined();
    if (this.encoding !== null) body = inflateBounded(body, this.encoding, this.settings.inflateBytes) ?? body;
    this.emit(this.request ? 'http.request_body' : 'http.response_body', body);
  }
}
