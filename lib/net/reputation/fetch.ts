/**
 * Downloading a list: node:http/https (no dependency), a conditional request
 * (If-None-Match / If-Modified-Since, so an unchanged list costs a 304 and no
 * parsing), a timeout on the whole exchange, a size cap checked while the
 * body streams in (a wrong or hostile server cannot fill memory), a body
 * shorter than its Content-Length refused as truncated, and up to 3
 * redirects. File paths are read with the file's mtime as its validator.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { readFile, stat } from 'node:fs/promises';

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type FetchResult = { changed: false } | ({ changed: true; text: string } & Validators);

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
}

const MAX_REDIRECTS = 3;

/** `where` is an http(s) URL or an absolute file path. */
export function fetchList(where: string, known: Validators, limits: FetchLimits): Promise<FetchResult> {
  if (/^https?:\/\//i.test(where)) return fetchUrl(where, known, limits, 0);
  return readListFile(where, known, limits);
}

async function readListFile(path: string, known: Validators, limits: FetchLimits): Promise<FetchResult> {
  const st = await stat(path);
  const lastModified = st.mtime.toUTCString() + ` ${st.size}`;
  if (known.lastModified === lastModified) return { changed: false };
  if (st.size > limits.maxBytes) throw new Error(`${path} is ${st.size} bytes, over the ${limits.maxBytes}-byte cap`);
  return { changed: true, text: await readFile(path, 'utf8'), lastModified };
}

function fetchUrl(url: string, known: Validators, limits: FetchLimits, hops: number): Promise<FetchResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'node-red-contrib-ips', accept: 'text/plain, application/json, text/csv, */*' };
    if (known.etag) headers['if-none-match'] = known.etag;
    if (known.lastModified) headers['if-modified-since'] = known.lastModified;
    const get = url.toLowerCase().startsWith('https:') ? https.get : http.get;
    let settled = false;
    const finish = (err: Error | null, result?: FetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else {
        resolve(result as FetchResult);
      }
    };
    const req = get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status === 304) {
        res.resume();
        return finish(null, { changed: false });
      }
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) return finish(new Error(`more than ${MAX_REDIRECTS} redirects`));
        const next = new URL(res.headers.location, url).toString();
        clearTimeout(timer);
        settled = true;
        fetchUrl(next, known, limits, hops + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        return finish(new Error(`HTTP ${status} ${res.statusMessage ?? ''}`.trim()));
      }
      const declared = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
      if (declared !== null && declared > limits.maxBytes) {
        res.resume();
        return finish(new Error(`the list is ${declared} bytes, over the ${limits.maxBytes}-byte cap`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) finish(new Error(`the list passed the ${limits.maxBytes}-byte cap; download stopped`));
        else chunks.push(chunk);
      });
      res.on('aborted', () => finish(new Error(`truncated: the connection closed after ${size}${declared !== null ? ` of ${declared}` : ''} bytes`)));
      res.on('error', (err) => finish(new Error(`truncated: ${err.message} after ${size} bytes`)));
      res.on('end', () => {
        if (declared !== null && size !== declared) return finish(new Error(`truncated: ${size} of ${declared} bytes`));
        const etag = res.headers.etag;
        const lastModified = res.headers['last-modified'];
        finish(null, { changed: true, text: Buffer.concat(chunks).toString('utf8'), ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) });
      });
    });
    req.on('error', (err) => finish(err));
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${limits.timeoutMs / 1000} s`)), limits.timeoutMs);
  });
}
